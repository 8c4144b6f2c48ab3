"""Who may do what: HTTP basic auth in front of the registry, as Spring Security puts it in front of
a Spring Cloud Eureka server. Pure: no I/O, no clock of its own (callers pass monotonic seconds).

Four kinds of request, each with its own policy (`POLICY`, one row per route of `server/app.py`):

* **read** — every GET (registry, instances, VIPs, status, dashboard, metrics): open by default,
  or for any authenticated user with `read-access: authenticated` (the actuator health probes
  stay open either way);
* **client write** — register, renew, cancel: roles `CLIENT`, `ADMIN` or `PEER` (Spring Cloud
  nodes register themselves with the peer credential);
* **admin write** — status overrides, their removal, metadata edits: role `ADMIN`;
* **replication** — the batch endpoint, and any write that carries
  `x-netflix-discovery-replication: true`: role `PEER`. A caller without it is refused and the
  request never reaches the registry; `Request.is_replication` is false for it whatever it sends.

Users come from `spring.security.user.{name,password,roles}` (Spring Boot's single user: without
`roles` it may do everything, which is what a Spring Cloud Eureka behind Spring Security allows
an authenticated user) and from `eureka.server.auth.users.<name>.{password,password-file,
password-env,roles}`. Passwords are stored the way Spring's `DelegatingPasswordEncoder` writes
them — `{bcrypt}`, `{pbkdf2}`, `{scrypt}`, `{sha256}`, `{noop}` — and a password without a
prefix is plain text, as Spring Boot takes it. Verifying costs 0.1–0.6 s of CPU by design, so a
verified `Authorization` header is remembered (under a keyed digest, never the header itself);
credentials not yet seen are verified at most `max-verifications-per-second` times a second, so a
password-guessing flood cannot occupy the event loop. No password or header is ever logged.

Fail closed: with auth enabled a node without users does not start (`load_config` refuses), a
route missing from `POLICY` counts as an admin write, and a password that cannot be checked fails.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import NoReturn

import bcrypt

from eureka.backoff import TokenBucket
from eureka.clock import Clock
from eureka.errors import BadInput, Denied

__all__ = [
    "DEFAULT_VERIFICATIONS_PER_SECOND",
    "POLICY",
    "Access",
    "AuthConfig",
    "Authenticator",
    "Principal",
    "ReadAccess",
    "Refusal",
    "User",
    "encode_password",
    "parse_password",
]


class Access(enum.Enum):
    HEALTH = "health"  # liveness/readiness probes: open whatever `read-access` says
    READ = "read"
    CLIENT_WRITE = "client-write"
    ADMIN_WRITE = "admin-write"
    REPLICATION = "replication"


class ReadAccess(enum.Enum):
    OPEN = "open"
    AUTHENTICATED = "authenticated"


ROLE_CLIENT = "CLIENT"
ROLE_ADMIN = "ADMIN"
ROLE_PEER = "PEER"
ALL_ROLES = frozenset({ROLE_CLIENT, ROLE_ADMIN, ROLE_PEER})

# The roles that grant each kind of write (any authenticated user may read).
_GRANTS: Mapping[Access, frozenset[str]] = {
    Access.HEALTH: ALL_ROLES,
    Access.READ: ALL_ROLES,
    Access.CLIENT_WRITE: ALL_ROLES,
    Access.ADMIN_WRITE: frozenset({ROLE_ADMIN}),
    Access.REPLICATION: frozenset({ROLE_PEER}),
}

# One row per `_HANDLERS` key of server/app.py (a test asserts the two key sets are equal).
POLICY: Mapping[tuple[str, int, str], Access] = {
    ("", 0, "GET"): Access.READ,
    ("apps", 0, "GET"): Access.READ,
    ("apps", 1, "GET"): Access.READ,
    ("apps", 1, "POST"): Access.CLIENT_WRITE,
    ("apps", 2, "GET"): Access.READ,
    ("apps", 2, "PUT"): Access.CLIENT_WRITE,
    ("apps", 2, "DELETE"): Access.CLIENT_WRITE,
    ("apps", 3, "PUT"): Access.ADMIN_WRITE,  # …/status and …/metadata
    ("apps", 3, "DELETE"): Access.ADMIN_WRITE,  # …/status: delete the override
    ("instances", 1, "GET"): Access.READ,
    ("vips", 1, "GET"): Access.READ,
    ("svips", 1, "GET"): Access.READ,
    ("peerreplication", 1, "POST"): Access.REPLICATION,
    ("peerreplication", 1, "GET"): Access.REPLICATION,  # …/cancelled, for anti-entropy
    ("asg", 2, "PUT"): Access.ADMIN_WRITE,
    ("status", 0, "GET"): Access.READ,
    ("openapi.json", 0, "GET"): Access.READ,
    ("metrics", 0, "GET"): Access.READ,
    ("lastn", 0, "GET"): Access.READ,
    ("static", 1, "GET"): Access.READ,  # the dashboard's assets
    ("summary", 1, "GET"): Access.READ,
    ("summary", 2, "GET"): Access.READ,
    # Spring Boot's actuator paths: health probes (load balancers, Kubernetes) carry no
    # credentials, so they stay open, as Spring Security setups usually leave them.
    ("actuator", 1, "GET"): Access.HEALTH,
    ("actuator", 2, "GET"): Access.HEALTH,
    ("serverinfo", 1, "GET"): Access.READ,
}


class Refusal(enum.Enum):
    """Why a request was refused: the key of the counts in `/eureka/status`."""

    MISSING_CREDENTIALS = "missing_credentials"
    MALFORMED_CREDENTIALS = "malformed_credentials"
    UNKNOWN_USER = "unknown_user"
    WRONG_PASSWORD = "wrong_password"
    TOO_MANY_VERIFICATIONS = "too_many_verifications"
    NOT_A_CLIENT = "not_a_client"
    NOT_AN_ADMIN = "not_an_admin"
    NOT_A_PEER = "not_a_peer"


_FORBIDDEN = {
    Access.HEALTH: Refusal.NOT_A_CLIENT,
    Access.READ: Refusal.NOT_A_CLIENT,
    Access.CLIENT_WRITE: Refusal.NOT_A_CLIENT,
    Access.ADMIN_WRITE: Refusal.NOT_AN_ADMIN,
    Access.REPLICATION: Refusal.NOT_A_PEER,
}
# What the caller is told: the same words for an unknown user and a wrong password.
_TOLD = {
    Refusal.MISSING_CREDENTIALS: "authentication required",
    Refusal.MALFORMED_CREDENTIALS: "malformed Authorization header",
    Refusal.UNKNOWN_USER: "bad credentials",
    Refusal.WRONG_PASSWORD: "bad credentials",
    Refusal.TOO_MANY_VERIFICATIONS: "too many new credentials; try again shortly",
    Refusal.NOT_A_CLIENT: "forbidden: this user may not write to the registry",
    Refusal.NOT_AN_ADMIN: "forbidden: status overrides and metadata need role ADMIN",
    Refusal.NOT_A_PEER: "forbidden: replication needs the peer credential (role PEER)",
}


# ---------------------------------------------------------------------------------------------
# Passwords, in Spring's DelegatingPasswordEncoder format


class PasswordHash:
    """A stored password; `verify` compares in constant time (or via the hash's own check)."""

    __slots__ = ("_check", "scheme")

    def __init__(self, scheme: str, check: _Check) -> None:
        self.scheme = scheme
        self._check = check

    def verify(self, candidate: str) -> bool:
        try:
            return self._check(candidate.encode("utf-8"))
        except (ValueError, TypeError):
            # A password bcrypt cannot take (over 72 bytes) or a broken hash: fail closed.
            return False

    def __repr__(self) -> str:  # never the hash itself
        return f"PasswordHash({self.scheme})"


class _Check:
    def __call__(self, candidate: bytes) -> bool:
        raise NotImplementedError


class _Noop(_Check):
    def __init__(self, plain: str) -> None:
        self._plain = plain.encode("utf-8")

    def __call__(self, candidate: bytes) -> bool:
        return hmac.compare_digest(candidate, self._plain)


class _Bcrypt(_Check):
    def __init__(self, encoded: str) -> None:
        if not encoded.startswith(("$2a$", "$2b$", "$2y$")) or len(encoded) != 60:
            raise ValueError("not a bcrypt hash ($2a$/$2b$/$2y$, 60 characters)")
        self._hashed = encoded.encode("ascii")

    def __call__(self, candidate: bytes) -> bool:
        return bool(bcrypt.checkpw(candidate, self._hashed))


# Spring's `Pbkdf2PasswordEncoder` writes hex(salt + hash) and keeps its parameters in code, so
# the two generations of its defaults are told apart by length: Spring Security 5.8+
# (`defaultsForSpringV5_8`: 16-byte salt, HMAC-SHA256, 310,000 iterations) and the earlier one
# (8-byte salt, HMAC-SHA1, 185,000 iterations); both derive 256 bits with an empty secret.
_PBKDF2_SALT = 16
_PBKDF2_ITERATIONS = 310_000
_PBKDF2_BYTES = 32
_PBKDF2_LEGACY = (8, "sha1", 185_000)


class _Pbkdf2(_Check):
    def __init__(self, encoded: str) -> None:
        raw = bytes.fromhex(encoded)
        if len(raw) == _PBKDF2_SALT + _PBKDF2_BYTES:
            salt_bytes, self._digest, self._iterations = _PBKDF2_SALT, "sha256", _PBKDF2_ITERATIONS
        elif len(raw) == _PBKDF2_LEGACY[0] + _PBKDF2_BYTES:
            salt_bytes, self._digest, self._iterations = _PBKDF2_LEGACY
        else:
            raise ValueError("not a Spring {pbkdf2} hash (hex of 16 or 8 salt + 32 hash bytes)")
        self._salt, self._hash = raw[:salt_bytes], raw[salt_bytes:]

    def __call__(self, candidate: bytes) -> bool:
        derived = hashlib.pbkdf2_hmac(
            self._digest, candidate, self._salt, self._iterations, _PBKDF2_BYTES
        )
        return hmac.compare_digest(derived, self._hash)


# Spring's deprecated `StandardPasswordEncoder`: hex of an 8-byte salt followed by SHA-256 of
# salt + password, iterated 1,024 times (empty secret).
_SHA256_SALT = 8
_SHA256_ITERATIONS = 1024


def _sha256_iterated(salt: bytes, candidate: bytes) -> bytes:
    digest = hashlib.sha256(salt + candidate).digest()
    for _ in range(_SHA256_ITERATIONS - 1):
        digest = hashlib.sha256(digest).digest()
    return digest


class _Sha256(_Check):
    def __init__(self, encoded: str) -> None:
        raw = bytes.fromhex(encoded)
        if len(raw) != _SHA256_SALT + 32:
            raise ValueError("not a Spring {sha256} hash (hex of 8 salt + 32 hash bytes)")
        self._salt, self._hash = raw[:_SHA256_SALT], raw[_SHA256_SALT:]

    def __call__(self, candidate: bytes) -> bool:
        return hmac.compare_digest(_sha256_iterated(self._salt, candidate), self._hash)


# Spring's `SCryptPasswordEncoder`: `$<hex params>$<base64 salt>$<base64 key>`, where the params
# pack log2(N) << 16 | r << 8 | p.
_SCRYPT_MAXMEM = 256 * 1024 * 1024


class _Scrypt(_Check):
    def __init__(self, encoded: str) -> None:
        parts = encoded.split("$")
        if len(parts) != 4 or parts[0]:
            raise ValueError("not a Spring {scrypt} hash ($params$salt$key)")
        params = int(parts[1], 16)
        self._n = 1 << (params >> 16)
        self._r = (params >> 8) & 0xFF
        self._p = params & 0xFF
        if self._n < 2 or not self._r or not self._p or 128 * self._n * self._r > _SCRYPT_MAXMEM:
            raise ValueError("scrypt parameters out of range")
        self._salt = base64.b64decode(parts[2], validate=True)
        self._key = base64.b64decode(parts[3], validate=True)

    def __call__(self, candidate: bytes) -> bool:
        derived = hashlib.scrypt(
            candidate,
            salt=self._salt,
            n=self._n,
            r=self._r,
            p=self._p,
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(self._key),
        )
        return hmac.compare_digest(derived, self._key)


_SCHEMES: Mapping[str, Callable[[str], _Check]] = {
    "noop": _Noop,
    "bcrypt": _Bcrypt,
    "pbkdf2": _Pbkdf2,
    "sha256": _Sha256,
    "scrypt": _Scrypt,
}


def parse_password(stored: str) -> PasswordHash:
    """`{id}encoded` as Spring writes it; no `{id}` means plain text (Spring Boot's rule)."""
    if not stored.startswith("{"):
        return PasswordHash("plain", _Noop(stored))
    scheme, sep, encoded = stored[1:].partition("}")
    if not sep or scheme not in _SCHEMES:
        known = ", ".join("{" + s + "}" for s in _SCHEMES)
        raise BadInput(f"password encoding {{{scheme[:20]}}} is not one of {known}")
    try:
        return PasswordHash(scheme, _SCHEMES[scheme](encoded))
    except (ValueError, binascii.Error) as exc:
        raise BadInput(f"password encoded as {{{scheme}}} cannot be read: {exc}") from None


def encode_password(raw: str, scheme: str = "bcrypt") -> str:
    """Encode `raw` as Spring does, for the configuration file (bcrypt cost 10, Spring's)."""
    data = raw.encode("utf-8")
    if scheme == "bcrypt":
        return "{bcrypt}" + bcrypt.hashpw(data, bcrypt.gensalt(10, prefix=b"2a")).decode()
    if scheme == "pbkdf2":
        salt = os.urandom(_PBKDF2_SALT)
        derived = hashlib.pbkdf2_hmac("sha256", data, salt, _PBKDF2_ITERATIONS, _PBKDF2_BYTES)
        return "{pbkdf2}" + (salt + derived).hex()
    if scheme == "sha256":
        salt = os.urandom(_SHA256_SALT)
        return "{sha256}" + (salt + _sha256_iterated(salt, data)).hex()
    if scheme == "scrypt":
        salt = os.urandom(16)
        key = hashlib.scrypt(data, salt=salt, n=1 << 16, r=8, p=1, maxmem=_SCRYPT_MAXMEM, dklen=32)
        params = format(16 << 16 | 8 << 8 | 1, "x")
        salt_text, key_text = base64.b64encode(salt).decode(), base64.b64encode(key).decode()
        return f"{{scrypt}}${params}${salt_text}${key_text}"
    if scheme == "noop":
        return "{noop}" + raw
    raise ValueError(f"unknown password scheme {scheme!r}")


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclasses.dataclass(frozen=True, slots=True)
class User:
    name: str
    password: PasswordHash = dataclasses.field(repr=False)
    roles: frozenset[str] = ALL_ROLES


DEFAULT_VERIFICATIONS_PER_SECOND = 10.0


@dataclasses.dataclass(frozen=True, slots=True)
class AuthConfig:
    enabled: bool = False
    read_access: ReadAccess = ReadAccess.OPEN
    realm: str = "eureka"
    users: tuple[User, ...] = ()
    # New credentials verified per second (burst the same): bounds the CPU a guessing flood takes.
    max_verifications_per_second: float = DEFAULT_VERIFICATIONS_PER_SECOND
    # Users whose plain-text password sits in the configuration file or a flag (logged at start).
    plain_text_users: tuple[str, ...] = ()


def normalise_roles(roles: Iterable[str]) -> frozenset[str]:
    """`ROLE_ADMIN`, `admin` and `ADMIN` are the same role; unknown roles are refused."""
    names = set()
    for role in roles:
        name = role.strip().upper().removeprefix("ROLE_")
        if not name:
            continue
        if name not in ALL_ROLES:
            raise BadInput(f"unknown role {role[:30]!r}: roles are CLIENT, ADMIN and PEER")
        names.add(name)
    return frozenset(names)


# ---------------------------------------------------------------------------------------------
# The decision


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    name: str
    roles: frozenset[str]

    @property
    def is_peer(self) -> bool:
        return ROLE_PEER in self.roles


_MAX_REMEMBERED = 4096
_MAX_HEADER = 1024


class Authenticator:
    """Decides each request against `POLICY`; keeps counts of refusals by `Refusal`."""

    def __init__(self, config: AuthConfig, clock: Clock) -> None:
        self.config = config
        self._users = {user.name: user for user in config.users}
        # Keyed digests of headers already verified → the principal (None: wrong password).
        self._key = secrets.token_bytes(32)
        self._remembered: dict[bytes, Principal | None] = {}
        rate = config.max_verifications_per_second
        self._verifications = TokenBucket(clock, max(1, int(rate)), rate * 60)
        self.refused: dict[Refusal, int] = dict.fromkeys(Refusal, 0)
        self._challenge = [("www-authenticate", f'Basic realm="{config.realm}", charset="UTF-8"')]

    def authorize(
        self, key: tuple[str, int, str], authorization: str, claims_replication: bool
    ) -> Principal | None:
        """The caller's principal (None: anonymous, allowed); `Denied` when refused."""
        access = POLICY.get(key, Access.ADMIN_WRITE)
        if claims_replication and access not in (Access.READ, Access.HEALTH):
            access = Access.REPLICATION
        if access is Access.HEALTH or (
            access is Access.READ and self.config.read_access is ReadAccess.OPEN
        ):
            return None
        principal = self._authenticate(authorization)
        if not principal.roles & _GRANTS[access]:
            self._refuse(_FORBIDDEN[access], 403, principal.name)
        return principal

    def refused_counts(self) -> dict[str, int]:
        """Refusals so far by `Refusal` value (reasons never seen are left out)."""
        return {reason.value: count for reason, count in self.refused.items() if count}

    # -- internals ---------------------------------------------------------------------------

    def _authenticate(self, authorization: str) -> Principal:
        if not authorization:
            self._refuse(Refusal.MISSING_CREDENTIALS, 401)
        digest = hashlib.blake2b(
            authorization.encode("utf-8", "surrogateescape"), key=self._key, digest_size=16
        ).digest()
        if digest in self._remembered:
            known = self._remembered[digest]
            if known is None:
                self._refuse(Refusal.WRONG_PASSWORD, 401)
            return known
        name, password = self._credentials(authorization)
        user = self._users.get(name)
        if user is None:
            self._refuse(Refusal.UNKNOWN_USER, 401, name)
        if not self._verifications.try_acquire():
            self._refuse(Refusal.TOO_MANY_VERIFICATIONS, 401, name)
        principal = Principal(user.name, user.roles) if user.password.verify(password) else None
        if len(self._remembered) >= _MAX_REMEMBERED:
            self._remembered.clear()
        self._remembered[digest] = principal
        if principal is None:
            self._refuse(Refusal.WRONG_PASSWORD, 401, name)
        return principal

    def _credentials(self, authorization: str) -> tuple[str, str]:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "basic" or not token or len(token) > _MAX_HEADER:
            self._refuse(Refusal.MALFORMED_CREDENTIALS, 401)
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            self._refuse(Refusal.MALFORMED_CREDENTIALS, 401)
        name, sep, password = decoded.partition(":")
        if not sep:
            self._refuse(Refusal.MALFORMED_CREDENTIALS, 401)
        return name, password

    def _refuse(self, reason: Refusal, status: int, user: str | None = None) -> NoReturn:
        self.refused[reason] += 1
        headers = self._challenge if status == 401 else []
        raise Denied(status, _TOLD[reason], reason=reason.value, user=user, headers=headers)

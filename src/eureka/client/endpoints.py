"""Server selection for the client transport (§10.8) and the legacy status evaluator (§2.5), pure.

Java's stack is `Sessioned → Retryable → Redirecting → HTTP`. This module holds the decisions of
the first two: which service URL to try next, which ones are quarantined, when a session ends, and
whether a reply is final or must be retried on the next server.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from eureka.clock import Clock
from eureka.errors import BadInput

__all__ = [
    "EndpointSelector",
    "RequestType",
    "ServiceEndpoint",
    "classify",
    "legacy_accepts",
    "parse_service_url",
]


@dataclass(frozen=True, slots=True)
class ServiceEndpoint:
    """A service URL without credentials (always ending in '/') plus its basic-auth pair."""

    url: str
    auth: tuple[str, str] | None = None

    def __str__(self) -> str:
        return self.url


def parse_service_url(url: str) -> ServiceEndpoint:
    """Split `http://user:pass@host/eureka` into a clean base URL and credentials.

    Spring Cloud users put credentials in the service URL; keeping them out of the URL we log and
    pass them as an `Authorization: Basic` header instead.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"not an http(s) service URL: {url!r}")
    auth = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        auth = (unquote(user), unquote(password))
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return ServiceEndpoint(urlunsplit((parts.scheme, netloc, path, parts.query, "")), auth)


class RequestType:
    REGISTER = "register"
    HEARTBEAT = "heartbeat"
    CANCEL = "cancel"
    GET_DELTA = "get_delta"
    GET_APP = "get_app"
    OTHER = "other"


def classify(method: str, path: str) -> str:
    """The Java request type of a relative path such as `apps/APP/id`."""
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    method = method.upper()
    if not segments or segments[0] != "apps":
        return RequestType.OTHER
    if method == "GET" and segments == ["apps", "delta"]:
        return RequestType.GET_DELTA
    if method == "GET" and len(segments) == 2 and segments[1] != "digests":
        return RequestType.GET_APP
    if method == "POST" and len(segments) == 2:
        return RequestType.REGISTER
    if len(segments) == 3 and method == "PUT":
        return RequestType.HEARTBEAT
    if len(segments) == 3 and method == "DELETE":
        return RequestType.CANCEL
    return RequestType.OTHER


def legacy_accepts(method: str, path: str, status: int) -> bool:
    """Java's `LegacyEurekaHttpClientStatusEvaluator`: is this reply final (else: next server)?

    Plus the answers of our watch requests, which a Java server never gives: a delta's 304 (the
    long-poll timed out) and 410 (the cursor is gone: the client repairs, whichever server it
    asks), and an application's 404 (a repair learns that the application is gone)."""
    if 200 <= status < 300 or status == 302:
        return True
    kind = classify(method, path)
    if kind in (RequestType.REGISTER, RequestType.HEARTBEAT) and status == 404:
        return True
    if kind == RequestType.CANCEL:
        return True  # best effort
    if kind == RequestType.GET_APP:
        return status == 404
    return kind == RequestType.GET_DELTA and status in (403, 404, 304, 410)


class EndpointSelector:
    """Candidates, quarantine and session pinning of Java's Retryable/Sessioned clients.

    * A server that answered acceptably is kept ("pinned") for the following calls.
    * A server that failed (connection error or a reply the evaluator rejects) is quarantined and
      skipped; the quarantine is cleared on the next success and whenever it reaches
      `quarantine_refresh_percentage` of the candidates (so with few servers it never blocks).
      When it is cleared that way, the servers that had failed go to the back of that call's
      list. Java keeps the configured order and relies on its resolver reshuffling the list every
      5 minutes; we never reshuffle, so a client whose first three servers are down would
      otherwise spend every call's three attempts on them and never reach a fourth that works.
    * After a random session length in [0.5, 1.5] × `session_seconds` the pin is dropped, which
      spreads clients over the servers again.
    """

    def __init__(
        self,
        endpoints: Sequence[ServiceEndpoint],
        *,
        clock: Clock,
        rng: random.Random | None = None,
        quarantine_refresh_percentage: float = 0.66,
        session_seconds: float = 1200.0,
    ) -> None:
        if not endpoints:
            raise BadInput("no service URL configured")
        self._endpoints = list(endpoints)
        self._clock = clock
        self._rng = rng or random.Random()
        self._refresh = quarantine_refresh_percentage
        self._session_seconds = session_seconds
        self._quarantine: set[ServiceEndpoint] = set()
        self._pinned: ServiceEndpoint | None = None
        self._session_ends = self._next_session_end()

    @property
    def endpoints(self) -> list[ServiceEndpoint]:
        return list(self._endpoints)

    @property
    def pinned(self) -> ServiceEndpoint | None:
        return self._pinned

    @property
    def quarantined(self) -> frozenset[ServiceEndpoint]:
        return frozenset(self._quarantine)

    def _next_session_end(self) -> float:
        return self._clock.monotonic() + self._session_seconds * self._rng.uniform(0.5, 1.5)

    def candidates(self) -> list[ServiceEndpoint]:
        candidates = self._endpoints
        threshold = min(int(len(candidates) * self._refresh), len(candidates))
        if not self._quarantine:
            return list(candidates)
        if len(self._quarantine) >= threshold:
            self._quarantine.clear()
            return list(candidates)
        return [e for e in candidates if e not in self._quarantine]

    def attempts(self, max_attempts: int = 3) -> Iterator[ServiceEndpoint]:
        """The servers to try for one call, lazily: the pinned one first, then fresh candidates."""
        if self._clock.monotonic() >= self._session_ends:
            self._pinned = None
            self._session_ends = self._next_session_end()
        candidates: list[ServiceEndpoint] | None = None
        index = 0
        for _ in range(max_attempts):
            endpoint = self._pinned
            if endpoint is None:
                if candidates is None:
                    failed = set(self._quarantine)
                    candidates = self.candidates()
                    candidates.sort(key=lambda e: e in failed)  # stable: config order otherwise
                if index >= len(candidates):
                    return
                endpoint = candidates[index]
                index += 1
            yield endpoint

    def succeeded(self, endpoint: ServiceEndpoint) -> None:
        self._pinned = endpoint
        self._quarantine.clear()

    def failed(self, endpoint: ServiceEndpoint) -> None:
        if self._pinned == endpoint:
            self._pinned = None
        self._quarantine.add(endpoint)

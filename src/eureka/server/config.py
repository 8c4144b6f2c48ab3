"""Server configuration: defaults ← YAML file ← environment ← command-line flags.

Users arrive with Spring Cloud (`eureka.server.enable-self-preservation`) or Netflix
(`eureka.enableSelfPreservation`) keys, or write environment variables in Spring's relaxed form
(`EUREKA_SERVER_ENABLE_SELF_PRESERVATION`). Rather than a table of every spelling, a key is matched
by its *normalised* last segment — lower-cased with everything but letters and digits removed —
against the normalised field names, so `enable-self-preservation`, `enableSelfPreservation` and
`enable_self_preservation` all land on the same field. Spring's odd
`retention-time-in-m-s-in-delta-queue` normalises to the same string as our field, by design of
this rule. The few keys whose names differ in words, not just in spelling, are listed in ALIASES.

Authentication (`server/auth.py`) has keys of its own, read by `_auth_keys` rather than the
generic rule: Spring Boot's `spring.security.user.{name,password,roles}` (or
`SPRING_SECURITY_USER_*`), and `eureka.server.auth.{enabled,read-access,realm,
max-verifications-per-second}` plus `eureka.server.auth.users.<name>.{password,password-file,
password-env,roles}`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from eureka.errors import BadInput
from eureka.registry.config import RegistryConfig
from eureka.server.auth import (
    ALL_ROLES,
    DEFAULT_VERIFICATIONS_PER_SECOND,
    AuthConfig,
    ReadAccess,
    User,
    normalise_roles,
    parse_password,
)

__all__ = [
    "DEFAULT",
    "ConfigReport",
    "IgnoredSetting",
    "ServerConfig",
    "Source",
    "env_name",
    "load_config",
    "load_config_report",
    "normalise_key",
    "setting_key",
    "setting_paths",
    "setting_value",
    "url_problem",
]


@dataclasses.dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8761
    # The API lives under this prefix, with an optional version segment (protocol.md §1.2).
    prefix: str = "/eureka"
    # URL under which peers reach this node; used to recognise ourselves in the peer list (§8.7).
    my_url: str | None = None
    peers: tuple[str, ...] = ()
    # Registration bodies are a few KB; a 250-item replication batch of full instances is < 1 MB.
    max_body_bytes: int = 8 * 1024 * 1024
    # Level 1: the registry payload is compressed incrementally per application, and level 1
    # costs a third of level 6 for ~15 % larger bodies on this highly repetitive JSON.
    gzip_level: int = 1
    # gzip level of the cached `/apps/delta` (0–9), compressed as one stream once per change
    # and sent to every poller in between (800 instances in 700 applications: 52.3 KB at 1,
    # 34.2 KB at 4 in 0.75 ms, 32.3 KB at 6 in 1.8 ms).
    delta_gzip_level: int = 4
    # Granian's per-worker cap on concurrent requests; a registry sees one long-lived connection
    # per client, so the default 1,024 is far too low for a fleet.
    backpressure: int = 16384
    # The HTTP/1.1 layer: `native` (an asyncio protocol of ours with the httptools parser:
    # 21 µs of CPU per renewal where granian takes 31, bench/bench_http_layer.py) or
    # `granian` (its RSGI server).
    http_layer: str = "native"
    # Native layer: largest request header block (431 above it; granian's is 408 KiB).
    max_header_bytes: int = 64 * 1024
    # Native layer: time for a request to arrive whole once its first byte has (slowloris).
    header_timeout_ms: int = 30_000
    # How long an idle keep-alive connection stays open (both layers). Longer than clients
    # keep theirs (Eureka's client: 30 s idle, renewing every 30 s), so that the server never
    # closes a connection in the instant a client reuses it.
    keep_alive_timeout_ms: int = 120_000
    # debug, info, warning, error or critical.
    log_level: str = "info"
    # `text` (one line per event) or `json` (one JSON object per line, the same fields).
    log_format: str = "text"
    # Shown on the dashboard, as Spring Cloud's `eureka.environment` / `eureka.datacenter`.
    environment: str = "test"
    datacenter: str = "default"
    # `GET /metrics` and the per-request tallies behind it; false leaves both out.
    metrics_enabled: bool = True
    # A long-poll watcher is answered at most once per this interval, with every change of the
    # interval (docs/design/propagation.md); the first change after a quiet spell goes out at
    # once. 0: one answer per change.
    watch_min_interval_ms: int = 250
    registry: RegistryConfig = dataclasses.field(default_factory=RegistryConfig)
    # Peer replication (protocol.md §8.4, §11.2); our batching delay targets sub-second convergence.
    peer_node_connect_timeout_ms: int = 1000
    peer_node_read_timeout_ms: int = 5000
    max_elements_in_peer_replication_pool: int = 10_000
    max_threads_for_peer_replication: int = 20
    max_time_for_replication: int = 30_000
    max_batching_delay_ms: int = 20
    batch_size: int = 250
    peer_eureka_nodes_update_interval_ms: int = 600_000
    number_registry_sync_retries: int = 5
    registry_sync_retry_wait_ms: int = 1_000
    # Anti-entropy between peers (replication/anti_entropy.py): one round per peer every
    # interval, minus up to a quarter of it at random (0: off); a difference younger than the
    # settle time (at most half the interval) is left to replication in flight.
    anti_entropy_interval_ms: int = 30_000
    anti_entropy_settle_ms: int = 5_000
    anti_entropy_max_apps_per_round: int = 1_000
    # Remote regions (§9, §11.3): "name;url,name;url", or Spring's map
    # `remote-region-urls-with-name.<region>=<url>`.
    remote_region_urls_with_name: tuple[tuple[str, str], ...] = ()
    remote_region_registry_fetch_interval: int = 30
    disable_transparent_fallback_to_other_region: bool = False
    # Per-region application whitelists, from `remote-region-app-whitelist.<region>=A,B` (Spring)
    # or `eureka.remoteRegion.<region>.appWhiteList=A,B` (Netflix); region "global" applies to
    # regions without their own. Parsed by `_remote_region_maps`, never by the generic rule.
    remote_region_app_whitelist: tuple[tuple[str, tuple[str, ...]], ...] = ()
    remote_region_connect_timeout_ms: int = 2000
    remote_region_read_timeout_ms: int = 5000
    disable_delta_for_remote_regions: bool = False
    # True serves Java's older delta under transparent fallback (remote applications absent
    # locally, with its own hash), which mismatches the full payload whenever an application
    # lives in both regions (protocol.md §12.17). Off: the delta of the full payload's view.
    remote_region_legacy_fallback_delta: bool = False
    # How often freed memory is handed back to the OS (glibc malloc_trim, server/heap.py), when the
    # registry changed since the last time; 0 turns it off.
    heap_trim_interval_ms: int = 60_000
    # `eureka server` freezes what survives a full garbage collection, so that later ones skip
    # the registry instead of pausing the node for it (220 ms at 300,000 instances).
    gc_freeze: bool = True
    # How often the frozen objects are collected once, for garbage cycles among them (one pause
    # of the full length; 0: never).
    gc_sweep_interval_ms: int = 3_600_000
    # HTTPS (eureka/tls.py): Spring Boot's PEM keys `server.ssl.certificate` (the chain) and
    # `server.ssl.certificate-private-key` (unencrypted: a password would sit in the config).
    ssl_certificate: str | None = None
    ssl_certificate_private_key: str | None = None
    # The CA bundle (PEM) that peers, the start-up sync, anti-entropy and remote-region fetches
    # verify https servers with: Spring Cloud's `eureka.client.tls.trust-store`, the same key
    # our discovery client reads. Unset: the system's trusted CAs.
    tls_trust_store: str | None = None
    # HTTP basic auth and the access policy (server/auth.py); off unless users are configured.
    auth: AuthConfig = dataclasses.field(default_factory=AuthConfig)
    # Java's RateLimitingFilter (protocol.md §11.3): registry fetches only, off by default.
    rate_limiter_enabled: bool = False
    rate_limiter_throttle_standard_clients: bool = False
    rate_limiter_privileged_clients: tuple[str, ...] = ()
    rate_limiter_burst_size: int = 10
    rate_limiter_registry_fetch_average_rate: int = 500
    rate_limiter_full_fetch_average_rate: int = 100


ALIASES = {
    # Netflix name → our field (normalised on both sides).
    "shoulduseReadOnlyResponseCache".lower(): "usereadonlyresponsecache",
    "registrysyncretries": "numberregistrysyncretries",
    "peerurls": "peers",
    "peer": "peers",
    "remoteregionregistryfetchintervalinseconds": "remoteregionregistryfetchinterval",
    # `eureka.remoteRegion.registryFetchIntervalInSeconds`: the last segment is compared too.
    "registryfetchintervalinseconds": "remoteregionregistryfetchinterval",
    "experimentalregistrationvalidationdatacenterinfoid": "validatedatacenterinfoid",
    "address": "host",
    "serverport": "port",
}

# Java server keys (Netflix and Spring Cloud spellings, normalised) that eureka-py does not
# implement. A Spring Cloud file carries them, so they are accepted — reported by `eureka config`
# and logged once at start-up as having no effect — instead of being refused as unknown.
JAVA_ONLY = frozenset(
    {
        "initialcapacityofresponsecache",
        "jsoncodecname",
        "xmlcodecname",
        "peernodetotalconnections",
        "peernodetotalconnectionsperhost",
        "peernodeconnectionidletimeoutseconds",
        "maxelementsinstatusreplicationpool",
        "maxthreadsforstatusreplication",
        "minthreadsforstatusreplication",
        "maxidlethreadinminutesageforstatusreplication",
        "maxidlethreadageinminutesforstatusreplication",
        "minthreadsforpeerreplication",
        "maxidlethreadageinminutesforpeerreplication",
        "enablereplicatedrequestcompression",
        "primeawsreplicaconnections",
        "minavailableinstancesforpeerreplication",
        "batchreplication",
        "shouldbatchreplication",
        "numberofreplicationretries",
        "peereurekastatusrefreshtimeintervalms",
        "remoteregionurls",
        "remoteregionfetchthreadpoolsize",
        "fetchthreadpoolsize",
        "remoteregiontotalconnections",
        "remoteregiontotalconnectionsperhost",
        "remoteregionconnectionidletimeoutseconds",
        "gzipcontentfromremoteregion",
        "gzipcontent",
        "remoteregiontruststore",
        "remoteregiontruststorefilename",
        "truststorefilename",
        "remoteregiontruststorepassword",
        "truststorepassword",
        "logidentityheaders",
        "authshouldlogidentityheaders",
        "shouldlogidentityheaders",
        "useawsasgapi",
        "shoulduseawsasgapi",
        "asgquerytimeoutms",
        "asgupdateintervalms",
        "asgcacheexpirytimeoutms",
        "bindingstrategy",
        "eipbindrebindretries",
        "eipbindingretryintervalms",
        "eipbindingretryintervalmswhenunbound",
        "route53bindrebindretries",
        "route53bindingretryintervalms",
        "route53domainttl",
        "awsaccessid",
        "awssecretkey",
        "propertyresolver",
        "dashboardenabled",
        "dashboardpath",
    }
)

# Spring Boot's `server.*` keys that eureka-py reads (everything else under `server.` belongs to
# the servlet container and is ignored).
_SPRING_BOOT_SERVER = {"port": "port", "address": "host"}
# These are Spring Boot's, not Eureka's: `eureka.server.port` is a mistake for `server.port`.
_NOT_UNDER_EUREKA = {"port": "server.port", "host": "server.address", "address": "server.address"}
# Top-level fields that have their own command-line flag (for error messages and provenance).
_NAMED_FLAGS = frozenset({"host", "port", "my_url", "log_level", "log_format"})
# Kubernetes injects `<SERVICE>_PORT=tcp://…`, `<SERVICE>_SERVICE_HOST` … for every service in
# the namespace; a service named `eureka-server` must not be mistaken for our settings.
_SERVICE_LINK = re.compile(r"(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_\w+)?)?)")
# Keys written the Spring way whose spelling is not the kebab form of our field name.
_SPRING_SPELLING = {
    "retention_time_in_ms_in_delta_queue": "retention-time-in-m-s-in-delta-queue",
    "number_registry_sync_retries": "registry-sync-retries",
}
# Spring Cloud keeps these two at `eureka.environment` / `eureka.datacenter` (no `server.`), so
# their environment variables are `EUREKA_ENVIRONMENT` / `EUREKA_DATACENTER`.
_EUREKA_TOP_LEVEL = ("environment", "datacenter")
_INSTANCE_REGISTRY = ("expected_number_of_clients_sending_renews", "default_open_for_traffic_count")
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
_LOG_FORMATS = ("text", "json")
_HTTP_LAYERS = ("granian", "native")


@dataclasses.dataclass(frozen=True, slots=True)
class Source:
    """Where a setting's value came from: `kind` is default, file, environment or flag;
    `where` names the place (`eureka.yml, line 4`, `EUREKA_SERVER_X`, `--port`)."""

    kind: str
    where: str = ""

    def __str__(self) -> str:
        return self.where if self.where else self.kind


DEFAULT = Source("default")


@dataclasses.dataclass(frozen=True, slots=True)
class IgnoredSetting:
    """A key that was read but has no effect here, and why."""

    key: str
    where: str
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigReport:
    """The effective configuration, where each value came from, and what was ignored.

    `sources` is keyed by setting path: a `ServerConfig` field name, or `registry.<field>`;
    settings left at their default are absent."""

    config: ServerConfig
    sources: Mapping[str, Source]
    ignored: tuple[IgnoredSetting, ...]

    def source_of(self, path: str) -> Source:
        return self.sources.get(path, DEFAULT)


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    value: Any
    where: str  # the place an error message names, key included


def normalise_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {normalise_key(f.name): f for f in dataclasses.fields(cls)}


# `auth` is set by its own keys (`_auth_keys`), never by the generic rule.
_SERVER_FIELDS = {k: f for k, f in _fields(ServerConfig).items() if k != "auth"}
_REGISTRY_FIELDS = _fields(RegistryConfig)


def setting_key(path: str) -> str:
    """The Spring Cloud spelling of a setting path (`registry.enable_self_preservation` →
    `eureka.server.enable-self-preservation`), what docs and `eureka config` show."""
    name = path.removeprefix("registry.")
    if name == "port":
        return "server.port"
    if name == "host":
        return "server.address"
    if name == "peers":
        return "eureka.client.service-url.defaultZone"
    if name.startswith("ssl_"):
        return "server.ssl." + name.removeprefix("ssl_").replace("_", "-")
    if name == "tls_trust_store":
        return "eureka.client.tls.trust-store"
    if name in _EUREKA_TOP_LEVEL:
        return f"eureka.{name}"
    kebab = _SPRING_SPELLING.get(name, name.replace("_", "-"))
    if name in ("remote_region_urls_with_name", "remote_region_app_whitelist"):
        return f"eureka.server.{kebab}.<region>"
    if name == "validate_data_center_info_id":
        return "eureka.experimental.registration.validation.dataCenterInfoId"
    if name in _INSTANCE_REGISTRY:
        return f"eureka.instance.registry.{kebab}"
    return f"eureka.server.{kebab}"


def env_name(path: str) -> str:
    """The environment variable that sets a setting path (Spring's relaxed form)."""
    key = setting_key(path).replace(".<region>", "_<REGION>")
    if key == "eureka.client.service-url.defaultZone":
        return "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE"
    if key.startswith("eureka.experimental."):
        key = "eureka.server." + path.removeprefix("registry.")
    return re.sub(r"[.-]", "_", key).upper()


def setting_paths() -> list[str]:
    """Every setting path, in declaration order (server fields, then the registry's)."""
    paths = [f.name for f in dataclasses.fields(ServerConfig) if f.name not in ("registry", "auth")]
    return paths + [f"registry.{f.name}" for f in dataclasses.fields(RegistryConfig)]


def setting_value(config: ServerConfig, path: str) -> Any:
    if path.startswith("registry."):
        return getattr(config.registry, path.removeprefix("registry."))
    return getattr(config, path)


# ---- values -------------------------------------------------------------------------------------


def _kind(field: dataclasses.Field[Any]) -> str:
    return field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")


_KIND_WORDS = {"bool": "true or false", "int": "a whole number", "float": "a number"}


def _coerce(field: dataclasses.Field[Any], value: Any, where: str) -> Any:
    kind = _kind(field)
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes", "on"):
                return True
            if text in ("false", "0", "no", "off"):
                return False
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(str(value).strip())
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(str(value).strip())
        if kind.startswith("tuple[str"):
            return tuple(_split_list(value))
        if kind.startswith("tuple[tuple"):
            return tuple(_parse_regions(value))
        if kind in ("str", "str | None"):
            if isinstance(value, (Mapping, list)):
                raise ValueError(value)
            return None if value is None else str(value)
    except (TypeError, ValueError):
        words = _KIND_WORDS.get(kind, f"a valid {kind}")
        raise BadInput(f"{where}: {_shown(value)} is not {words}") from None
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _split_list(value: Any) -> list[str]:
    items = [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value).split(",")
    return [item.strip() for item in items if item.strip()]


def _parse_regions(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        return [(str(k), str(v)) for k, v in value.items()]
    pairs = []
    for item in _split_list(value):
        name, sep, url = item.partition(";")
        if not sep or not name or not url:
            raise ValueError(item)
        pairs.append((name.strip(), url.strip()))
    return pairs


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a Eureka service URL ("has no host"), or None if it can."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    if port == 0:
        return "has port 0"
    return None


def _between(low: float, high: float, what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"{_shown(value)} is not {what}"

    return check


def _at_least(low: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value >= low else f"{_shown(value)} is less than {low}"

    return check


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if str(value).lower() in choices:
            return None
        return f"{_shown(value)} is not one of {', '.join(choices)}"

    return check


def _urls(value: Any) -> str | None:
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        url = item[1] if isinstance(item, tuple) else item
        if url is not None and (problem := url_problem(url)) is not None:
            return f"{url!r} {problem}"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "port": _between(0, 65535, "a port number (0–65535)"),
    "host": lambda v: None if v and v.strip() else "an address to listen on is required",
    "log_level": _one_of(_LOG_LEVELS),
    "log_format": _one_of(_LOG_FORMATS),
    "http_layer": _one_of(_HTTP_LAYERS),
    "max_header_bytes": _at_least(1024),
    "my_url": _urls,
    "peers": _urls,
    "remote_region_urls_with_name": _urls,
    "gzip_level": _between(0, 9, "a gzip level (0–9)"),
    "delta_gzip_level": _between(0, 9, "a gzip level (0–9)"),
    "renewal_percent_threshold": _between(0.0, 1.0, "a fraction between 0 and 1"),
    "backpressure": _at_least(1),
    "max_body_bytes": _at_least(1),
    "batch_size": _at_least(1),
    "max_threads_for_peer_replication": _at_least(1),
    "max_elements_in_peer_replication_pool": _at_least(1),
    "recent_list_size": _at_least(0),
    "heap_trim_interval_ms": _at_least(0),  # 0: off
    "gc_sweep_interval_ms": _at_least(0),  # 0: never
    # A minimum spacing of watch answers, not a loop's interval: 0 switches it off.
    "watch_min_interval_ms": _at_least(0),
}


_TIMER_INTERVALS = frozenset(
    {
        "eviction_interval_timer_in_ms",
        "delta_retention_timer_interval_in_ms",
        "renewal_threshold_update_interval_ms",
        "response_cache_update_interval_ms",
        "peer_eureka_nodes_update_interval_ms",
        "remote_region_registry_fetch_interval",
    }
)


def _check(field: dataclasses.Field[Any], value: Any, where: str) -> Any:
    check = _CHECKS.get(field.name)
    if check is None and _kind(field) in ("int", "float"):
        # These intervals drive sleeping loops: zero would spin. Other numbers may be 0.
        check = _at_least(1) if field.name in _TIMER_INTERVALS else _at_least(0)
    problem = None if check is None else check(value)
    if problem is not None:
        raise BadInput(f"{where}: {problem}")
    if field.name in ("log_level", "log_format", "http_layer"):
        return str(value).lower()
    return value


# ---- keys ---------------------------------------------------------------------------------------


def _lookup(names: list[str]) -> tuple[str, dataclasses.Field[Any]] | None:
    """The (section, field) that one of `names` (normalised, tried in order) designates."""
    for written in names:
        name = ALIASES.get(written, written)
        if name in _REGISTRY_FIELDS:
            return "registry", _REGISTRY_FIELDS[name]
        if name in _SERVER_FIELDS:
            return "server", _SERVER_FIELDS[name]
    return None


def _suggest(name: str, key: str) -> str:
    """`; did you mean …?` with the nearest known setting, spelled like the user's key."""
    known = [n for n in (*_REGISTRY_FIELDS, *_SERVER_FIELDS) if n not in ("registry", "peers")]
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if not match:
        return ""
    section, field = _lookup(match)  # type: ignore[misc]
    path = f"registry.{field.name}" if section == "registry" else field.name
    if key.isupper():  # an environment variable
        return f"; did you mean {env_name(path)}?"
    spelled = setting_key(path)
    if "." not in key:
        spelled = spelled.rsplit(".", 1)[-1]
    return f"; did you mean {spelled}?"


def _client_names(section: str) -> set[str]:
    # Imported on demand: only files that carry client keys pay for loading the client config.
    from eureka.client.config import ClientConfig, InstanceConfig  # noqa: PLC0415

    cls = ClientConfig if section == "client" else InstanceConfig
    names = {normalise_key(f.name) for f in dataclasses.fields(cls)}
    return names | {"serviceurl", "metadata", "ipaddr", "hostname", "appname", "healthcheck"}


_Target = tuple[str, Any]  # ("server"|"registry", field), ("peers", None), ("ignore", reason)


def _resolve(key: str, where: str) -> _Target:
    parts = key.split(".")
    norm = [normalise_key(p) for p in parts]
    if len(parts) == 1:
        found = _lookup(norm)
        if found is None:
            raise BadInput(f"{where}: unknown setting{_suggest(norm[0], key)}")
        return found
    if norm[0] == "server":
        if len(parts) == 2 and norm[1] in _SPRING_BOOT_SERVER:
            return "server", _SERVER_FIELDS[_SPRING_BOOT_SERVER[norm[1]]]
        if len(parts) == 3 and norm[1] == "ssl":
            if "ssl" + norm[2] in _SERVER_FIELDS:
                return "server", _SERVER_FIELDS["ssl" + norm[2]]
            if norm[2] == "enabled":
                return "ignore", "HTTPS is on when server.ssl.certificate is set"
            raise BadInput(
                f"{where}: unknown setting (server.ssl.certificate and "
                "server.ssl.certificate-private-key, PEM files, are what eureka-py reads)"
            )
        return "ignore", "a Spring Boot server setting eureka-py does not use"
    if norm[0] != "eureka":
        return "ignore", "not a Eureka server setting"
    if norm[1] == "client":
        if len(norm) >= 3 and norm[2] in ("serviceurl", "serviceurls"):
            return "peers", None
        if "".join(norm[2:]) == "tlstruststore":
            return "server", _SERVER_FIELDS["tlstruststore"]
        return _client_key(norm, key, where, "client")
    if norm[1] == "instance" and len(norm) >= 3 and norm[2] != "registry":
        return _client_key(norm, key, where, "instance")
    rest = norm[3:] if norm[1] == "instance" else norm[2:] if norm[1] == "server" else norm[1:]
    if not rest:
        raise BadInput(f"{where}: unknown setting")
    if norm[1] == "server" and len(rest) == 1 and rest[0] in _NOT_UNDER_EUREKA:
        raise BadInput(f"{where}: unknown setting; did you mean {_NOT_UNDER_EUREKA[rest[0]]}?")
    joined = "".join(rest)
    found = _lookup([joined, rest[-1]])
    if found is not None:
        return found
    if joined in JAVA_ONLY or rest[-1] in JAVA_ONLY or rest[0] == "experimental":
        return "ignore", "a Java Eureka setting that eureka-py does not implement"
    raise BadInput(f"{where}: unknown setting{_suggest(joined, key)}")


def _client_key(norm: list[str], key: str, where: str, section: str) -> _Target:
    names = _client_names(section)
    if norm[2] in names:
        return "ignore", f"a {section} setting (the server does not register or fetch)"
    match = difflib.get_close_matches(norm[2], sorted(names), n=1, cutoff=0.75)
    hint = f"; did you mean the {section} setting {match[0]}?" if match else ""
    raise BadInput(f"{where}: unknown {section} setting{hint}")


# ---- sources ------------------------------------------------------------------------------------


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, Mapping):
        return {prefix: tree} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path))
        else:
            flat[path] = value
    return flat


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """The 1-based line of every key of a composed YAML document, by dotted path."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            lines[path] = key_node.start_mark.line + 1
            lines.update(_key_lines(value_node, path))
    return lines


def _file_entries(path: str | Path) -> list[_Entry]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadInput(f"cannot read configuration file {path}: {reason}") from None
    try:
        tree = yaml.safe_load(text) or {}
        lines = _key_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: {_yaml_problem(exc)}") from None
    if not isinstance(tree, Mapping):
        raise BadInput(f"{path}: expected a mapping of settings, found {type(tree).__name__}")
    entries = []
    for key, value in _flatten(tree).items():
        line = lines.get(key)
        where = f"{path}, line {line}: {key}" if line else f"{path}: {key}"
        entries.append(_Entry(key, value, where))
    return entries


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem or exc.context}"
    return str(exc).splitlines()[0]


def _env_entries(environ: Mapping[str, str]) -> tuple[list[_Entry], list[IgnoredSetting]]:
    """`EUREKA_SERVER_*`, `EUREKA_INSTANCE_REGISTRY_*`, `EUREKA_CLIENT_SERVICEURL_*`,
    `EUREKA_ENVIRONMENT` / `EUREKA_DATACENTER` and Spring
    Boot's `SERVER_PORT` / `SERVER_ADDRESS` (Spring's relaxed binding). Other `EUREKA_*`
    variables belong to clients, or are Kubernetes service links: never ours."""
    entries: list[_Entry] = []
    ignored: list[IgnoredSetting] = []
    for name, value in environ.items():
        upper = name.upper()
        if upper in ("SERVER_PORT", "SERVER_ADDRESS"):
            entries.append(_Entry(upper.lower().replace("_", "."), value, name))
            continue
        if upper.startswith("SERVER_SSL_"):
            setting = upper.removeprefix("SERVER_SSL_").lower().replace("_", "-")
            entries.append(_Entry(f"server.ssl.{setting}", value, name))
            continue
        if upper == "EUREKA_CLIENT_TLS_TRUST_STORE":
            entries.append(_Entry("eureka.client.tls.trust-store", value, name))
            continue
        if upper.startswith("SPRING_SECURITY_USER_"):
            field = upper.removeprefix("SPRING_SECURITY_USER_").lower()
            entries.append(_Entry(f"spring.security.user.{field}", value, name))
            continue
        if not upper.startswith("EUREKA_"):
            continue
        tail = upper.removeprefix("EUREKA_")
        if tail.lower() in _EUREKA_TOP_LEVEL:
            entries.append(_Entry(f"eureka.{tail.lower()}", value, name))
        elif tail.startswith(("SERVER_AUTH_", "AUTH_")):
            setting = tail.split("AUTH_", 1)[1].lower().replace("_", "-")
            entries.append(_Entry(f"eureka.server.auth.{setting}", value, name))
        elif tail.startswith(("CLIENT_SERVICE_URL_", "CLIENT_SERVICEURL_")):
            zone = tail.split("_")[-1].lower()
            entries.append(_Entry(f"eureka.client.service-url.{zone}", value, name))
        elif tail.startswith("SERVER_"):
            rest = tail.removeprefix("SERVER_")
            if _SERVICE_LINK.fullmatch(rest):
                ignored.append(IgnoredSetting(name, name, "a Kubernetes service link"))
            else:
                entries.append(_Entry(rest, value, name))
        elif tail.startswith("INSTANCE_REGISTRY_"):
            entries.append(_Entry(tail.removeprefix("INSTANCE_REGISTRY_"), value, name))
        elif not _SERVICE_LINK.fullmatch(tail) and (found := _lookup([normalise_key(tail)])):
            # `EUREKA_ENABLE_SELF_PRESERVATION` is not Spring's form: say which one works,
            # rather than let a setting the user believes in go unread.
            section, known = found
            path = f"registry.{known.name}" if section == "registry" else known.name
            reason = f"not read: Spring's form is {env_name(path)}"
            ignored.append(IgnoredSetting(name, name, reason))
    return entries, ignored


def _flag_entries(overrides: Mapping[str, Any]) -> list[_Entry]:
    entries = []
    for key, value in overrides.items():
        if value is None:
            continue
        where = f"--{key.replace('_', '-')}" if key in _NAMED_FLAGS else f"--set {key}"
        entries.append(_Entry(key, value, where))
    return entries


_AUTH_FIELDS = {"enabled", "readaccess", "realm", "maxverificationspersecond"}
_USER_FIELDS = {"password", "passwordfile", "passwordenv", "roles"}
_SPRING_USER = ("spring", "security", "user")


def _auth_keys(entries: list[_Entry], auth: dict[str, Any], kind: str) -> list[_Entry]:
    """Collect one source's auth keys into `auth` (merged over sources); return the others.

    Values are kept with the place they came from, `(value, where, kind)`: a plain-text password
    is only worth a warning when it sits in a file or a flag."""
    rest: list[_Entry] = []
    for entry in entries:
        raw = entry.key.split(".")
        parts = [normalise_key(p) for p in raw]
        if tuple(parts[:3]) == _SPRING_USER and len(parts) == 4:
            auth.setdefault("spring", {})[parts[3]] = (entry.value, entry.where, kind)
        elif parts[0] in ("eureka", "auth") and "auth" in parts[:-1]:
            at = len(parts) - 1 - parts[::-1].index("auth")
            tail = parts[at + 1 :]
            if len(tail) == 1 and tail[0] in _AUTH_FIELDS:
                auth[tail[0]] = (entry.value, entry.where, kind)
            elif len(tail) == 3 and tail[0] == "users" and tail[2] in _USER_FIELDS:
                name = raw[at + 2].strip()
                users = auth.setdefault("users", {})
                users.setdefault(name, {})[tail[2]] = (entry.value, entry.where, kind)
            else:
                raise BadInput(
                    f"{entry.where}: unknown auth setting (enabled, read-access, realm, "
                    "max-verifications-per-second, users.<name>.password|password-file|"
                    "password-env|roles)"
                )
        else:
            rest.append(entry)
    return rest


def _password(
    name: str, fields: Mapping[str, tuple[Any, str, str]], environ: Mapping[str, str]
) -> tuple[str, bool]:
    """(the stored password, whether it sits in the configuration itself as plain text)."""
    if "passwordfile" in fields:
        path = str(fields["passwordfile"][0])
        try:
            return Path(path).read_text(encoding="utf-8").strip(), False
        except OSError as exc:
            raise BadInput(f"auth user {name}: cannot read password file {path}: {exc}") from None
    if "passwordenv" in fields:
        variable = str(fields["passwordenv"][0])
        if not environ.get(variable):
            raise BadInput(f"auth user {name}: environment variable {variable} is not set")
        return environ[variable], False
    if "password" in fields and fields["password"][0] not in (None, ""):
        value = str(fields["password"][0])
        return value, not value.startswith("{") and fields["password"][2] != "environment"
    raise BadInput(f"auth user {name}: give password, password-file or password-env")


def _auth_config(auth: Mapping[str, Any], environ: Mapping[str, str]) -> AuthConfig:
    users: list[User] = []
    plain: list[str] = []
    spring = auth.get("spring", {})
    if spring.get("name") or spring.get("password"):
        name = str(spring.get("name", ("user", ""))[0])
        stored, in_config = _password(name, spring, environ)
        roles = spring.get("roles")
        users.append(
            User(
                name,
                parse_password(stored),
                normalise_roles(_split_list(roles[0])) if roles else ALL_ROLES,
            )
        )
        if in_config:
            plain.append(name)
    for name, fields in auth.get("users", {}).items():
        stored, in_config = _password(name, fields, environ)
        if "roles" not in fields:
            raise BadInput(f"auth user {name}: give its roles (CLIENT, ADMIN and/or PEER)")
        roles = normalise_roles(_split_list(fields["roles"][0]))
        if not roles:
            raise BadInput(f"auth user {name}: give its roles (CLIENT, ADMIN and/or PEER)")
        users.append(User(name, parse_password(stored), roles))
        if in_config:
            plain.append(name)
    if len({u.name for u in users}) != len(users):
        raise BadInput("auth: a user is configured twice")
    enabled_field = dataclasses.fields(AuthConfig)[0]
    enabled = (
        bool(_coerce(enabled_field, auth["enabled"][0], "auth.enabled"))
        if "enabled" in auth
        else bool(users)
    )
    if enabled and not users:
        # Fail closed: authentication asked for, nobody able to pass it is a configuration error.
        raise BadInput("auth is enabled but no user is configured")
    read_access = ReadAccess.OPEN
    if "readaccess" in auth:
        text = str(auth["readaccess"][0]).strip().lower()
        try:
            read_access = ReadAccess(text)
        except ValueError:
            raise BadInput("auth read-access must be open or authenticated") from None
    rate = DEFAULT_VERIFICATIONS_PER_SECOND
    if "maxverificationspersecond" in auth:
        try:
            rate = float(auth["maxverificationspersecond"][0])
        except (TypeError, ValueError):
            raise BadInput("auth max-verifications-per-second must be a number") from None
        if rate <= 0:
            raise BadInput("auth max-verifications-per-second must be positive")
    return AuthConfig(
        enabled=enabled,
        read_access=read_access,
        realm=str(auth["realm"][0]) if "realm" in auth else "eureka",
        users=tuple(users),
        max_verifications_per_second=rate,
        plain_text_users=tuple(plain),
    )


# Keys whose region name sits in a segment, so the generic last-segment rule cannot read them.
_WHITELIST_MAP = "remoteregionappwhitelist"  # Spring: ...remote-region-app-whitelist.<region>
_URL_MAP = "remoteregionurlswithname"  # Spring: ...remote-region-urls-with-name.<region>
_NETFLIX_REGION = "remoteregion"  # Netflix: eureka.remoteRegion.<region>.appWhiteList
_NETFLIX_WHITELIST = "appwhitelist"
# Netflix `eureka.remoteRegion.disable.transparent.fallback` ends in a too generic segment.
_NETFLIX_NO_FALLBACK = ("remoteregion", "disable", "transparent", "fallback")


class _Builder:
    """Accumulates settings source by source; later sources override earlier ones."""

    def __init__(self) -> None:
        self.server: dict[str, Any] = {}
        self.registry: dict[str, Any] = {}
        self.sources: dict[str, Source] = {}
        self.ignored: list[IgnoredSetting] = []
        # Auth keys, merged over sources: field → (value, where); users → name → field → ….
        self.auth: dict[str, Any] = {}
        self.environ: Mapping[str, str] = {}

    def apply(self, entries: list[_Entry], kind: str) -> None:
        peers: list[str] = []
        peer_where = ""
        rest = self._remote_region_maps(entries, kind)
        before = len(rest)
        rest = _auth_keys(rest, self.auth, kind)
        if len(rest) != before:
            self.sources["auth"] = Source(kind, kind)
        for entry in rest:
            target, detail = _resolve(entry.key, entry.where)
            if target == "ignore":
                self.ignored.append(IgnoredSetting(entry.key, entry.where, detail))
            elif target == "peers":
                peers.extend(_split_list(entry.value))
                peer_where = entry.where
            else:
                self._set(target, detail, entry.value, Source(kind, entry.where))
        if peers:
            self._set("server", _SERVER_FIELDS["peers"], tuple(peers), Source(kind, peer_where))

    def _set(self, section: str, field: dataclasses.Field[Any], value: Any, source: Source) -> None:
        value = _check(field, _coerce(field, value, source.where), source.where)
        if section == "registry":
            self.registry[field.name] = value
            self.sources[f"registry.{field.name}"] = source
        else:
            self.server[field.name] = value
            self.sources[field.name] = source

    def set_peers(self, urls: Iterable[str], where: str) -> None:
        for url in urls:
            if (problem := url_problem(url)) is not None:
                raise BadInput(f"{where} {url} {problem}")
        self.server["peers"] = tuple(urls)
        self.sources["peers"] = Source("flag", where)

    def _remote_region_maps(self, entries: list[_Entry], kind: str) -> list[_Entry]:
        """Consume the region maps (region → URL, region → whitelist); return the rest."""
        urls: dict[str, str] = {}
        whitelists: dict[str, tuple[str, ...]] = {}
        rest: list[_Entry] = []
        where = {"urls": "", "whitelists": ""}
        for entry in entries:
            key, value = entry.key, entry.value
            segments = key.split(".")
            parts = [normalise_key(p) for p in segments]
            if len(parts) >= 2 and parts[-2] == _WHITELIST_MAP:
                whitelists[segments[-1].strip().lower()] = tuple(_split_list(value))
                where["whitelists"] = entry.where
            elif (
                len(parts) >= 3 and parts[-1] == _NETFLIX_WHITELIST and parts[-3] == _NETFLIX_REGION
            ):
                whitelists[segments[-2].strip().lower()] = tuple(_split_list(value))
                where["whitelists"] = entry.where
            elif len(parts) >= 2 and parts[-2] == _URL_MAP:
                region = segments[-1].strip()
                if not region or value is None or not str(value).strip():
                    raise BadInput(f"{entry.where}: a region needs a URL")
                urls[region] = str(value).strip()
                where["urls"] = entry.where
            elif tuple(parts[-4:]) == _NETFLIX_NO_FALLBACK:
                field = _SERVER_FIELDS["disabletransparentfallbacktootherregion"]
                self._set("server", field, value, Source(kind, entry.where))
            elif parts[-1] == _WHITELIST_MAP:
                raise BadInput(
                    f"{entry.where}: give one key per region, "
                    "remote-region-app-whitelist.<region>=APP1,APP2"
                )
            else:
                rest.append(entry)
        if urls:
            merged = dict(self.server.get("remote_region_urls_with_name", ()))
            merged.update(urls)
            field = _SERVER_FIELDS[_URL_MAP]
            self._set("server", field, merged, Source(kind, where["urls"]))
        if whitelists:
            merged_lists = dict(self.server.get("remote_region_app_whitelist", ()))
            merged_lists.update(whitelists)
            self.server["remote_region_app_whitelist"] = tuple(merged_lists.items())
            self.sources["remote_region_app_whitelist"] = Source(kind, where["whitelists"])
        return rest

    def build(self) -> ConfigReport:
        auth = _auth_config(self.auth, self.environ)
        try:
            registry = RegistryConfig(**self.registry)
            config = ServerConfig(**self.server, registry=registry, auth=auth)
        except TypeError as exc:
            raise BadInput(f"invalid configuration: {exc}") from None
        return ConfigReport(config, dict(self.sources), tuple(self.ignored))


def load_config_report(
    *,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    peers: Iterable[str] = (),
) -> ConfigReport:
    """`load_config`, plus the source of every value and the keys that were ignored."""
    builder = _Builder()
    environ = os.environ if environ is None else environ
    builder.environ = environ
    path = config_file or environ.get("EUREKA_CONFIG")
    if path:
        builder.apply(_file_entries(path), "file")
    env_entries, env_ignored = _env_entries(environ)
    builder.ignored.extend(env_ignored)
    builder.apply(env_entries, "environment")
    if overrides:
        builder.apply(_flag_entries(overrides), "flag")
    flag_peers = list(peers)
    if flag_peers:
        builder.set_peers(flag_peers, "--peer")
    return builder.build()


def load_config(
    *,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    peers: Iterable[str] = (),
) -> ServerConfig:
    """Build the configuration from a YAML file, the environment and explicit overrides (flags).

    Raises `BadInput` with one line naming the key and where it was written (file and line,
    environment variable or flag) for unknown keys (suggesting the nearest known one), invalid
    values and unreadable files."""
    return load_config_report(
        config_file=config_file, environ=environ, overrides=overrides, peers=peers
    ).config

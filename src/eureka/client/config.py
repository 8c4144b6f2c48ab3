"""Client and instance configuration with Spring Cloud's keys and defaults (protocol.md §10.12).

Three sources, highest precedence first:

1. keyword arguments (`load_config(client={...}, instance={...})`, or the dataclasses directly);
2. environment variables `EUREKA_CLIENT_<NAME>` / `EUREKA_INSTANCE_<NAME>`, where NAME is the
   property with any of '-', '_' or '.' as word separators or none at all (Spring's relaxed
   binding): `EUREKA_CLIENT_REGISTRY_FETCH_INTERVAL_SECONDS` and
   `EUREKA_CLIENT_REGISTRYFETCHINTERVALSECONDS` are the same. Map properties take the key after
   the name: `EUREKA_CLIENT_SERVICEURL_DEFAULTZONE` (also `EUREKA_CLIENT_SERVICE_URL_DEFAULTZONE`),
   `EUREKA_INSTANCE_METADATA_MAP_ZONE`; map keys are lower-cased, except `DEFAULTZONE` which
   becomes `defaultZone`. `EUREKA_CLIENT_SERVICE_URL` alone sets `defaultZone`;
3. a YAML file with Spring keys, nested (`eureka: {client: {service-url: {defaultZone: ...}}}`)
   or dotted (`eureka.client.registry-fetch-interval-seconds: 5`), kebab-case, camelCase or
   snake_case; `spring.application.name` and `server.port` (or the variables
   `SPRING_APPLICATION_NAME` and `SERVER_PORT`, which beat the file) fill the app name and port
   when no `eureka.instance.*` key sets them.

Keys of our own, for servers that advertise the watch (docs/design/propagation.md), live under
`eureka.client.watch.*` (`watch.enabled`, `watch.wait-seconds`, `watch.applications`,
`watch.subset`, `watch.full-fetch-share`, `watch.fallback-after-failures`); a Java server ignores
them because the client only uses them against a server that advertises the features.

Defaults are Spring Cloud's where Netflix and Spring Cloud differ (initial status UP, instance id
`host:app:port`, VIP = app name, actuator paths, 30 s idle connections), since the keys are.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from eureka.client.cursor import WatchSettings
from eureka.client.state import FetchSettings
from eureka.client.transport import TransportSettings
from eureka.clock import Clock
from eureka.errors import BadInput
from eureka.model import (
    DEFAULT_DATA_CENTER_CLASS,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)
from eureka.tls import client_verify

__all__ = [
    "ClientConfig",
    "EurekaConfig",
    "InstanceConfig",
    "build_instance_info",
    "detect_host_name",
    "detect_ip_address",
    "load_config",
]

log = logging.getLogger("eureka.client.config")

DEFAULT_SERVICE_URL = "http://localhost:8761/eureka/"


@dataclass
class ClientConfig:
    """`eureka.client.*` (Spring Cloud names in snake_case)."""

    service_url: dict[str, str] = field(
        default_factory=lambda: {"defaultZone": DEFAULT_SERVICE_URL}
    )
    region: str = "us-east-1"
    availability_zones: dict[str, str] = field(default_factory=dict)
    prefer_same_zone_eureka: bool = True
    registry_fetch_interval_seconds: float = 30
    instance_info_replication_interval_seconds: float = 30
    initial_instance_info_replication_interval_seconds: float = 40
    cache_refresh_executor_exponential_back_off_bound: int = 10
    heartbeat_executor_exponential_back_off_bound: int = 10
    disable_delta: bool = False
    log_delta_diff: bool = False
    filter_only_up_instances: bool = True
    registry_refresh_single_vip_address: str | None = None
    fetch_remote_regions_registry: str | None = None
    fetch_registry: bool = True
    register_with_eureka: bool = True
    should_unregister_on_shutdown: bool = True
    should_enforce_registration_at_init: bool = False
    should_enforce_fetch_registry_at_init: bool = False
    on_demand_update_status_change: bool = True
    eureka_server_connect_timeout_seconds: float = 5
    eureka_server_read_timeout_seconds: float = 8
    eureka_server_total_connections: int = 200
    eureka_server_total_connections_per_host: int = 50
    eureka_connection_idle_timeout_seconds: float = 30
    eureka_service_url_poll_interval_seconds: float = 300
    allow_redirects: bool = False
    # PEM bundle of the CAs that https Eureka servers are verified with (Spring Cloud's
    # `eureka.client.tls.trust-store`; PEM only). Unset: the system's trusted CAs.
    tls_trust_store: str | None = None
    client_data_accept: str = "full"
    sessioned_client_reconnect_interval_seconds: float = 1200
    retryable_client_quarantine_refresh_percentage: float = 0.66
    # eureka.client.watch.* — ours; used only against servers that advertise the watch.
    watch_enabled: bool = True
    watch_wait_seconds: float = 30
    watch_applications: list[str] = field(default_factory=list)
    watch_subset: bool = False
    watch_full_fetch_share: float = 0.5
    watch_fallback_after_failures: int = 3

    def service_urls(self, zone: str | None = None, rng: random.Random | None = None) -> list[str]:
        """Service URLs, own zone first (`prefer_same_zone_eureka`), then the region's other
        zones, then `defaultZone` — Java's `EndpointUtils.getServiceUrlsFromConfig` order.
        With `rng`, each zone's URLs are shuffled, as Java's resolver does so that clients
        spread over the servers of a zone instead of all using its first one."""
        zones = [z for z in (self.availability_zones.get(self.region) or "").split(",") if z]
        if not zones:
            zones = ["defaultZone"]
        if zone is not None and zone in zones and self.prefer_same_zone_eureka:
            zones.remove(zone)
            zones.insert(0, zone)
        urls: list[str] = []
        for z in [*zones, "defaultZone"]:
            group = [u.strip() for u in (self.service_url.get(z) or "").split(",") if u.strip()]
            if rng is not None:
                rng.shuffle(group)
            urls.extend(u for u in group if u not in urls)
        if not urls:
            raise BadInput("no eureka service URL configured (eureka.client.service-url)")
        return urls

    def remote_regions(self) -> tuple[str, ...]:
        value = self.fetch_remote_regions_registry
        return tuple(r for r in (value or "").split(",") if r)

    def fetch_settings(self) -> FetchSettings:
        zones = {r: [z for z in v.split(",") if z] for r, v in self.availability_zones.items()}
        return FetchSettings(
            disable_delta=self.disable_delta,
            registry_refresh_single_vip_address=self.registry_refresh_single_vip_address,
            filter_only_up_instances=self.filter_only_up_instances,
            log_delta_diff=self.log_delta_diff,
            fetch_remote_regions_registry=self.remote_regions(),
            region=self.region,
            availability_zones=zones,
            watch=self.watch_settings(),
        )

    def watch_settings(self) -> WatchSettings:
        """The watch, where its digest can be verified: not with compact payloads (they omit
        digested fields), remote regions, single-VIP fetching or disabled deltas."""
        if self.watch_wait_seconds <= 0:
            raise BadInput("watch.wait-seconds must be positive")
        if not 0 <= self.watch_full_fetch_share <= 1:
            raise BadInput("watch.full-fetch-share must be between 0 and 1")
        usable = not (
            self.client_data_accept.lower() == "compact"
            or self.remote_regions()
            or self.registry_refresh_single_vip_address
            or self.disable_delta
        )
        return WatchSettings(
            enabled=self.watch_enabled and usable,
            wait_seconds=self.watch_wait_seconds,
            timeout_margin_seconds=self.eureka_server_read_timeout_seconds,
            subset=self.watch_subset,
            applications=tuple(a.strip().upper() for a in self.watch_applications if a.strip()),
            full_fetch_share=self.watch_full_fetch_share,
            fallback_after_failures=max(1, self.watch_fallback_after_failures),
            retry_max_seconds=self.registry_fetch_interval_seconds,
        )

    def transport_settings(self, identity_id: str | None = None) -> TransportSettings:
        return TransportSettings(
            connect_timeout=self.eureka_server_connect_timeout_seconds,
            read_timeout=self.eureka_server_read_timeout_seconds,
            max_connections=self.eureka_server_total_connections,
            max_connections_per_host=self.eureka_server_total_connections_per_host,
            idle_timeout=self.eureka_connection_idle_timeout_seconds,
            quarantine_refresh_percentage=self.retryable_client_quarantine_refresh_percentage,
            session_seconds=self.sessioned_client_reconnect_interval_seconds,
            compact=self.client_data_accept.lower() == "compact",
            identity_id=identity_id,
            allow_redirects=self.allow_redirects,
            verify=client_verify(self.tls_trust_store),
        )


@dataclass
class InstanceConfig:
    """`eureka.instance.*` (Spring Cloud names in snake_case)."""

    appname: str = "unknown"
    instance_id: str | None = None
    hostname: str | None = None  # detected when None
    ip_address: str | None = None  # detected when None
    prefer_ip_address: bool = False
    non_secure_port: int = 8080
    non_secure_port_enabled: bool = True
    secure_port: int = 443
    secure_port_enabled: bool = False
    virtual_host_name: str | None = None  # app name when None
    secure_virtual_host_name: str | None = None  # app name when None
    initial_status: str = "UP"
    lease_renewal_interval_in_seconds: int = 30
    lease_expiration_duration_in_seconds: int = 90
    status_page_url_path: str = "/actuator/info"
    health_check_url_path: str = "/actuator/health"
    home_page_url_path: str = "/"
    status_page_url: str | None = None
    health_check_url: str | None = None
    secure_health_check_url: str | None = None
    home_page_url: str | None = None
    metadata_map: dict[str, str] = field(default_factory=dict)
    app_group_name: str | None = None
    data_center_name: str = "MyOwn"
    asg_name: str | None = None


@dataclass
class EurekaConfig:
    client: ClientConfig = field(default_factory=ClientConfig)
    instance: InstanceConfig = field(default_factory=InstanceConfig)


# ---- loading ------------------------------------------------------------------------------------


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    client: Mapping[str, Any] | None = None,
    instance: Mapping[str, Any] | None = None,
) -> EurekaConfig:
    """Merge defaults < YAML file < environment (`os.environ` unless given) < keyword arguments."""
    client_values: dict[str, Any] = {}
    instance_values: dict[str, Any] = {}
    spring: dict[str, Any] = {}
    environ = os.environ if env is None else env
    if path is not None:
        file_client, file_instance, spring = _from_yaml(Path(path))
        _merge(client_values, file_client)
        _merge(instance_values, file_instance)
    env_client, env_instance = _from_env(environ)
    _merge(client_values, env_client)
    _merge(instance_values, env_instance)
    # `eureka.instance.*` from any source wins; SERVER_PORT beats the file's `server.port`.
    for name, value in {**spring, **_spring_env(environ)}.items():
        instance_values.setdefault(name, value)
    _merge(client_values, _normalise_keys(client or {}, ClientConfig))
    _merge(instance_values, _normalise_keys(instance or {}, InstanceConfig))
    return EurekaConfig(
        _construct(ClientConfig, client_values), _construct(InstanceConfig, instance_values)
    )


def _merge(into: dict[str, Any], values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = {**into[key], **value}
        else:
            into[key] = value


def _snake(name: str) -> str:
    """kebab-case, camelCase or dotted → snake_case."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"[-.]", "_", name).lower()


def _fields(cls: type) -> dict[str, Any]:
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _is_map(cls: type, name: str) -> bool:
    return str(_fields(cls)[name]).startswith("dict")


# Spring Cloud key spellings that do not map to our field names by case conversion alone.
_ALIASES = {
    "serviceurl": "service_url",
    "metadata": "metadata_map",
    "metadatamap": "metadata_map",
    "appname": "appname",
    "app_name": "appname",
    "ip_addr": "ip_address",
    "ipaddress": "ip_address",
    "host_name": "hostname",
}


def _field_name(cls: type, key: str) -> str | None:
    fields = _fields(cls)
    snake = _snake(key)
    if snake in fields:
        return snake
    compact = snake.replace("_", "")
    if compact in _ALIASES and _ALIASES[compact] in fields:
        return _ALIASES[compact]
    if snake in _ALIASES and _ALIASES[snake] in fields:
        return _ALIASES[snake]
    for name in fields:
        if name.replace("_", "") == compact:
            return name
    return None


def _normalise_keys(values: Mapping[str, Any], cls: type) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in values.items():
        name = _field_name(cls, str(key))
        if name is None:
            raise BadInput(f"unknown {cls.__name__} setting: {key}")
        result[name] = value
    return result


def _from_yaml(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BadInput(f"cannot read configuration file {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise BadInput(f"configuration file {path} is not a mapping")
    flat = _flatten(document)
    sections: dict[str, dict[str, Any]] = {"client": {}, "instance": {}}
    extras: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        if len(parts) >= 3 and parts[0] == "eureka" and parts[1] in sections:
            cls = ClientConfig if parts[1] == "client" else InstanceConfig
            name, rest = _dotted_field(cls, parts[2:])
            if name is None:
                log.info("ignoring unknown configuration key %s", key)
                continue
            section = sections[parts[1]]
            if _is_map(cls, name):
                if not rest and isinstance(value, dict):
                    section.setdefault(name, {}).update({str(k): v for k, v in value.items()})
                elif rest:
                    section.setdefault(name, {})[".".join(rest)] = value
            elif not rest:
                section[name] = value
        elif key in ("spring.application.name", "server.port"):
            extras[key] = value
    spring = {_SPRING_DEFAULTS[key]: value for key, value in extras.items()}
    return sections["client"], sections["instance"], spring


# Spring Boot's own keys that stand in for the instance's, as `${spring.application.name}` and
# `${server.port}` do in Spring Cloud: in the file, or as SPRING_APPLICATION_NAME / SERVER_PORT.
_SPRING_DEFAULTS = {"spring.application.name": "appname", "server.port": "non_secure_port"}
_SPRING_VARIABLES = {"SPRING_APPLICATION_NAME": "appname", "SERVER_PORT": "non_secure_port"}


def _spring_env(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        field: value for var, value in env.items() if (field := _SPRING_VARIABLES.get(var.upper()))
    }


def _dotted_field(cls: type, parts: list[str]) -> tuple[str | None, list[str]]:
    """The field a dotted key names, and what follows it (a map key): `service-url.defaultZone`
    → (`service_url`, [`defaultZone`]); nested groups of our own such as `watch.wait-seconds`
    → (`watch_wait_seconds`, [])."""
    for end in range(len(parts), 0, -1):
        name = _field_name(cls, "_".join(parts[:end]))
        if name is not None:
            return name, parts[end:]
    return None, []


def _flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings → dotted keys; the maps under map properties stay whole only where the
    nesting ends (service-url: {defaultZone: ...} becomes eureka.client.service-url.defaultZone)."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _from_env(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    client: dict[str, Any] = {}
    instance: dict[str, Any] = {}
    for var, value in env.items():
        upper = var.upper()
        if upper.startswith("EUREKA_CLIENT_"):
            _env_entry(ClientConfig, upper.removeprefix("EUREKA_CLIENT_"), value, client)
        elif upper.startswith("EUREKA_INSTANCE_"):
            _env_entry(InstanceConfig, upper.removeprefix("EUREKA_INSTANCE_"), value, instance)
    return client, instance


def _env_entry(cls: type, rest: str, value: str, into: dict[str, Any]) -> None:
    for name in _fields(cls):
        if not _is_map(cls, name):
            continue
        spellings = [name, *(a for a, target in _ALIASES.items() if target == name)]
        for spelling in spellings:
            words = [re.escape(w.upper()) for w in spelling.split("_")]
            match = re.fullmatch("_?".join(words) + r"(?:_(.+))?", rest)
            if match:
                key = match.group(1)
                if key is None:
                    if name != "service_url":
                        return
                    key = "DEFAULTZONE"
                key = "defaultZone" if key == "DEFAULTZONE" else key.lower()
                into.setdefault(name, {})[key] = value
                return
    compact = rest.replace("_", "")
    for name in _fields(cls):
        if name.replace("_", "").upper() == compact:
            into[name] = value
            return


# ---- type coercion ------------------------------------------------------------------------------

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _coerce(name: str, hint: Any, value: Any) -> Any:
    text = str(hint)
    if value is None:
        if "None" in text:
            return None
        raise BadInput(f"{name} may not be empty")
    if text.startswith("list"):
        # A YAML list, or a comma-separated string (environment variables, --set).
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or any(isinstance(i, (dict, list)) for i in items):
            raise BadInput(f"{name} must be a list or a comma-separated string")
        return [_scalar_str(i).strip() for i in items if _scalar_str(i).strip()]
    if text.startswith("dict"):
        if isinstance(value, str):
            raise BadInput(f"{name} must be a mapping")
        if not isinstance(value, Mapping):
            raise BadInput(f"{name} must be a mapping")
        return {str(k): "" if v is None else _scalar_str(v) for k, v in value.items()}
    if hint is bool:
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise BadInput(f"{name} must be true or false, not {value!r}")
    if hint is int or hint is float:
        if isinstance(value, bool):
            raise BadInput(f"{name} must be a number, not {value!r}")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise BadInput(f"{name} must be a number, not {value!r}") from None
        if hint is int:
            if number != int(number):
                raise BadInput(f"{name} must be a whole number, not {value!r}")
            return int(number)
        return number
    if isinstance(value, (dict, list)):
        raise BadInput(f"{name} must be a single value")
    return _scalar_str(value)


def _scalar_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _construct(cls: type[Any], values: Mapping[str, Any]) -> Any:
    hints = _fields(cls)
    kwargs = {name: _coerce(name, hints[name], value) for name, value in values.items()}
    return cls(**kwargs)


# ---- the own InstanceInfo -----------------------------------------------------------------------

_PROBE = ("10.255.255.255", 1)  # never contacted: connecting a UDP socket sends nothing


def detect_ip_address() -> str:
    """A routable, non-loopback IPv4 address of this host, else 127.0.0.1.

    In containers `gethostbyname(gethostname())` often answers a loopback alias (127.0.1.1), so
    the address the kernel would route outbound traffic from is asked for first.
    """
    candidates: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE)
            candidates.append(probe.getsockname()[0])
    except OSError:
        pass
    try:
        host = socket.gethostname()
        candidates.append(socket.gethostbyname(host))
        candidates.extend(
            str(info[4][0]) for info in socket.getaddrinfo(host, None, socket.AF_INET)
        )
    except OSError:
        pass
    for address in candidates:
        if isinstance(address, str) and not address.startswith(("127.", "0.")):
            return address
    return "127.0.0.1"


def detect_host_name() -> str:
    try:
        return socket.gethostname() or "localhost"
    except OSError:
        return "localhost"


def build_instance_info(
    config: InstanceConfig,
    clock: Clock,
    *,
    detect_ip: Callable[[], str] = detect_ip_address,
    detect_host: Callable[[], str] = detect_host_name,
) -> InstanceInfo:
    """The InstanceInfo a Spring Cloud client with this configuration would register."""
    ip = config.ip_address or detect_ip()
    host = ip if config.prefer_ip_address else (config.hostname or detect_host())
    port = config.non_secure_port
    status_name = config.initial_status.strip().upper()
    if status_name not in InstanceStatus.__members__:
        raise BadInput(f"initial_status must be one of {', '.join(InstanceStatus)}")
    status = InstanceStatus(status_name)
    now = clock.now_ms()
    base = f"http://{host}:{port}"
    secure_base = f"https://{host}:{config.secure_port}"
    secure_health = config.secure_health_check_url
    if secure_health is None and config.secure_port_enabled:
        secure_health = secure_base + config.health_check_url_path
    return InstanceInfo(
        app=config.appname.upper(),
        instance_id=config.instance_id or f"{host}:{config.appname}:{port}",
        host_name=host,
        ip_addr=ip,
        status=status,
        port=port,
        port_enabled=config.non_secure_port_enabled,
        secure_port=config.secure_port,
        secure_port_enabled=config.secure_port_enabled,
        data_center_info=DataCenterInfo(config.data_center_name, DEFAULT_DATA_CENTER_CLASS),
        lease_info=LeaseInfo(
            renewal_interval_in_secs=config.lease_renewal_interval_in_seconds,
            duration_in_secs=config.lease_expiration_duration_in_seconds,
        ),
        metadata=dict(config.metadata_map),
        app_group_name=config.app_group_name.upper() if config.app_group_name else None,
        home_page_url=config.home_page_url or base + config.home_page_url_path,
        status_page_url=config.status_page_url or base + config.status_page_url_path,
        health_check_url=config.health_check_url or base + config.health_check_url_path,
        secure_health_check_url=secure_health,
        vip_address=config.virtual_host_name or config.appname,
        secure_vip_address=config.secure_virtual_host_name or config.appname,
        last_updated_timestamp=now,
        last_dirty_timestamp=now,
        asg_name=config.asg_name,
    )

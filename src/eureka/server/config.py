"""Server configuration: defaults ← YAML file ← environment ← command-line flags.

Users arrive with Spring Cloud (`eureka.server.enable-self-preservation`) or Netflix
(`eureka.enableSelfPreservation`) keys, or write environment variables in Spring's relaxed form
(`EUREKA_SERVER_ENABLE_SELF_PRESERVATION`). Rather than a table of every spelling, a key is matched
by its *normalised* last segment — lower-cased with everything but letters and digits removed —
against the normalised field names, so `enable-self-preservation`, `enableSelfPreservation` and
`enable_self_preservation` all land on the same field. Spring's odd
`retention-time-in-m-s-in-delta-queue` normalises to the same string as our field, by design of
this rule. The few keys whose names differ in words, not just in spelling, are listed in ALIASES.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from eureka.errors import BadInput
from eureka.registry.config import RegistryConfig

__all__ = ["ServerConfig", "load_config", "normalise_key"]


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
    # Granian's per-worker cap on concurrent requests; a registry sees one long-lived connection
    # per client, so the default 1,024 is far too low for a fleet.
    backpressure: int = 16384
    log_level: str = "info"
    # Shown on the dashboard, as Spring Cloud's `eureka.environment` / `eureka.datacenter`.
    environment: str = "test"
    datacenter: str = "default"
    # `GET /metrics` and the per-request tallies behind it; false leaves both out.
    metrics_enabled: bool = True
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


ALIASES = {
    # Netflix name → our field (normalised on both sides).
    "shoulduseReadOnlyResponseCache".lower(): "usereadonlyresponsecache",
    "registrysyncretries": "numberregistrysyncretries",
    "peerurls": "peers",
    "peer": "peers",
    "remoteregionregistryfetchintervalinseconds": "remoteregionregistryfetchinterval",
    # `eureka.remoteRegion.registryFetchIntervalInSeconds`: only the last segment is compared.
    "registryfetchintervalinseconds": "remoteregionregistryfetchinterval",
    "address": "host",
    "serverport": "port",
}


def normalise_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {normalise_key(f.name): f for f in dataclasses.fields(cls)}


def _coerce(field: dataclasses.Field[Any], value: Any, key: str) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
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
            return int(str(value).strip())
        if kind == "float":
            return float(str(value).strip())
        if kind.startswith("tuple[str"):
            return tuple(_split_list(value))
        if kind.startswith("tuple[tuple"):
            return tuple(_parse_regions(value))
        if kind in ("str", "str | None"):
            return None if value is None else str(value)
    except (TypeError, ValueError):
        raise BadInput(f"configuration {key}: {value!r} is not a valid {kind}") from None
    return value


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


def _service_urls(settings: Mapping[str, Any]) -> list[str]:
    """Spring's `eureka.client.service-url.<zone>` lists become the peer list, as in a SC server."""
    urls: list[str] = []
    for key, value in settings.items():
        parts = key.split(".")
        if len(parts) >= 3 and normalise_key(parts[-2]) in ("serviceurl", "serviceurls"):
            urls.extend(_split_list(value))
    return urls


# Keys whose region name sits in a segment, so the generic last-segment rule cannot read them.
_WHITELIST_MAP = "remoteregionappwhitelist"  # Spring: ...remote-region-app-whitelist.<region>
_URL_MAP = "remoteregionurlswithname"  # Spring: ...remote-region-urls-with-name.<region>
_NETFLIX_REGION = "remoteregion"  # Netflix: eureka.remoteRegion.<region>.appWhiteList
_NETFLIX_WHITELIST = "appwhitelist"
# Netflix `eureka.remoteRegion.disable.transparent.fallback` ends in a too generic segment.
_NETFLIX_NO_FALLBACK = ("remoteregion", "disable", "transparent", "fallback")


def _remote_region_maps(
    settings: Mapping[str, Any],
) -> tuple[dict[str, str], dict[str, tuple[str, ...]], dict[str, Any], set[str]]:
    """(region → URL, region → whitelist, other fields, the keys consumed here)."""
    urls: dict[str, str] = {}
    whitelists: dict[str, tuple[str, ...]] = {}
    fields: dict[str, Any] = {}
    consumed: set[str] = set()
    for key, value in settings.items():
        parts = [normalise_key(p) for p in key.split(".")]
        if len(parts) >= 2 and parts[-2] == _WHITELIST_MAP:
            region = key.split(".")[-1]
            whitelists[region.strip().lower()] = tuple(_split_list(value))
        elif len(parts) >= 3 and parts[-1] == _NETFLIX_WHITELIST and parts[-3] == _NETFLIX_REGION:
            region = key.split(".")[-2]
            whitelists[region.strip().lower()] = tuple(_split_list(value))
        elif len(parts) >= 2 and parts[-2] == _URL_MAP:
            region = key.split(".")[-1].strip()
            if not region or value is None or not str(value).strip():
                raise BadInput(f"configuration {key}: a region needs a URL")
            urls[region] = str(value).strip()
        elif tuple(parts[-4:]) == _NETFLIX_NO_FALLBACK:
            fields["disable_transparent_fallback_to_other_region"] = value
        elif parts[-1] == _WHITELIST_MAP:
            raise BadInput(
                f"configuration {key}: give one key per region, "
                "remote-region-app-whitelist.<region>=APP1,APP2"
            )
        else:
            continue
        consumed.add(key)
    return urls, whitelists, fields, consumed


def _apply(
    server: dict[str, Any], registry: dict[str, Any], settings: Mapping[str, Any], source: str
) -> None:
    server_fields = _fields(ServerConfig)
    registry_fields = _fields(RegistryConfig)
    urls, whitelists, region_fields, consumed = _remote_region_maps(settings)
    for key, value in settings.items():
        if key in consumed:
            continue
        last = normalise_key(key.split(".")[-1])
        last = ALIASES.get(last, last)
        if last in ("registry", "serviceurl", "defaultzone"):
            continue
        if last in registry_fields:
            field = registry_fields[last]
            registry[field.name] = _coerce(field, value, f"{source} {key}")
        elif last in server_fields:
            field = server_fields[last]
            server[field.name] = _coerce(field, value, f"{source} {key}")
    peers = _service_urls(settings)
    if peers:
        server["peers"] = tuple(peers)
    for name, value in region_fields.items():
        field = server_fields[normalise_key(name)]
        server[name] = _coerce(field, value, f"{source} {name}")
    if urls:
        merged = dict(server.get("remote_region_urls_with_name", ()))
        merged.update(urls)
        server["remote_region_urls_with_name"] = tuple(merged.items())
    if whitelists:
        merged_lists = dict(server.get("remote_region_app_whitelist", ()))
        merged_lists.update(whitelists)
        server["remote_region_app_whitelist"] = tuple(merged_lists.items())


def _env_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """EUREKA_SERVER_X / EUREKA_X variables, Spring's relaxed binding form."""
    settings = {}
    for name, value in environ.items():
        upper = name.upper()
        if upper.startswith("EUREKA_") and upper != "EUREKA_CONFIG":
            tail = upper.removeprefix("EUREKA_")
            tail = tail.removeprefix("SERVER_").removeprefix("INSTANCE_REGISTRY_")
            if tail.startswith("CLIENT_SERVICE_URL_") or tail.startswith("CLIENT_SERVICEURL_"):
                settings[f"eureka.client.service-url.{tail.split('_')[-1].lower()}"] = value
            else:
                settings[tail.lower()] = value
    return settings


def load_config(
    *,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    peers: Iterable[str] = (),
) -> ServerConfig:
    """Build the configuration from a YAML file, the environment and explicit overrides (flags)."""
    server: dict[str, Any] = {}
    registry: dict[str, Any] = {}
    environ = os.environ if environ is None else environ
    path = config_file or environ.get("EUREKA_CONFIG")
    if path:
        try:
            tree = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise BadInput(f"cannot read configuration file {path}: {exc}") from None
        _apply(server, registry, _flatten(tree), str(path))
    _apply(server, registry, _env_settings(environ), "environment")
    if overrides:
        _apply(server, registry, {k: v for k, v in overrides.items() if v is not None}, "flag")
    flag_peers = list(peers)
    if flag_peers:
        server["peers"] = tuple(flag_peers)
    try:
        registry_config = RegistryConfig(**registry)
        return ServerConfig(**server, registry=registry_config)
    except TypeError as exc:
        raise BadInput(f"invalid configuration: {exc}") from None

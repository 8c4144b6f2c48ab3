"""Model → wire structs for the JSON the Java server writes (protocol.md §4.1, §4.3).

Encoding goes through msgspec Structs whose field order, names and types *are* the wire format:
msgspec then writes the bytes in C, and `omit_defaults` drops the optional keys that Java leaves
out. Only the per-instance conversion runs in Python, and it is kept to one constructor call with
cached sub-objects (ports, plain data-center infos), because the server encodes up to 100k of them.

Two msgspec details matter here:
* `omit_defaults` compares with the default by *identity* for strings, so every optional field
  defaults to None and callers pass None, never an equal-looking string;
* fields that must always be written default to `UNSET`, which msgspec never writes but which the
  converters below never pass either.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from msgspec import UNSET, UnsetType

from eureka.model import (
    AMAZON_CLASS,
    DEFAULT_DATA_CENTER_CLASS,
    ActionType,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)

__all__ = [
    "EMPTY_METADATA",
    "MINI_AMAZON_KEYS",
    "WireInstance",
    "WireMiniInstance",
    "encoder",
    "to_wire",
    "to_wire_mini",
]

# Java writes an empty instance metadata map as this placeholder (EurekaJacksonCodec's
# backwards-compatibility object), never as {}.
EMPTY_METADATA: Final[dict[str, str]] = {"@class": "java.util.Collections$EmptyMap"}

# JacksonJsonMini keeps only these AmazonInfo metadata keys (AbstractEurekaJacksonCodec).
MINI_AMAZON_KEYS: Final = frozenset(
    ("instance-id", "public-ipv4", "public-hostname", "local-ipv4", "availability-zone")
)

_UNWRITTEN_SIDS: Final = frozenset(("na", "unknown"))  # the deprecated sid's "no value" spellings
_TRUE_FALSE: Final = ("false", "true")  # indexed by a bool: Java writes "@enabled" as a string
_CACHE_LIMIT: Final = 4096  # ports / data-center names are few; the bound only guards odd input

encoder: Final = msgspec.json.Encoder()


class WirePort(msgspec.Struct, frozen=True, gc=False, rename={"value": "$", "enabled": "@enabled"}):
    value: int
    enabled: str


class WireLease(msgspec.Struct, gc=False, rename="camel"):
    renewal_interval_in_secs: int
    duration_in_secs: int
    registration_timestamp: int
    last_renewal_timestamp: int
    eviction_timestamp: int
    service_up_timestamp: int


class WireDataCenter(
    msgspec.Struct, frozen=True, gc=False, omit_defaults=True, rename={"class_name": "@class"}
):
    class_name: str
    name: str
    metadata: dict[str, str] | None = None


class WireInstance(msgspec.Struct, gc=False, omit_defaults=True, rename="camel"):
    """Dialect A (`EurekaJacksonCodec.InstanceInfoSerializer`), fields in Java's write order."""

    instance_id: str | None = None
    host_name: str | UnsetType | None = UNSET
    app: str | UnsetType = UNSET
    ip_addr: str | UnsetType | None = UNSET
    sid: str | None = None
    status: InstanceStatus | UnsetType = UNSET
    overridden_status: InstanceStatus | UnsetType = UNSET
    port: WirePort | UnsetType = UNSET
    secure_port: WirePort | UnsetType = UNSET
    country_id: int | UnsetType = UNSET
    data_center_info: WireDataCenter | None = None
    lease_info: WireLease | None = None
    metadata: dict[str, str] | UnsetType = UNSET
    app_group_name: str | None = None
    home_page_url: str | None = None
    status_page_url: str | None = None
    health_check_url: str | None = None
    secure_health_check_url: str | None = None
    vip_address: str | None = None
    secure_vip_address: str | None = None
    is_coordinating_discovery_server: str | UnsetType = UNSET
    last_updated_timestamp: str | UnsetType = UNSET
    last_dirty_timestamp: str | UnsetType = UNSET
    action_type: ActionType | None = None
    asg_name: str | None = None


class WireMiniInstance(msgspec.Struct, gc=False, omit_defaults=True, rename="camel"):
    """JacksonJsonMini: bean order with MiniInstanceInfoMixIn's exclusions, nulls omitted.

    The order and the key set follow java/*.jacksonjsonmini.json (no appGroupName, no
    overriddenStatus, lastUpdatedTimestamp as a number), not protocol.md §4.3, which lists more.
    """

    instance_id: str | None = None
    app: str | None = None
    ip_addr: str | None = None
    vip_address: str | None = None
    secure_vip_address: str | None = None
    data_center_info: WireDataCenter | None = None
    host_name: str | None = None
    status: InstanceStatus | UnsetType = UNSET
    last_updated_timestamp: int | UnsetType = UNSET
    action_type: ActionType | None = None
    asg_name: str | None = None
    port: WirePort | UnsetType = UNSET
    secure_port: WirePort | UnsetType = UNSET


_ports_enabled: dict[int, WirePort] = {}
_ports_disabled: dict[int, WirePort] = {}
_plain_data_centers: dict[str, WireDataCenter] = {}


def _port(value: int, enabled: bool) -> WirePort:
    cache = _ports_enabled if enabled else _ports_disabled
    port = cache.get(value)
    if port is None:
        port = WirePort(value, _TRUE_FALSE[enabled])
        if len(cache) < _CACHE_LIMIT:
            cache[value] = port
    return port


def _data_center(dci: DataCenterInfo, mini: bool) -> WireDataCenter:
    name = dci.name
    plain = _plain_data_centers.get(name)
    if plain is not None:
        return plain
    if dci.is_amazon:
        metadata = dci.metadata or {}
        if mini:
            metadata = {k: v for k, v in metadata.items() if k in MINI_AMAZON_KEYS}
        return WireDataCenter(AMAZON_CLASS, name, metadata)
    # Java writes the DefaultDataCenterInfo class for every non-Amazon info, whatever it read.
    plain = WireDataCenter(DEFAULT_DATA_CENTER_CLASS, name)
    if len(_plain_data_centers) < _CACHE_LIMIT:
        _plain_data_centers[name] = plain
    return plain


def _lease(lease: LeaseInfo) -> WireLease:
    return WireLease(
        lease.renewal_interval_in_secs,
        lease.duration_in_secs,
        lease.registration_timestamp,
        lease.last_renewal_timestamp,
        lease.eviction_timestamp,
        lease.service_up_timestamp,
    )


def to_wire(instance: InstanceInfo) -> WireInstance:
    dci = instance.data_center_info
    lease = instance.lease_info
    sid = instance.sid
    action = instance.action_type
    return WireInstance(
        instance.instance_id,
        instance.host_name,
        instance.app,
        instance.ip_addr,
        None if sid in _UNWRITTEN_SIDS else sid,
        instance.status,
        instance.overridden_status,
        _port(instance.port, instance.port_enabled),
        _port(instance.secure_port, instance.secure_port_enabled),
        instance.country_id,
        None if dci is None else _data_center(dci, False),
        None if lease is None else _lease(lease),
        instance.metadata or EMPTY_METADATA,
        instance.app_group_name,
        instance.home_page_url,
        instance.status_page_url,
        instance.health_check_url,
        instance.secure_health_check_url,
        instance.vip_address,
        instance.secure_vip_address,
        _TRUE_FALSE[instance.is_coordinating_discovery_server],
        str(instance.last_updated_timestamp),
        str(instance.last_dirty_timestamp),
        action,
        instance.asg_name,
    )


def to_wire_mini(instance: InstanceInfo) -> WireMiniInstance:
    dci = instance.data_center_info
    return WireMiniInstance(
        instance.instance_id,
        instance.app,
        instance.ip_addr,
        instance.vip_address,
        instance.secure_vip_address,
        None if dci is None else _data_center(dci, True),
        instance.host_name,
        instance.status,
        instance.last_updated_timestamp,
        instance.action_type,
        instance.asg_name,
        _port(instance.port, instance.port_enabled),
        _port(instance.secure_port, instance.secure_port_enabled),
    )


def applications_tree(
    version: int, apps_hashcode: str | None, apps: list[dict[str, Any]], compact: bool
) -> dict[str, Any]:
    """The `{"applications": ...}` wrapper around already converted application objects."""
    if compact:
        # JacksonJsonMini's bean order: the list, the leaked `isRegisteredApplicationsEmpty()`
        # getter, then the two keys its serializer appends; a null hash code is omitted.
        body: dict[str, Any] = {
            "application": apps,
            "registeredApplicationsEmpty": not apps,
            "versions__delta": str(version),
        }
        if apps_hashcode is not None:
            body["apps__hashcode"] = apps_hashcode
        return {"applications": body}
    return {
        "applications": {
            "versions__delta": str(version),
            "apps__hashcode": apps_hashcode,
            "application": apps,
        }
    }

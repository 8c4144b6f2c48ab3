"""Wire → model for every JSON dialect real parties write (protocol.md §4.2).

msgspec decodes the document straight into the lenient Structs below (typed decoding measured
about twice as fast as building dicts, and it never allocates for the keys we ignore). Their field
types, read in msgspec's lax mode, spell out what is accepted where: numbers or numeric strings,
booleans or "true"/"false", a list or a single object, null for absent. Everything else — wrong
types, bad syntax, truncation, invalid UTF-8, absurd nesting — is raised by msgspec and turned
into BadInput by `eureka.codec.json`; the converters then only apply Eureka's defaults.

The one thing a typed decode cannot see is key order, which decides between `overriddenStatus`
and `overriddenstatus` when both are present (the later wins, as in Java's streaming decoder).
That rare case raises `NeedsKeyOrder`, and the caller redoes the document through dicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

import msgspec

from eureka.errors import BadInput
from eureka.model import (
    AMAZON_CLASS,
    ActionType,
    Application,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)

__all__ = [
    "ApplicationDoc",
    "ApplicationsDoc",
    "InstanceDoc",
    "NeedsKeyOrder",
    "WireInstance",
    "convert_application",
    "convert_applications",
    "convert_instance",
    "resolve_overridden_order",
]

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # Java int: ports, countryId, lease intervals
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1  # Java long: timestamps, versions__delta

# The decoders run with msgspec's `strict=False`, which turns numeric strings ("8080", "1.0e3")
# into ints and "true"/"false"/"1"/"0" into booleans in C — exactly the dialect-A/Jettison
# leniency — while `str` fields still refuse numbers. Ranges are Java's types.
Int = Annotated[int, msgspec.Meta(ge=_INT_MIN, le=_INT_MAX)]
Long = Annotated[int, msgspec.Meta(ge=_LONG_MIN, le=_LONG_MAX)]
# Metadata values: Java reads any scalar as text (the XStream/Jettison shape writes numbers).
Scalar = str | int | float | bool | None

_STATUSES: Final = {status.value: status for status in InstanceStatus}
_ACTIONS: Final = {action.value: action for action in ActionType}
_UP: Final = InstanceStatus.UP
_UNKNOWN: Final = InstanceStatus.UNKNOWN


class NeedsKeyOrder(Exception):
    """Both overridden-status spellings are present with different values."""


class WirePort(msgspec.Struct, gc=False):
    value: Int | None = msgspec.field(name="$", default=None)
    enabled: bool | None = msgspec.field(name="@enabled", default=None)


class WireLease(msgspec.Struct, gc=False, rename="camel"):
    renewal_interval_in_secs: Int | None = None
    duration_in_secs: Int | None = None
    registration_timestamp: Long | None = None
    last_renewal_timestamp: Long | None = None
    renewal_timestamp: Long | None = None  # the bean decoder's legacy name
    eviction_timestamp: Long | None = None
    service_up_timestamp: Long | None = None


class WireDataCenter(msgspec.Struct, gc=False):
    class_name: str | None = msgspec.field(name="@class", default=None)
    name: str | None = None
    metadata: dict[str, Scalar] | None = None


class WireInstance(msgspec.Struct, gc=False, rename="camel"):
    instance_id: str | None = None
    host_name: str | None = None
    app: str | None = None
    ip_addr: str | None = None
    sid: str | None = None
    status: str | None = None
    overridden_status: str | None = None
    overriddenstatus: str | None = msgspec.field(name="overriddenstatus", default=None)
    # A bare number is accepted too: some non-Java clients send `"port": 8080`.
    port: WirePort | Int | None = None
    secure_port: WirePort | Int | None = None
    country_id: Int | None = None
    data_center_info: WireDataCenter | None = None
    lease_info: WireLease | None = None
    metadata: dict[str, Scalar] | None = None
    app_group_name: str | None = None
    home_page_url: str | None = None
    status_page_url: str | None = None
    health_check_url: str | None = None
    secure_health_check_url: str | None = None
    vip_address: str | None = None
    secure_vip_address: str | None = None
    is_coordinating_discovery_server: bool | None = None
    last_updated_timestamp: Long | None = None
    last_dirty_timestamp: Long | None = None
    action_type: str | None = None
    asg_name: str | None = None


class WireApplication(msgspec.Struct, gc=False):
    name: str | None = None
    instance: list[WireInstance] | WireInstance | None = None


class WireApplications(msgspec.Struct, gc=False):
    versions__delta: Long | None = None
    apps__hashcode: str | None = None
    application: list[WireApplication] | WireApplication | None = None


class InstanceDoc(msgspec.Struct, gc=False):
    instance: WireInstance


class ApplicationDoc(msgspec.Struct, gc=False):
    application: WireApplication


class ApplicationsDoc(msgspec.Struct, gc=False):
    applications: WireApplications


# ---------------------------------------------------------------------------------------------
# conversion


def _text(value: Scalar) -> str:
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def _metadata(raw: dict[str, Scalar] | None) -> dict[str, str]:
    if not raw:
        return {}
    # Fast path: the usual map of strings (msgspec built it fresh, so it can be kept as is).
    if "@class" not in raw:
        for value in raw.values():
            if type(value) is not str:
                break
        else:
            return raw  # type: ignore[return-value]
    # The {"@class": ...} empty-map placeholder, numbers, booleans; a null value means no entry.
    return {k: _text(v) for k, v in raw.items() if v is not None and k != "@class"}


def _data_center(raw: WireDataCenter) -> DataCenterInfo:
    class_name = raw.class_name
    name = raw.name
    if name is None:
        # Third-party payloads may omit either key; the class is the only other hint.
        name = "Amazon" if class_name == AMAZON_CLASS else "MyOwn"
    metadata = raw.metadata
    return DataCenterInfo(name, class_name, None if metadata is None else _metadata(metadata))


def _lease(raw: WireLease) -> LeaseInfo:
    renewal = raw.renewal_interval_in_secs
    duration = raw.duration_in_secs
    last_renewal = raw.last_renewal_timestamp
    if last_renewal is None:
        last_renewal = raw.renewal_timestamp
    registration = raw.registration_timestamp
    eviction = raw.eviction_timestamp
    service_up = raw.service_up_timestamp
    # LeaseInfo.Builder replaces missing and non-positive intervals with the defaults.
    return LeaseInfo(
        renewal if renewal is not None and renewal > 0 else 30,
        duration if duration is not None and duration > 0 else 90,
        0 if registration is None else registration,
        0 if last_renewal is None else last_renewal,
        0 if eviction is None else eviction,
        0 if service_up is None else service_up,
    )


def convert_instance(raw: WireInstance) -> InstanceInfo:
    app = raw.app
    if app is None:
        # InstanceInfo.Builder.build() refuses an instance without app name.
        raise BadInput("instance without app")
    overridden = raw.overridden_status
    legacy = raw.overriddenstatus
    if legacy is not None:
        if overridden is not None and overridden != legacy:
            raise NeedsKeyOrder
        overridden = legacy

    port: WirePort | int | None = raw.port
    port_number, port_enabled = 7001, True
    if isinstance(port, WirePort):
        if port.value is not None:
            port_number = port.value
        if port.enabled is not None:
            port_enabled = port.enabled
    elif port is not None:
        port_number = port
    secure: WirePort | int | None = raw.secure_port
    secure_number, secure_enabled = 7002, False
    if isinstance(secure, WirePort):
        if secure.value is not None:
            secure_number = secure.value
        if secure.enabled is not None:
            secure_enabled = secure.enabled
    elif secure is not None:
        secure_number = secure

    status = raw.status
    group = raw.app_group_name
    country = raw.country_id
    dci = raw.data_center_info
    lease = raw.lease_info
    coordinating = raw.is_coordinating_discovery_server
    updated = raw.last_updated_timestamp
    dirty = raw.last_dirty_timestamp
    action = raw.action_type
    # Positional: msgspec matches keyword arguments by name, which costs ~8x more per instance
    # (checked against the model's field order at import, below).
    return InstanceInfo(
        app.upper(),
        raw.instance_id,
        raw.host_name or None,  # Builder.setHostName ignores a blank value
        raw.ip_addr,
        "na" if raw.sid is None else raw.sid,
        _UP if status is None else _STATUSES.get(status, _UNKNOWN),
        _UNKNOWN if overridden is None else _STATUSES.get(overridden, _UNKNOWN),
        port_number,
        port_enabled,
        secure_number,
        secure_enabled,
        1 if country is None else country,
        None if dci is None else _data_center(dci),
        None if lease is None else _lease(lease),
        _metadata(raw.metadata),
        None if group is None else group.upper(),
        raw.home_page_url,
        raw.status_page_url,
        raw.health_check_url,
        raw.secure_health_check_url,
        raw.vip_address,
        raw.secure_vip_address,
        coordinating is True,
        0 if updated is None else updated,
        0 if dirty is None else dirty,
        None if action is None else _ACTIONS.get(action),
        raw.asg_name,
    )


_POSITIONAL_ORDER: Final = (
    "app",
    "instance_id",
    "host_name",
    "ip_addr",
    "sid",
    "status",
    "overridden_status",
    "port",
    "port_enabled",
    "secure_port",
    "secure_port_enabled",
    "country_id",
    "data_center_info",
    "lease_info",
    "metadata",
    "app_group_name",
    "home_page_url",
    "status_page_url",
    "health_check_url",
    "secure_health_check_url",
    "vip_address",
    "secure_vip_address",
    "is_coordinating_discovery_server",
    "last_updated_timestamp",
    "last_dirty_timestamp",
    "action_type",
    "asg_name",
)
if InstanceInfo.__struct_fields__ != _POSITIONAL_ORDER:  # pragma: no cover - guards a model change
    raise ImportError("eureka.model.InstanceInfo fields changed; update convert_instance")


def convert_application(raw: WireApplication) -> Application:
    if raw.name is None:
        raise BadInput("application without name")
    application = Application(raw.name)
    instances = raw.instance
    if instances is None:
        return application
    if isinstance(instances, WireInstance):
        instances = [instances]
    add = application.add_instance
    for instance in instances:
        add(convert_instance(instance))
    return application


def convert_applications(raw: WireApplications) -> Applications:
    version = raw.versions__delta
    result = Applications(-1 if version is None else version, raw.apps__hashcode)
    applications = raw.application
    if applications is None:
        return result
    if isinstance(applications, WireApplication):
        applications = [applications]
    by_name = result.applications_by_name
    for raw_application in applications:
        application = convert_application(raw_application)
        earlier = by_name.get(application.name.upper())
        if earlier is None:
            result.add_application(application)
        else:
            # Java keeps both entries in its list and a client applies the instances of both;
            # one Application per name can only express that by merging.
            for instance in application:
                earlier.add_instance(instance)
    return result


# ---------------------------------------------------------------------------------------------
# the key-order fallback


def _drop_earlier_overridden(obj: object) -> object:
    """A copy of an instance object keeping only the later overridden-status spelling."""
    if not isinstance(obj, dict) or "overriddenStatus" not in obj or "overriddenstatus" not in obj:
        return obj
    keys = list(obj)
    earlier = min(("overriddenStatus", "overriddenstatus"), key=keys.index)
    return {k: v for k, v in obj.items() if k != earlier}


def _each(value: object, fix: Callable[[object], object]) -> object:
    if isinstance(value, list):
        return [fix(item) for item in value]
    return fix(value)


def _fix_application(obj: object) -> object:
    if isinstance(obj, dict) and "instance" in obj:
        return {**obj, "instance": _each(obj["instance"], _drop_earlier_overridden)}
    return obj


def _fix_applications(obj: object) -> object:
    if isinstance(obj, dict) and "application" in obj:
        return {**obj, "application": _each(obj["application"], _fix_application)}
    return obj


_ROOT_FIXERS: Final[dict[str, Callable[[object], object]]] = {
    "instance": _drop_earlier_overridden,
    "application": _fix_application,
    "applications": _fix_applications,
}


def resolve_overridden_order(document: object, root: str | None) -> Any:
    """Rewrite a generic document so that typed conversion sees only the winning spelling.

    `root` names the wrapper key, or is None for a bare instance object.
    """
    if root is None:
        return _drop_earlier_overridden(document)
    if isinstance(document, dict) and root in document:
        return {**document, root: _ROOT_FIXERS[root](document[root])}
    return document

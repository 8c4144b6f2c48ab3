"""The XML readers: safe parsing with lxml, then a tolerant walk that builds the model.

Safety: entities are never resolved, no DTD is loaded, nothing is fetched from the network, the
tree-size limits of libxml2 stay on (`huge_tree=False`), and any document that carries a DOCTYPE or
an entity declaration is refused outright (billion laughs, external entities). Every failure is a
`BadInput` with a short reason.

Tolerance (what Eureka's XStream converters accept, protocol.md §4.4): elements are matched by
name wherever they appear among their siblings, unknown elements are ignored, statuses are
case-insensitive, both `overriddenstatus` and `overriddenStatus` are read, a missing `enabled`
attribute means enabled for `port` and disabled for `securePort`, the data-center kind is decided
by `name` (`Amazon` in any case), map keys are run back through the XStream name coder, and numbers
may be surrounded by whitespace. The Jackson XML dialects (compact and full) decode with the same
walk, since they use the same element names.

Where Java is laxer than us we are strict on purpose: a number element that is not a decimal
integer within Java's `int`/`long` range is `BadInput` (Java skips a malformed timestamp silently
but fails on a malformed port), and an `<instance>` without `<app>` is `BadInput`, as in Java.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from eureka.codec._xml_names import decode_name
from eureka.errors import BadInput
from eureka.model import (
    ActionType,
    Application,
    Applications,
    DataCenterInfo,
    DataCenterName,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)

__all__ = ["application_from", "applications_from", "instance_from", "parse_document"]

_Element = Any  # lxml.etree._Element; lxml ships no type information

_INT_BITS = 32
_LONG_BITS = 64

# Elements whose text is stored as is (an empty element gives "", as XStream's reader does).
_TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("instanceId", "instance_id"),
    ("ipAddr", "ip_addr"),
    ("sid", "sid"),
    ("homePageUrl", "home_page_url"),
    ("statusPageUrl", "status_page_url"),
    ("healthCheckUrl", "health_check_url"),
    ("secureHealthCheckUrl", "secure_health_check_url"),
    ("vipAddress", "vip_address"),
    ("secureVipAddress", "secure_vip_address"),
    ("asgName", "asg_name"),
)
_STATUSES: dict[str, InstanceStatus] = {status.value: status for status in InstanceStatus}
_DEFAULT_RENEWAL_INTERVAL = LeaseInfo().renewal_interval_in_secs
_DEFAULT_DURATION = LeaseInfo().duration_in_secs

_REASON_LIMIT = 160


def _new_parser(force_utf8: bool, recover: bool) -> Any:
    return etree.XMLParser(
        encoding="utf-8" if force_utf8 else None,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        recover=recover,
    )


def _short(message: object) -> str:
    text = str(message).splitlines()[0] if str(message) else "unknown error"
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 3] + "..."


def _only_namespace_errors(error_log: Any) -> bool:
    entries = list(error_log)
    return bool(entries) and all(entry.domain_name == "NAMESPACE" for entry in entries)


def parse_document(
    data: bytes | bytearray | memoryview | str, max_bytes: int, root: str
) -> _Element:
    """Parse `data` safely and check that its root element is `<root>`."""
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput("document is not valid Unicode") from None
        force_utf8 = True  # the text is already decoded; ignore any declared encoding
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        force_utf8 = False
    else:
        raise BadInput("document must be bytes or text")
    if len(raw) > max_bytes:
        raise BadInput(f"document larger than {max_bytes} bytes")
    # Eureka never writes "<!": no DTDs, comments or CDATA. Only look closer when it is there.
    if b"<!" in raw and (b"<!DOCTYPE" in raw or b"<!ENTITY" in raw):
        raise BadInput("DOCTYPE and entity declarations are not accepted")
    try:
        try:
            element = etree.fromstring(raw, _new_parser(force_utf8, recover=False))
        except etree.XMLSyntaxError as exc:
            # Java writes a metadata key such as `a:b` as a raw element name, which is well-formed
            # XML but an undeclared namespace prefix. Accept that, and only that, by re-parsing in
            # recovery mode and checking that namespaces were the only complaint.
            if not _only_namespace_errors(exc.error_log):
                raise
            recovering = _new_parser(force_utf8, recover=True)
            element = etree.fromstring(raw, recovering)
            if not _only_namespace_errors(recovering.error_log):
                raise
    except etree.XMLSyntaxError as exc:
        raise BadInput(f"malformed XML: {_short(exc.msg or exc)}") from None
    except (etree.LxmlError, ValueError, TypeError) as exc:
        raise BadInput(f"unreadable XML: {_short(exc)}") from None
    if element is None:
        raise BadInput("empty XML document")
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise BadInput("DOCTYPE and entity declarations are not accepted")
    if element.tag != root:
        raise BadInput(f"root element must be <{root}>")
    return element


def _number(text: str | None, tag: str, bits: int) -> int:
    if text is not None:
        digits = text.strip()
        # int() also takes "1_000" and non-ASCII digits; Java's Long.valueOf does not.
        if digits.isascii() and "_" not in digits:
            try:
                value = int(digits)
            except ValueError:
                pass
            else:
                limit = 1 << (bits - 1)
                if -limit <= value < limit:
                    return value
                raise BadInput(f"<{tag}> is out of range")
    raise BadInput(f"<{tag}> is not a number")


def _int(element: _Element, tag: str) -> int:
    text = element.text
    if text is not None and text.isdigit() and text.isascii() and len(text) < 10:
        return int(text)  # fast path: plain digits that fit in a Java int
    return _number(text, tag, _INT_BITS)


def _long(element: _Element, tag: str) -> int:
    text = element.text
    if text is not None and text.isdigit() and text.isascii() and len(text) < 19:
        return int(text)  # fast path: plain digits that fit in a Java long
    return _number(text, tag, _LONG_BITS)


def _status(text: str | None) -> InstanceStatus:
    status = _STATUSES.get(text)  # type: ignore[arg-type]
    return status if status is not None else InstanceStatus.parse_lenient(text or "")


def _boolean(text: str | None) -> bool:
    # Boolean.valueOf: "true" in any case is true, anything else false.
    return text is not None and text.strip().lower() == "true"


def _children(element: _Element) -> dict[str, _Element]:
    # By name; for a repeated element the last one wins, as with the Java converters' setters.
    return {child.tag: child for child in element}


def _map_from(element: _Element) -> dict[str, str]:
    # XStream's MetadataConverter reads the children whatever the `class` attribute says; the
    # EmptyMap placeholder simply has none.
    return {decode_name(child.tag): child.text or "" for child in element}


def _lease_from(element: _Element) -> LeaseInfo:
    get = _children(element).get
    lease = LeaseInfo()
    child = get("renewalIntervalInSecs")
    if child is not None:
        value = _int(child, "renewalIntervalInSecs")
        # LeaseInfo.Builder: a non-positive interval or duration means the default.
        lease.renewal_interval_in_secs = value if value > 0 else _DEFAULT_RENEWAL_INTERVAL
    child = get("durationInSecs")
    if child is not None:
        value = _int(child, "durationInSecs")
        lease.duration_in_secs = value if value > 0 else _DEFAULT_DURATION
    child = get("registrationTimestamp")
    if child is not None:
        lease.registration_timestamp = _long(child, "registrationTimestamp")
    child = get("lastRenewalTimestamp")
    if child is not None:
        lease.last_renewal_timestamp = _long(child, "lastRenewalTimestamp")
    child = get("evictionTimestamp")
    if child is not None:
        lease.eviction_timestamp = _long(child, "evictionTimestamp")
    child = get("serviceUpTimestamp")
    if child is not None:
        lease.service_up_timestamp = _long(child, "serviceUpTimestamp")
    return lease


def _data_center_from(element: _Element) -> DataCenterInfo | None:
    children = _children(element)
    name_element = children.get("name")
    if name_element is None:
        return None  # Java's converter returns null when there is no <name>
    name = (name_element.text or "").strip()
    class_name = element.get("class")
    if name.lower() == "amazon":
        metadata = children.get("metadata")
        return DataCenterInfo(
            DataCenterName.AMAZON.value,
            class_name,
            {} if metadata is None else _map_from(metadata),
        )
    return DataCenterInfo(name, class_name, None)


def instance_from(element: _Element) -> InstanceInfo:
    children = {child.tag: child for child in element}  # _children(), inlined: the hot path
    get = children.get
    child = get("app")
    if child is None:
        raise BadInput("<instance> without <app>")
    fields: dict[str, Any] = {"app": (child.text or "").upper()}
    for tag, field in _TEXT_FIELDS:
        child = get(tag)
        if child is not None:
            fields[field] = child.text or ""
    child = get("hostName")
    if child is not None and child.text:  # InstanceInfo.Builder ignores a blank host name
        fields["host_name"] = child.text
    child = get("status")
    if child is not None:
        fields["status"] = _status(child.text)
    child = _overridden_status(element, children)
    if child is not None:
        fields["overridden_status"] = _status(child.text)
    child = get("port")
    if child is not None:
        fields["port"] = _int(child, "port")
        fields["port_enabled"] = child.get("enabled") != "false"
    child = get("securePort")
    if child is not None:
        fields["secure_port"] = _int(child, "securePort")
        fields["secure_port_enabled"] = child.get("enabled") == "true"
    child = get("countryId")
    if child is not None:
        fields["country_id"] = _int(child, "countryId")
    child = get("dataCenterInfo")
    if child is not None:
        fields["data_center_info"] = _data_center_from(child)
    child = get("leaseInfo")
    if child is not None:
        fields["lease_info"] = _lease_from(child)
    child = get("metadata")
    if child is not None:
        fields["metadata"] = _map_from(child)
    child = get("appGroupName")
    if child is not None:
        fields["app_group_name"] = (child.text or "").upper()
    child = get("isCoordinatingDiscoveryServer")
    if child is not None:
        fields["is_coordinating_discovery_server"] = _boolean(child.text)
    child = get("lastUpdatedTimestamp")
    if child is not None:
        fields["last_updated_timestamp"] = _long(child, "lastUpdatedTimestamp")
    child = get("lastDirtyTimestamp")
    if child is not None:
        fields["last_dirty_timestamp"] = _long(child, "lastDirtyTimestamp")
    child = get("actionType")
    if child is not None:
        fields["action_type"] = ActionType.parse((child.text or "").strip())
    return InstanceInfo(**fields)


def _overridden_status(element: _Element, children: dict[str, _Element]) -> _Element | None:
    lower = children.get("overriddenstatus")
    camel = children.get("overriddenStatus")
    if lower is None or camel is None:
        return lower if camel is None else camel
    return camel if element.index(camel) > element.index(lower) else lower  # the later one wins


def application_from(element: _Element) -> Application:
    application = Application("")
    for child in element:
        tag = child.tag
        if tag == "instance":
            application.add_instance(instance_from(child))
        elif tag == "name":
            application.name = child.text or ""
    return application


def applications_from(element: _Element) -> Applications:
    applications = Applications()
    for child in element:
        tag = child.tag
        if tag == "application":
            applications.add_application(application_from(child))
        elif tag == "versions__delta":
            applications.version = _number(child.text, tag, _LONG_BITS)
        elif tag == "apps__hashcode":
            applications.apps_hashcode = child.text or ""
    return applications

"""Random models survive an XML round trip: everything in full XML, the kept fields in compact."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings

from eureka.codec import xml
from eureka.model import (
    AMAZON_CLASS,
    DEFAULT_DATA_CENTER_CLASS,
    Application,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)
from tests.strategies import applications_payloads, instances

# JacksonXmlMini keeps only these Amazon metadata keys (AbstractEurekaJacksonCodec).
_MINI_AMAZON_KEYS = {
    "instance-id",
    "public-ipv4",
    "public-hostname",
    "local-ipv4",
    "availability-zone",
}
_DEFAULTS = InstanceInfo()


def _xml_safe(text: str) -> str:
    # XML 1.0 cannot carry U+FFFE/U+FFFF; the encoder writes U+FFFD for them (see _xml_escape).
    return text.replace("\ufffe", "\ufffd").replace("\uffff", "\ufffd")


def _opt(text: str | None) -> str | None:
    return None if text is None else _xml_safe(text)


def _as_written(dci: DataCenterInfo | None, *, compact: bool) -> DataCenterInfo | None:
    """The data-center info a decoder sees after our encoder wrote `dci`."""
    if dci is None:
        return None
    if dci.is_amazon:
        metadata = {key: _xml_safe(value) for key, value in (dci.metadata or {}).items()}
        if compact:
            metadata = {key: value for key, value in metadata.items() if key in _MINI_AMAZON_KEYS}
        return DataCenterInfo("Amazon", AMAZON_CLASS, metadata)
    return DataCenterInfo(_xml_safe(dci.name), DEFAULT_DATA_CENTER_CLASS, None)


def _full_expectation(instance: InstanceInfo) -> InstanceInfo:
    return msgspec.structs.replace(
        instance,
        instance_id=_opt(instance.instance_id),
        host_name=_opt(instance.host_name),
        ip_addr=_opt(instance.ip_addr),
        sid=_xml_safe(instance.sid),
        data_center_info=_as_written(instance.data_center_info, compact=False),
        metadata={key: _xml_safe(value) for key, value in instance.metadata.items()},
        home_page_url=_opt(instance.home_page_url),
        status_page_url=_opt(instance.status_page_url),
        health_check_url=_opt(instance.health_check_url),
        secure_health_check_url=_opt(instance.secure_health_check_url),
        vip_address=_opt(instance.vip_address),
        secure_vip_address=_opt(instance.secure_vip_address),
        asg_name=_opt(instance.asg_name),
    )


def _compact_expectation(instance: InstanceInfo) -> InstanceInfo:
    full = _full_expectation(instance)
    return msgspec.structs.replace(
        full,
        # dropped by MiniInstanceInfoMixIn: back to what a decoder assumes when absent
        sid=_DEFAULTS.sid,
        overridden_status=_DEFAULTS.overridden_status,
        country_id=_DEFAULTS.country_id,
        home_page_url=None,
        status_page_url=None,
        health_check_url=None,
        secure_health_check_url=None,
        is_coordinating_discovery_server=False,
        last_dirty_timestamp=_DEFAULTS.last_dirty_timestamp,
        lease_info=None,
        metadata={},
        app_group_name=None,
        data_center_info=_as_written(instance.data_center_info, compact=True),
    )


def _map_registry(applications: Applications, change: object) -> Applications:
    result = Applications(version=applications.version, apps_hashcode=applications.apps_hashcode)
    for application in applications.applications:
        copy = Application(application.name)
        for instance in application:
            copy.add_instance(change(instance))  # type: ignore[operator]
        result.add_application(copy)
    return result


@settings(max_examples=60, deadline=None)
@given(instances())
def test_instance_round_trips(instance: InstanceInfo) -> None:
    assert xml.decode_instance(xml.encode_instance(instance)) == _full_expectation(instance)


@settings(max_examples=60, deadline=None)
@given(instances())
def test_instance_round_trips_through_v1_with_only_status_mapped(instance: InstanceInfo) -> None:
    decoded = xml.decode_instance(xml.encode_instance(instance, v1=True))
    shown = instance.status
    if shown not in (InstanceStatus.UP, InstanceStatus.DOWN, InstanceStatus.STARTING):
        shown = InstanceStatus.DOWN
    assert decoded == msgspec.structs.replace(_full_expectation(instance), status=shown)


@settings(max_examples=40, deadline=None)
@given(applications_payloads())
def test_registry_round_trips_in_full_xml(applications: Applications) -> None:
    decoded = xml.decode_applications(xml.encode_applications(applications))
    assert decoded == _map_registry(applications, _full_expectation)
    # order matters on the wire too: applications and instances come back in sequence
    assert [a.name for a in decoded.applications] == [a.name for a in applications.applications]
    for got, sent in zip(decoded.applications, applications.applications, strict=True):
        assert list(got.instances_by_id) == list(sent.instances_by_id)


@settings(max_examples=40, deadline=None)
@given(applications_payloads())
def test_registry_round_trips_in_compact_xml(applications: Applications) -> None:
    decoded = xml.decode_applications(xml.encode_applications(applications, compact=True))
    assert decoded == _map_registry(applications, _compact_expectation)


@settings(max_examples=30, deadline=None)
@given(applications_payloads())
def test_application_round_trips(applications: Applications) -> None:
    for application in applications.applications:
        decoded = xml.decode_application(xml.encode_application(application))
        expected = Application(application.name)
        for instance in application:
            expected.add_instance(_full_expectation(instance))
        assert decoded == expected


def test_lease_defaults_survive() -> None:
    instance = InstanceInfo(app="A", host_name="h", lease_info=LeaseInfo())
    assert xml.decode_instance(xml.encode_instance(instance)).lease_info == LeaseInfo()

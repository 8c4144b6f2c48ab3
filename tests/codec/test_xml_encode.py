"""XML encoding rules beyond what the Java fixtures exercise (those are in tests/compat)."""

from __future__ import annotations

import pytest
from lxml import etree

from eureka.codec import xml
from eureka.model import (
    AMAZON_CLASS,
    DEFAULT_DATA_CENTER_CLASS,
    ActionType,
    Application,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)


def _instance(**changes: object) -> InstanceInfo:
    fields: dict[str, object] = {
        "app": "DEMO",
        "instance_id": "10.0.0.5:demo:8080",
        "host_name": "10.0.0.5",
        "ip_addr": "10.0.0.5",
        "port": 8080,
        "secure_port": 443,
        "data_center_info": DataCenterInfo("MyOwn", DEFAULT_DATA_CENTER_CLASS),
        "lease_info": LeaseInfo(registration_timestamp=5, last_renewal_timestamp=6),
        "vip_address": "demo",
        "last_updated_timestamp": 7,
        "last_dirty_timestamp": 8,
        "action_type": ActionType.ADDED,
    }
    fields.update(changes)
    return InstanceInfo(**fields)  # type: ignore[arg-type]


def _children(document: bytes) -> list[str]:
    return [child.tag for child in etree.fromstring(document)]


def test_empty_string_is_an_open_close_pair_and_none_is_left_out() -> None:
    document = xml.encode_instance(_instance(app_group_name="", home_page_url=None))
    assert b"\n  <appGroupName></appGroupName>\n" in document
    assert b"homePageUrl" not in document


def test_missing_host_and_ip_are_self_closed() -> None:
    document = xml.encode_instance(_instance(host_name=None, ip_addr=None))
    assert b"\n  <hostName/>\n" in document
    assert b"\n  <ipAddr/>\n" in document


def test_missing_instance_id_lease_and_data_center_are_left_out() -> None:
    document = xml.encode_instance(
        _instance(instance_id=None, lease_info=None, data_center_info=None)
    )
    tags = _children(document)
    assert "instanceId" not in tags
    assert "leaseInfo" not in tags
    assert "dataCenterInfo" not in tags
    assert tags[0] == "hostName"


@pytest.mark.parametrize(("sid", "written"), [("na", False), ("unknown", False), ("s-1", True)])
def test_sid_is_written_only_when_meaningful(sid: str, written: bool) -> None:
    assert ("sid" in _children(xml.encode_instance(_instance(sid=sid)))) is written


def test_empty_metadata_is_the_empty_map_placeholder() -> None:
    document = xml.encode_instance(_instance(metadata={}))
    assert b'\n  <metadata class="java.util.Collections$EmptyMap"/>\n' in document


def test_metadata_keys_go_through_the_name_coder_and_values_are_escaped() -> None:
    document = xml.encode_instance(_instance(metadata={"my_key": "a<b", "x$y": "1"}))
    assert b"\n    <my__key>a&lt;b</my__key>\n    <x_-y>1</x_-y>\n  </metadata>" in document
    assert xml.decode_instance(document).metadata == {"my_key": "a<b", "x$y": "1"}


def test_metadata_entry_with_empty_key_cannot_be_written_and_is_dropped() -> None:
    only_empty = xml.encode_instance(_instance(metadata={"": "v"}))
    assert b'<metadata class="java.util.Collections$EmptyMap"/>' in only_empty
    mixed = xml.encode_instance(_instance(metadata={"": "v", "k": "w"}))
    assert xml.decode_instance(mixed).metadata == {"k": "w"}


def test_amazon_data_center_with_its_metadata() -> None:
    dci = DataCenterInfo("amazon", None, {"instance-id": "i-1", "availability-zone": "z"})
    document = xml.encode_instance(_instance(data_center_info=dci))
    expected = (
        f'\n  <dataCenterInfo class="{AMAZON_CLASS}">\n    <name>Amazon</name>\n    <metadata>'
        "\n      <instance-id>i-1</instance-id>\n      <availability-zone>z</availability-zone>"
        "\n    </metadata>\n  </dataCenterInfo>\n"
    )
    assert expected.encode() in document


def test_amazon_without_metadata_writes_the_empty_map_placeholder() -> None:
    document = xml.encode_instance(_instance(data_center_info=DataCenterInfo("Amazon", None, {})))
    assert (
        b'<name>Amazon</name>\n    <metadata class="java.util.Collections$EmptyMap"/>' in document
    )


def test_non_amazon_data_center_always_gets_the_default_class() -> None:
    dci = DataCenterInfo("Netflix", "com.netflix.appinfo.MyDataCenterInfo")
    document = xml.encode_instance(_instance(data_center_info=dci))
    expected = f'<dataCenterInfo class="{DEFAULT_DATA_CENTER_CLASS}">\n    <name>Netflix</name>'
    assert expected.encode() in document


@pytest.mark.parametrize(
    ("status", "v1_status"),
    [
        (InstanceStatus.UP, "UP"),
        (InstanceStatus.DOWN, "DOWN"),
        (InstanceStatus.STARTING, "STARTING"),
        (InstanceStatus.OUT_OF_SERVICE, "DOWN"),
        (InstanceStatus.UNKNOWN, "DOWN"),
    ],
)
def test_v1_rendering_maps_only_the_status(status: InstanceStatus, v1_status: str) -> None:
    instance = _instance(status=status, overridden_status=status)
    v1 = etree.fromstring(xml.encode_instance(instance, v1=True))
    v2 = etree.fromstring(xml.encode_instance(instance))
    assert v1.findtext("status") == v1_status
    assert v2.findtext("status") == status.value
    assert v1.findtext("overriddenstatus") == status.value


def test_compact_keeps_only_the_mini_fields_and_ignores_v1() -> None:
    dci = DataCenterInfo(
        "Amazon", AMAZON_CLASS, {"ami-id": "a", "instance-id": "i-1", "local-ipv4": "10.0.0.1"}
    )
    instance = _instance(
        status=InstanceStatus.OUT_OF_SERVICE,
        data_center_info=dci,
        metadata={"k": "v"},
        sid="s-1",
        app_group_name="G",
        home_page_url="h",
        asg_name="asg",
    )
    fragment = xml.encode_instance_fragment(instance, compact=True, v1=True)
    assert fragment == (
        b"<instance><instanceId>10.0.0.5:demo:8080</instanceId><app>DEMO</app>"
        b"<ipAddr>10.0.0.5</ipAddr><vipAddress>demo</vipAddress>"
        b'<dataCenterInfo class="com.netflix.appinfo.AmazonInfo"><name>Amazon</name>'
        b"<metadata><instance-id>i-1</instance-id><local-ipv4>10.0.0.1</local-ipv4></metadata>"
        b"</dataCenterInfo><hostName>10.0.0.5</hostName><status>OUT_OF_SERVICE</status>"
        b"<lastUpdatedTimestamp>7</lastUpdatedTimestamp><actionType>ADDED</actionType>"
        b'<asgName>asg</asgName><port enabled="true">8080</port>'
        b'<securePort enabled="false">443</securePort></instance>'
    )


def _registry() -> Applications:
    amazon = DataCenterInfo(
        "Amazon", AMAZON_CLASS, {"instance-id": "i-9", "public-ipv4": "1.2.3.4"}
    )
    return Applications.of(
        [
            _instance(),
            _instance(instance_id="b", status=InstanceStatus.OUT_OF_SERVICE),
            _instance(app="OTHER", instance_id="c", data_center_info=amazon, metadata={"a_b": "&"}),
        ],
        version=3,
        apps_hashcode="OUT_OF_SERVICE_1_UP_2_",
    )


def _pieces(
    applications: Applications, depth: int, **options: bool
) -> list[tuple[str, list[bytes]]]:
    return [
        (
            application.name,
            [xml.encode_instance_fragment(i, depth=depth, **options) for i in application],
        )
        for application in applications.applications
    ]


@pytest.mark.parametrize("options", [{}, {"v1": True}, {"compact": True}])
def test_join_applications_equals_encode_applications(options: dict[str, bool]) -> None:
    registry = _registry()
    registry.add_application(Application("EMPTY"))  # an application left without instances
    compact = options.get("compact", False)
    pieces = _pieces(registry, 2, **options)  # v1 lives in the fragments, not in the join
    joined = xml.join_applications(3, "OUT_OF_SERVICE_1_UP_2_", pieces, compact=compact)
    assert joined == xml.encode_applications(registry, **options)


@pytest.mark.parametrize("compact", [False, True])
def test_join_of_an_empty_registry_equals_encode(compact: bool) -> None:
    empty = Applications(version=1, apps_hashcode="")
    assert xml.join_applications(1, "", [], compact=compact) == xml.encode_applications(
        empty, compact=compact
    )


def test_compact_registry_flags_registered_applications_empty() -> None:
    assert b"<registeredApplicationsEmpty>true<" in xml.encode_applications(
        Applications(version=1, apps_hashcode=""), compact=True
    )
    assert b"<registeredApplicationsEmpty>false<" in xml.encode_applications(
        _registry(), compact=True
    )


@pytest.mark.parametrize("v1", [False, True])
def test_join_application_equals_encode_application(v1: bool) -> None:
    application = _registry().applications[0]
    fragments = [xml.encode_instance_fragment(i, depth=1, v1=v1) for i in application]
    assert xml.join_application(application.name, fragments) == xml.encode_application(
        application, v1=v1
    )


def test_fragment_at_depth_zero_is_the_instance_document() -> None:
    instance = _instance(status=InstanceStatus.UNKNOWN)
    assert xml.encode_instance_fragment(instance, depth=0) == xml.encode_instance(instance)
    assert xml.encode_instance_fragment(instance, depth=0, v1=True) == xml.encode_instance(
        instance, v1=True
    )


def test_fragment_indentation_follows_depth() -> None:
    fragment = xml.encode_instance_fragment(_instance(), depth=2)
    assert fragment.startswith(b"    <instance>\n      <instanceId>")
    assert fragment.endswith(b"\n      <actionType>ADDED</actionType>\n    </instance>")


def test_missing_hash_code_is_left_out() -> None:
    document = xml.encode_applications(Applications(version=-1))
    assert document == b"<applications>\n  <versions__delta>-1</versions__delta>\n</applications>"
    assert b"apps__hashcode" not in xml.encode_applications(Applications(), compact=True)


def test_output_is_utf8_without_declaration_or_trailing_newline() -> None:
    document = xml.encode_instance(_instance(vip_address="caf\u00e9"))
    assert document.startswith(b"<instance>\n")
    assert document.endswith(b"</instance>")
    assert "<vipAddress>caf\u00e9</vipAddress>".encode() in document

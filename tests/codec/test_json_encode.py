"""Encoder rules of protocol.md §4.1 / §4.3 (as corrected by fixtures/java), one rule per test.

Documents are parsed with key order kept (`pairs`), so tests state exactly which keys appear, in
which order and with which JSON types.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from eureka.codec import json as codec
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

FULL_ORDER = [
    "instanceId",
    "hostName",
    "app",
    "ipAddr",
    "sid",
    "status",
    "overriddenStatus",
    "port",
    "securePort",
    "countryId",
    "dataCenterInfo",
    "leaseInfo",
    "metadata",
    "appGroupName",
    "homePageUrl",
    "statusPageUrl",
    "healthCheckUrl",
    "secureHealthCheckUrl",
    "vipAddress",
    "secureVipAddress",
    "isCoordinatingDiscoveryServer",
    "lastUpdatedTimestamp",
    "lastDirtyTimestamp",
    "actionType",
    "asgName",
]
MINI_ORDER = [
    "instanceId",
    "app",
    "ipAddr",
    "vipAddress",
    "secureVipAddress",
    "dataCenterInfo",
    "hostName",
    "status",
    "lastUpdatedTimestamp",
    "actionType",
    "asgName",
    "port",
    "securePort",
]
AMAZON_METADATA = {
    "local-hostname": "ip-10-0-2-21.ec2.internal",
    "instance-id": "i-1",
    "public-ipv4": "54.0.0.21",
    "availability-zone": "us-east-1c",
    "instance-type": "m5.large",
    "public-hostname": "ec2-54.example",
    "local-ipv4": "10.0.2.21",
}


def pairs(data: bytes) -> Any:
    return json.loads(data, object_pairs_hook=list)


def as_dict(data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(data)
    return result


def everything() -> InstanceInfo:
    """An instance with every optional field set."""
    return InstanceInfo(
        app="ORDER-SERVICE",
        instance_id="10.0.1.11:order-service:8080",
        host_name="10.0.1.11",
        ip_addr="10.0.1.11",
        sid="sid-1",
        status=InstanceStatus.DOWN,
        overridden_status=InstanceStatus.OUT_OF_SERVICE,
        port=8080,
        port_enabled=True,
        secure_port=443,
        secure_port_enabled=False,
        country_id=2,
        data_center_info=DataCenterInfo("MyOwn", DEFAULT_DATA_CENTER_CLASS),
        lease_info=LeaseInfo(30, 90, 1, 2, 3, 4),
        metadata={"management.port": "8080"},
        app_group_name="ORDERS",
        home_page_url="http://h/",
        status_page_url="http://h/info",
        health_check_url="http://h/health",
        secure_health_check_url="https://h/health",
        vip_address="order-service",
        secure_vip_address="order-service-secure",
        is_coordinating_discovery_server=True,
        last_updated_timestamp=1754500000000,
        last_dirty_timestamp=1754499990000,
        action_type=ActionType.MODIFIED,
        asg_name="asg-1",
    )


def bare() -> InstanceInfo:
    """Only what a registration must carry; every optional field None."""
    return InstanceInfo(app="DEMO", host_name="h1", ip_addr="10.0.0.1")


# ---------------------------------------------------------------------------------------------
# dialect A


def test_full_instance_key_order_and_types() -> None:
    document = pairs(codec.encode_instance(everything()))
    assert [k for k, _ in document] == ["instance"]
    body = dict(document[0][1])
    assert [k for k, _ in document[0][1]] == FULL_ORDER
    assert body["port"] == [("$", 8080), ("@enabled", "true")]
    assert body["securePort"] == [("$", 443), ("@enabled", "false")]
    assert body["countryId"] == 2
    assert body["isCoordinatingDiscoveryServer"] == "true"
    assert body["lastUpdatedTimestamp"] == "1754500000000"
    assert body["lastDirtyTimestamp"] == "1754499990000"
    assert body["leaseInfo"] == [
        ("renewalIntervalInSecs", 30),
        ("durationInSecs", 90),
        ("registrationTimestamp", 1),
        ("lastRenewalTimestamp", 2),
        ("evictionTimestamp", 3),
        ("serviceUpTimestamp", 4),
    ]
    assert body["dataCenterInfo"] == [("@class", DEFAULT_DATA_CENTER_CLASS), ("name", "MyOwn")]
    assert body["status"] == "DOWN" and body["overriddenStatus"] == "OUT_OF_SERVICE"
    assert body["actionType"] == "MODIFIED"


def test_no_whitespace() -> None:
    data = codec.encode_instance(everything())
    assert b" " not in data and b"\n" not in data


def test_optional_fields_are_omitted_when_none() -> None:
    body = pairs(codec.encode_instance(bare()))[0][1]
    assert [k for k, _ in body] == [
        "hostName",
        "app",
        "ipAddr",
        "status",
        "overriddenStatus",
        "port",
        "securePort",
        "countryId",
        "metadata",
        "isCoordinatingDiscoveryServer",
        "lastUpdatedTimestamp",
        "lastDirtyTimestamp",
    ]


def test_empty_strings_are_written() -> None:
    instance = bare()
    instance.secure_health_check_url = ""
    assert as_dict(codec.encode_instance(instance))["instance"]["secureHealthCheckUrl"] == ""


def test_missing_host_name_is_written_as_null_like_java() -> None:
    instance = bare()
    instance.host_name = None
    instance.ip_addr = None
    body = as_dict(codec.encode_instance(instance))["instance"]
    assert body["hostName"] is None and body["ipAddr"] is None


@pytest.mark.parametrize(("sid", "written"), [("na", False), ("unknown", False), ("s1", True)])
def test_sid_only_when_meaningful(sid: str, written: bool) -> None:
    instance = bare()
    instance.sid = sid
    body = as_dict(codec.encode_instance(instance))["instance"]
    assert ("sid" in body) is written
    if written:
        assert body["sid"] == sid


def test_empty_metadata_is_the_java_placeholder() -> None:
    body = as_dict(codec.encode_instance(bare()))["instance"]
    assert body["metadata"] == {"@class": "java.util.Collections$EmptyMap"}


def test_metadata_order_is_kept() -> None:
    instance = bare()
    instance.metadata = {"z": "1", "a": "2"}
    assert pairs(codec.encode_instance(instance))[0][1][8] == ("metadata", [("z", "1"), ("a", "2")])


def test_amazon_data_center_info() -> None:
    instance = bare()
    instance.data_center_info = DataCenterInfo("Amazon", AMAZON_CLASS, dict(AMAZON_METADATA))
    dci = dict(pairs(codec.encode_instance(instance))[0][1])["dataCenterInfo"]
    assert dci == [
        ("@class", AMAZON_CLASS),
        ("name", "Amazon"),
        ("metadata", list(AMAZON_METADATA.items())),
    ]


def test_amazon_without_metadata_writes_an_empty_map() -> None:
    instance = bare()
    instance.data_center_info = DataCenterInfo("Amazon", None, None)
    dci = as_dict(codec.encode_instance(instance))["instance"]["dataCenterInfo"]
    assert dci == {"@class": AMAZON_CLASS, "name": "Amazon", "metadata": {}}


@pytest.mark.parametrize(
    "dci",
    [
        DataCenterInfo("Netflix", DEFAULT_DATA_CENTER_CLASS),
        DataCenterInfo("MyOwn", "com.netflix.appinfo.MyDataCenterInfo", {"stray": "x"}),
        DataCenterInfo("MyOwn", None),
    ],
)
def test_every_non_amazon_info_is_written_as_default_data_center_info(dci: DataCenterInfo) -> None:
    instance = bare()
    instance.data_center_info = dci
    body = as_dict(codec.encode_instance(instance))["instance"]
    assert body["dataCenterInfo"] == {"@class": DEFAULT_DATA_CENTER_CLASS, "name": dci.name}


def test_special_characters_are_escaped() -> None:
    instance = bare()
    instance.metadata = {"q": 'a"b\\c\n\t\x01', "u": "Zoë ☃ \u2028"}
    data = codec.encode_instance(instance)
    assert "Zoë ☃".encode() in data  # UTF-8, not \u escapes, as Jackson writes
    assert codec.decode_instance(data).metadata == instance.metadata


def test_application_document() -> None:
    application = Application("DEMO")
    first, second = bare(), bare()
    second.host_name = "h2"
    application.add_instance(first)
    application.add_instance(second)
    document = pairs(codec.encode_application(application))
    assert [k for k, _ in document] == ["application"]
    body = document[0][1]
    assert [k for k, _ in body] == ["name", "instance"]
    assert [dict(i)["hostName"] for i in body[1][1]] == ["h1", "h2"]


def test_applications_document_always_uses_arrays() -> None:
    registry = Applications.of([bare()], version=3, apps_hashcode="UP_1_")
    body = pairs(codec.encode_applications(registry))[0][1]
    assert [k for k, _ in body] == ["versions__delta", "apps__hashcode", "application"]
    assert body[0] == ("versions__delta", "3")
    assert body[1] == ("apps__hashcode", "UP_1_")
    [application] = body[2][1]
    assert isinstance(dict(application)["instance"], list)


def test_applications_without_hash_write_null() -> None:
    """EurekaJacksonCodec writes the field with writeStringField, i.e. null when unset."""
    document = as_dict(codec.encode_applications(Applications(version=-1)))
    assert document == {
        "applications": {"versions__delta": "-1", "apps__hashcode": None, "application": []}
    }


# ---------------------------------------------------------------------------------------------
# compact (JacksonJsonMini)


def test_compact_instance_keys_and_types() -> None:
    instance = everything()
    instance.data_center_info = DataCenterInfo("Amazon", AMAZON_CLASS, dict(AMAZON_METADATA))
    body = pairs(codec.encode_instance_fragment(instance, compact=True))
    assert [k for k, _ in body] == MINI_ORDER
    values = dict(body)
    assert values["lastUpdatedTimestamp"] == 1754500000000  # a number here
    assert values["port"] == [("$", 8080), ("@enabled", "true")]
    metadata = dict(values["dataCenterInfo"])["metadata"]
    assert [k for k, _ in metadata] == [
        "instance-id",
        "public-ipv4",
        "availability-zone",
        "public-hostname",
        "local-ipv4",
    ]


def test_compact_omits_nulls() -> None:
    body = pairs(codec.encode_instance_fragment(bare(), compact=True))
    assert [k for k, _ in body] == [
        "app",
        "ipAddr",
        "hostName",
        "status",
        "lastUpdatedTimestamp",
        "port",
        "securePort",
    ]


def test_compact_applications_document() -> None:
    registry = Applications.of([bare()], version=1, apps_hashcode="UP_1_")
    body = pairs(codec.encode_applications(registry, compact=True))[0][1]
    assert [k for k, _ in body] == [
        "application",
        "registeredApplicationsEmpty",
        "versions__delta",
        "apps__hashcode",
    ]
    assert body[1] == ("registeredApplicationsEmpty", False)
    assert body[2] == ("versions__delta", "1")
    empty = as_dict(codec.encode_applications(Applications(version=1), compact=True))
    assert empty["applications"]["registeredApplicationsEmpty"] is True
    no_hash = as_dict(codec.encode_applications(Applications(version=1), compact=True))
    assert "apps__hashcode" not in no_hash["applications"]


# ---------------------------------------------------------------------------------------------
# fragments and joins


def _registry() -> Applications:
    instances = [everything(), bare()]
    amazon = bare()
    amazon.app = "PAYMENTS"
    amazon.data_center_info = DataCenterInfo("Amazon", AMAZON_CLASS, dict(AMAZON_METADATA))
    instances.append(amazon)
    return Applications.of(instances, version=7, apps_hashcode="DOWN_1_UP_2_")


@pytest.mark.parametrize("compact", [False, True])
def test_join_applications_equals_encode_applications(compact: bool) -> None:
    registry = _registry()
    apps = [
        (a.name, [codec.encode_instance_fragment(i, compact=compact) for i in a])
        for a in registry.applications
    ]
    assert registry.apps_hashcode is not None
    joined = codec.join_applications(
        registry.version, registry.apps_hashcode, apps, compact=compact
    )
    assert joined == codec.encode_applications(registry, compact=compact)


@pytest.mark.parametrize("compact", [False, True])
def test_join_applications_of_an_empty_registry(compact: bool) -> None:
    expected = codec.encode_applications(Applications(version=1, apps_hashcode=""), compact=compact)
    assert codec.join_applications(1, "", [], compact=compact) == expected


def test_join_applications_accepts_a_generator() -> None:
    registry = _registry()
    assert registry.apps_hashcode is not None
    apps = ((a.name, [codec.encode_instance_fragment(i) for i in a]) for a in registry.applications)
    joined = codec.join_applications(registry.version, registry.apps_hashcode, apps)
    assert joined == codec.encode_applications(registry)


def test_join_application_equals_encode_application() -> None:
    application = next(iter(_registry().applications))
    fragments = [codec.encode_instance_fragment(i) for i in application]
    assert codec.join_application(application.name, fragments) == codec.encode_application(
        application
    )


def test_encode_instance_wraps_the_fragment() -> None:
    instance = everything()
    fragment = codec.encode_instance_fragment(instance)
    assert codec.encode_instance(instance) == b'{"instance":' + fragment + b"}"


def test_instance_to_obj_is_the_fragment_as_plain_data() -> None:
    instance = everything()
    obj = codec.instance_to_obj(instance)
    assert json.dumps(obj, separators=(",", ":")).encode() == codec.encode_instance_fragment(
        instance
    )
    obj["metadata"]["new"] = "x"
    assert "new" not in instance.metadata
    assert codec.instance_from_obj(obj).app == "ORDER-SERVICE"

"""Decoder leniency rules of protocol.md §4.2, one rule per test, on small hand-written payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eureka.codec import json as codec
from eureka.errors import BadInput
from eureka.model import (
    AMAZON_CLASS,
    DEFAULT_DATA_CENTER_CLASS,
    ActionType,
    InstanceStatus,
)

MINIMAL: dict[str, Any] = {"app": "demo", "hostName": "h1", "ipAddr": "10.0.0.1"}


def instance(**fields: Any) -> bytes:
    return json.dumps({"instance": {**MINIMAL, **fields}}).encode()


def raw_instance(body: str) -> bytes:
    """For payloads json.dumps cannot express: duplicate keys, exact key order."""
    return ('{"instance":{' + body + "}}").encode()


# ---------------------------------------------------------------------------------------------
# defaults when keys are absent (§3.1)


def test_absent_keys_take_the_java_defaults() -> None:
    decoded = codec.decode_instance(instance())
    assert decoded.app == "DEMO"
    assert decoded.instance_id is None
    assert decoded.id == "h1"  # effective id falls back on hostName
    assert decoded.status is InstanceStatus.UP
    assert decoded.overridden_status is InstanceStatus.UNKNOWN
    assert (decoded.port, decoded.port_enabled) == (7001, True)
    assert (decoded.secure_port, decoded.secure_port_enabled) == (7002, False)
    assert decoded.sid == "na"
    assert decoded.country_id == 1
    assert decoded.data_center_info is None
    assert decoded.lease_info is None
    assert decoded.metadata == {}
    assert decoded.action_type is None
    assert decoded.is_coordinating_discovery_server is False
    assert decoded.last_updated_timestamp == 0 == decoded.last_dirty_timestamp


def test_explicit_nulls_mean_absent() -> None:
    decoded = codec.decode_instance(
        instance(status=None, port=None, countryId=None, metadata=None, leaseInfo=None, sid=None)
    )
    assert decoded.status is InstanceStatus.UP
    assert decoded.port == 7001
    assert decoded.country_id == 1
    assert decoded.metadata == {}
    assert decoded.lease_info is None
    assert decoded.sid == "na"


def test_amazon_instance_without_instance_id_uses_the_amazon_id() -> None:
    dci = {"@class": AMAZON_CLASS, "name": "Amazon", "metadata": {"instance-id": "i-42"}}
    assert codec.decode_instance(instance(dataCenterInfo=dci)).id == "i-42"


# ---------------------------------------------------------------------------------------------
# statuses and action types


@pytest.mark.parametrize("status", list(InstanceStatus))
def test_known_statuses(status: InstanceStatus) -> None:
    decoded = codec.decode_instance(instance(status=status.value, overriddenStatus=status.value))
    assert decoded.status is status
    assert decoded.overridden_status is status


@pytest.mark.parametrize("text", ["up", "RUNNING", ""])
def test_unknown_status_is_unknown(text: str) -> None:
    """Exact-case match, as Java's JSON decoder does."""
    assert codec.decode_instance(instance(status=text)).status is InstanceStatus.UNKNOWN


def test_unknown_action_type_is_none() -> None:
    assert codec.decode_instance(instance(actionType="RENAMED")).action_type is None
    assert codec.decode_instance(instance(actionType="DELETED")).action_type is ActionType.DELETED


def test_legacy_lower_case_overridden_status() -> None:
    decoded = codec.decode_instance(instance(overriddenstatus="OUT_OF_SERVICE"))
    assert decoded.overridden_status is InstanceStatus.OUT_OF_SERVICE


@pytest.mark.parametrize(
    ("first", "second", "winner"),
    [
        ('"overriddenStatus":"DOWN"', '"overriddenstatus":"OUT_OF_SERVICE"', "OUT_OF_SERVICE"),
        ('"overriddenstatus":"DOWN"', '"overriddenStatus":"OUT_OF_SERVICE"', "OUT_OF_SERVICE"),
        ('"overriddenStatus":"UP"', '"overriddenstatus":"UP"', "UP"),
    ],
)
def test_later_overridden_status_spelling_wins(first: str, second: str, winner: str) -> None:
    body = f'"app":"A","hostName":"h",{first},"status":"UP",{second}'
    assert codec.decode_instance(raw_instance(body)).overridden_status.value == winner
    # ... also inside application and applications documents, and for bare objects
    app = f'{{"application":{{"name":"A","instance":[{{{body}}}]}}}}'.encode()
    assert codec.decode_application(app).instances[0].overridden_status.value == winner
    apps = f'{{"applications":{{"application":{{"name":"A","instance":{{{body}}}}}}}}}'.encode()
    decoded = codec.decode_applications(apps)
    assert next(decoded.iter_instances()).overridden_status.value == winner
    obj = json.loads("{" + body + "}")
    assert codec.instance_from_obj(obj).overridden_status.value == winner


# ---------------------------------------------------------------------------------------------
# numbers and booleans in their various spellings


@pytest.mark.parametrize(
    "port",
    [
        {"$": 8080, "@enabled": "true"},  # dialect A
        {"@enabled": True, "$": "8080"},  # Jettison
        {"$": "8080", "@enabled": "TRUE"},
        8080,  # a bare number, as some non-Java clients send
        "8080",
    ],
)
def test_port_spellings(port: Any) -> None:
    decoded = codec.decode_instance(instance(port=port))
    assert (decoded.port, decoded.port_enabled) == (8080, True)


def test_port_enabled_false_and_missing_enabled() -> None:
    decoded = codec.decode_instance(
        instance(port={"$": 81, "@enabled": "false"}, securePort={"$": 444})
    )
    assert (decoded.port, decoded.port_enabled) == (81, False)
    assert (decoded.secure_port, decoded.secure_port_enabled) == (444, False)


def test_numbers_as_strings_and_booleans_as_strings() -> None:
    decoded = codec.decode_instance(
        instance(
            countryId="2",
            isCoordinatingDiscoveryServer="true",
            lastUpdatedTimestamp="1754500000000",
            lastDirtyTimestamp=1754499990000,
        )
    )
    assert decoded.country_id == 2
    assert decoded.is_coordinating_discovery_server is True
    assert decoded.last_updated_timestamp == 1754500000000
    assert decoded.last_dirty_timestamp == 1754499990000


def test_versions_delta_as_number_or_string_or_absent() -> None:
    assert codec.decode_applications(b'{"applications":{"versions__delta":5}}').version == 5
    assert codec.decode_applications(b'{"applications":{"versions__delta":"-1"}}').version == -1
    absent = codec.decode_applications(b'{"applications":{"application":[]}}')
    assert absent.version == -1
    assert absent.apps_hashcode is None
    assert codec.decode_applications(b'{"applications":{"apps__hashcode":""}}').apps_hashcode == ""


# ---------------------------------------------------------------------------------------------
# strings


def test_app_and_app_group_are_upper_cased() -> None:
    decoded = codec.decode_instance(instance(app="order-service", appGroupName="payments"))
    assert decoded.app == "ORDER-SERVICE"
    assert decoded.app_group_name == "PAYMENTS"


def test_blank_host_name_is_ignored() -> None:
    assert codec.decode_instance(instance(hostName="")).host_name is None


def test_empty_strings_are_kept_for_other_fields() -> None:
    """The real server echoes `"secureHealthCheckUrl": ""` (http/33)."""
    decoded = codec.decode_instance(instance(secureHealthCheckUrl="", instanceId=""))
    assert decoded.secure_health_check_url == ""
    assert decoded.instance_id == ""
    assert decoded.id == "h1"


def test_sid_is_kept() -> None:
    assert codec.decode_instance(instance(sid="sid-7")).sid == "sid-7"


def test_text_input_and_byte_order_mark() -> None:
    text = instance().decode()
    assert codec.decode_instance(text).app == "DEMO"
    assert codec.decode_instance(b"\xef\xbb\xbf" + instance()).app == "DEMO"
    assert codec.decode_instance("\ufeff" + text).app == "DEMO"


def test_non_ascii_text() -> None:
    decoded = codec.decode_instance(instance(metadata={"owner": "Zoë ☃"}, vipAddress="ü"))
    assert decoded.metadata == {"owner": "Zoë ☃"}
    assert decoded.vip_address == "ü"


# ---------------------------------------------------------------------------------------------
# metadata


def test_metadata_skips_class_placeholder_and_coerces_scalars() -> None:
    metadata = {"@class": "java.util.Collections$EmptyMap", "a": 1, "b": True, "c": 1.5, "d": None}
    decoded = codec.decode_instance(instance(metadata=metadata))
    assert decoded.metadata == {"a": "1", "b": "true", "c": "1.5"}


def test_metadata_keeps_order() -> None:
    body = '"app":"A","hostName":"h","metadata":{"z":"1","a":"2","m":"3"}'
    assert list(codec.decode_instance(raw_instance(body)).metadata) == ["z", "a", "m"]


def test_nested_metadata_value_is_bad_input() -> None:
    with pytest.raises(BadInput):
        codec.decode_instance(instance(metadata={"a": {"b": "c"}}))


# ---------------------------------------------------------------------------------------------
# data-center info


def test_data_center_class_may_be_missing() -> None:
    plain = codec.decode_instance(instance(dataCenterInfo={"name": "MyOwn"})).data_center_info
    assert plain is not None
    assert (plain.name, plain.class_name, plain.is_amazon) == ("MyOwn", None, False)
    amazon = codec.decode_instance(
        instance(dataCenterInfo={"name": "Amazon", "metadata": {"instance-id": "i-1"}})
    ).data_center_info
    assert amazon is not None and amazon.is_amazon
    assert amazon.metadata == {"instance-id": "i-1"}


def test_data_center_name_may_be_missing() -> None:
    amazon = codec.decode_instance(
        instance(dataCenterInfo={"@class": AMAZON_CLASS, "metadata": {"instance-id": "i-1"}})
    ).data_center_info
    assert amazon is not None and amazon.name == "Amazon" and amazon.is_amazon
    plain = codec.decode_instance(
        instance(dataCenterInfo={"@class": DEFAULT_DATA_CENTER_CLASS})
    ).data_center_info
    assert plain is not None and plain.name == "MyOwn"


def test_unknown_data_center_class_is_kept() -> None:
    dci = {"@class": "com.netflix.appinfo.MyDataCenterInfo", "name": "MyOwn"}
    decoded = codec.decode_instance(instance(dataCenterInfo=dci)).data_center_info
    assert decoded is not None and decoded.class_name == "com.netflix.appinfo.MyDataCenterInfo"


# ---------------------------------------------------------------------------------------------
# lease info


def test_non_positive_lease_intervals_take_defaults() -> None:
    lease = {"renewalIntervalInSecs": 0, "durationInSecs": -5}
    decoded = codec.decode_instance(instance(leaseInfo=lease)).lease_info
    assert decoded is not None
    assert (decoded.renewal_interval_in_secs, decoded.duration_in_secs) == (30, 90)


def test_lease_values_and_legacy_renewal_timestamp() -> None:
    lease = {
        "renewalIntervalInSecs": 10,
        "durationInSecs": "20",
        "registrationTimestamp": 1,
        "renewalTimestamp": 2,
        "evictionTimestamp": "3",
        "serviceUpTimestamp": 4,
    }
    decoded = codec.decode_instance(instance(leaseInfo=lease)).lease_info
    assert decoded is not None
    assert (decoded.renewal_interval_in_secs, decoded.duration_in_secs) == (10, 20)
    assert decoded.registration_timestamp == 1
    assert decoded.last_renewal_timestamp == 2
    assert decoded.eviction_timestamp == 3
    assert decoded.service_up_timestamp == 4
    both = codec.decode_instance(
        instance(leaseInfo={"lastRenewalTimestamp": 9, "renewalTimestamp": 2})
    ).lease_info
    assert both is not None and both.last_renewal_timestamp == 9


# ---------------------------------------------------------------------------------------------
# structure


def test_unknown_keys_are_ignored_whatever_their_value() -> None:
    extra = {"future": {"nested": [1, {"x": None}]}, "list": [[], {}], "flag": True, "n": 1}
    decoded = codec.decode_instance(instance(**extra, port={"$": 1, "@enabled": "true", "x": 2}))
    assert decoded.port == 1
    apps = {
        "applications": {
            "extra": {"a": [1, 2]},
            "application": [{"name": "A", "extra": [{}], "instance": [{**MINIMAL, **extra}]}],
        },
        "sibling": 1,
    }
    assert codec.decode_applications(json.dumps(apps)).instance_count() == 1


def test_single_objects_instead_of_arrays() -> None:
    apps = {"applications": {"application": {"name": "A", "instance": MINIMAL}}}
    decoded = codec.decode_applications(json.dumps(apps))
    application = decoded.get_application("A")
    assert application is not None and application.instances[0].host_name == "h1"


def test_applications_keep_order_and_instances_deduplicate_by_id() -> None:
    first = {**MINIMAL, "instanceId": "x", "status": "DOWN"}
    other = {**MINIMAL, "instanceId": "y"}
    again = {**MINIMAL, "instanceId": "x", "status": "UP"}
    apps = {
        "applications": {
            "application": [
                {"name": "B", "instance": [first, other, again]},
                {"name": "A", "instance": []},
            ]
        }
    }
    decoded = codec.decode_applications(json.dumps(apps))
    assert list(decoded.applications_by_name) == ["B", "A"]
    application = decoded.get_application("B")
    assert application is not None
    # As in Java: the later registration replaces the earlier and moves to the end.
    assert [i.id for i in application] == ["y", "x"]
    assert application.instances[-1].status is InstanceStatus.UP


def test_repeated_application_names_merge() -> None:
    apps = {
        "applications": {
            "application": [
                {"name": "A", "instance": [{**MINIMAL, "instanceId": "1"}]},
                {"name": "B", "instance": [{**MINIMAL, "instanceId": "2"}]},
                {"name": "a", "instance": [{**MINIMAL, "instanceId": "3"}]},
            ]
        }
    }
    decoded = codec.decode_applications(json.dumps(apps))
    assert list(decoded.applications_by_name) == ["A", "B"]
    application = decoded.get_application("A")
    assert application is not None and list(application.instances_by_id) == ["1", "3"]


def test_application_name_is_kept_as_given() -> None:
    decoded = codec.decode_application(b'{"application":{"name":"lower","instance":[]}}')
    assert decoded.name == "lower"
    assert len(decoded) == 0


def test_instance_from_obj_does_not_alias_or_modify_its_argument() -> None:
    obj: dict[str, Any] = {
        **MINIMAL,
        "overriddenStatus": "DOWN",
        "overriddenstatus": "UP",
        "metadata": {"k": "v"},
        "dataCenterInfo": {"name": "Amazon", "metadata": {"instance-id": "i-1"}},
    }
    before = json.dumps(obj)
    decoded = codec.instance_from_obj(obj)
    assert decoded.overridden_status is InstanceStatus.UP
    assert json.dumps(obj) == before
    decoded.metadata["k2"] = "v2"
    assert decoded.data_center_info is not None and decoded.data_center_info.metadata is not None
    decoded.data_center_info.metadata["x"] = "y"
    assert json.dumps(obj) == before

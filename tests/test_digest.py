"""The content digest: what it covers, what it ignores, and that sums update incrementally."""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.digest import (
    EMPTY_DIGEST,
    DigestSums,
    applications_digest,
    format_digest,
    instance_digest,
    parse_digest,
    per_app_digests,
)
from eureka.model import (
    ActionType,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)
from tests.strategies import applications_payloads, instances

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_instance(**changes: object) -> InstanceInfo:
    base = InstanceInfo(
        app="ORDERS",
        instance_id="orders-1",
        host_name="host-1",
        ip_addr="10.0.0.1",
        port=8080,
        data_center_info=DataCenterInfo("MyOwn"),
        lease_info=LeaseInfo(),
        metadata={"zone": "a", "version": "1"},
        vip_address="orders",
        secure_vip_address="orders",
        last_dirty_timestamp=1_700_000_000_000,
    )
    return msgspec.structs.replace(base, **changes)


COVERED = [
    {"instance_id": "orders-2"},
    {"host_name": "host-2"},
    {"ip_addr": "10.0.0.2"},
    {"status": InstanceStatus.DOWN},
    {"overridden_status": InstanceStatus.OUT_OF_SERVICE},
    {"port": 8081},
    {"port_enabled": False},
    {"secure_port": 8443},
    {"secure_port_enabled": True},
    {"country_id": 2},
    {"data_center_info": DataCenterInfo("Amazon", None, {"instance-id": "i-1"})},
    {"metadata": {"zone": "b", "version": "1"}},
    {"metadata": {"zone": "a"}},
    {"app_group_name": "GROUP"},
    {"home_page_url": "http://host-1:8080/"},
    {"status_page_url": "http://host-1:8080/info"},
    {"health_check_url": "http://host-1:8080/health"},
    {"secure_health_check_url": "https://host-1:8443/health"},
    {"vip_address": "orders,orders-v2"},
    {"secure_vip_address": "orders-secure"},
    {"last_dirty_timestamp": 1_700_000_000_001},
    {"asg_name": "asg-1"},
    {"app": "BILLING"},
]


@pytest.mark.parametrize("change", COVERED, ids=lambda c: next(iter(c)))
def test_a_change_to_a_field_a_client_acts_on_changes_the_digest(change: dict[str, object]) -> None:
    assert instance_digest(make_instance(**change)) != instance_digest(make_instance())


IGNORED = [
    {"lease_info": LeaseInfo(last_renewal_timestamp=123, registration_timestamp=5)},
    {"lease_info": None},
    {"last_updated_timestamp": 99},
    {"action_type": ActionType.MODIFIED},
    {"is_coordinating_discovery_server": True},
]


@pytest.mark.parametrize("change", IGNORED, ids=lambda c: next(iter(c)))
def test_fields_that_change_without_a_change_entry_are_not_digested(
    change: dict[str, object],
) -> None:
    assert instance_digest(make_instance(**change)) == instance_digest(make_instance())


def test_metadata_order_and_app_name_case_do_not_matter() -> None:
    reordered = make_instance(metadata={"version": "1", "zone": "a"})
    assert instance_digest(reordered) == instance_digest(make_instance())
    assert instance_digest(make_instance(app="orders")) == instance_digest(make_instance())


def test_format_and_parse_are_inverse_and_strict() -> None:
    value = instance_digest(make_instance())
    text = format_digest(value)
    assert len(text) == 32
    assert parse_digest(text) == value
    assert format_digest(EMPTY_DIGEST) == "0" * 32
    for bad in ["", "xyz", "1" * 33, "-1"]:
        assert parse_digest(bad) is None


@FAST
@given(applications_payloads())
def test_digest_survives_the_wire_in_json_and_xml(registry: Applications) -> None:
    expected = per_app_digests(registry)
    from_json = json_codec.decode_applications(json_codec.encode_applications(registry))
    from_xml = xml_codec.decode_applications(xml_codec.encode_applications(registry))
    assert per_app_digests(from_json) == expected
    assert per_app_digests(from_xml) == expected


@FAST
@given(applications_payloads(), st.randoms(use_true_random=False))
def test_the_registry_digest_does_not_depend_on_order(
    registry: Applications, rng: random.Random
) -> None:
    shuffled = list(registry.iter_instances())
    rng.shuffle(shuffled)
    assert applications_digest(Applications.of(shuffled)) == applications_digest(registry)


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["put", "remove"]),
        st.sampled_from(["A", "B", "C"]),
        st.integers(0, 5),
        instances(),
    ),
    max_size=60,
)


@FAST
@given(_OPS)
def test_incremental_sums_equal_a_digest_from_scratch(
    ops: list[tuple[str, str, int, InstanceInfo]],
) -> None:
    sums = DigestSums()
    held: dict[tuple[str, str], tuple[InstanceInfo, int]] = {}
    for op, app, n, template in ops:
        key = (app, f"i-{n}")
        old = held.get(key)
        if op == "put":
            info = msgspec.structs.replace(template, app=app, instance_id=key[1])
            new = instance_digest(info)
            sums.replace(app, None if old is None else old[1], new)
            held[key] = (info, new)
        elif old is not None:
            sums.replace(app, old[1], None)
            del held[key]
    scratch = Applications.of(info for info, _ in held.values())
    assert sums.apps() == per_app_digests(scratch)
    assert sums.total == applications_digest(scratch)
    assert sums.of_apps(["A", "B"]) == (sums.app("A") + sums.app("B")) % (1 << 128)
    assert len(sums) == len(per_app_digests(scratch))

"""Property tests: round trips of random models, and fuzzing that only BadInput ever escapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eureka.codec import json as codec
from eureka.codec._json_encode import MINI_AMAZON_KEYS
from eureka.errors import BadInput
from eureka.model import Application, Applications, DataCenterInfo, InstanceInfo, InstanceStatus
from tests.conftest import FIXTURES
from tests.strategies import applications_payloads, instances

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DECODERS: list[Callable[..., object]] = [
    codec.decode_instance,
    codec.decode_application,
    codec.decode_applications,
]


def application_order(registry: Applications) -> list[tuple[str, list[str]]]:
    return [(a.name, list(a.instances_by_id)) for a in registry.applications]


# ---------------------------------------------------------------------------------------------
# round trips


@FAST
@given(applications_payloads())
def test_full_round_trip(registry: Applications) -> None:
    decoded = codec.decode_applications(codec.encode_applications(registry))
    assert decoded == registry
    assert application_order(decoded) == application_order(registry)


@FAST
@given(instances())
def test_instance_round_trips(instance: InstanceInfo) -> None:
    assert codec.decode_instance(codec.encode_instance(instance)) == instance
    assert codec.instance_from_obj(codec.instance_to_obj(instance)) == instance
    application = Application(instance.app, {instance.id: instance})
    assert codec.decode_application(codec.encode_application(application)) == application


def compact_view(instance: InstanceInfo) -> InstanceInfo:
    """What a compact payload keeps of an instance; every other field takes its default."""
    dci = instance.data_center_info
    if dci is not None and dci.is_amazon:
        kept = {k: v for k, v in (dci.metadata or {}).items() if k in MINI_AMAZON_KEYS}
        dci = DataCenterInfo(dci.name, dci.class_name, kept)
    return InstanceInfo(
        app=instance.app,
        instance_id=instance.instance_id,
        host_name=instance.host_name,
        ip_addr=instance.ip_addr,
        status=instance.status,
        overridden_status=InstanceStatus.UNKNOWN,
        port=instance.port,
        port_enabled=instance.port_enabled,
        secure_port=instance.secure_port,
        secure_port_enabled=instance.secure_port_enabled,
        data_center_info=dci,
        vip_address=instance.vip_address,
        secure_vip_address=instance.secure_vip_address,
        last_updated_timestamp=instance.last_updated_timestamp,
        action_type=instance.action_type,
        asg_name=instance.asg_name,
    )


@FAST
@given(applications_payloads())
def test_compact_round_trip_keeps_the_compact_fields(registry: Applications) -> None:
    decoded = codec.decode_applications(codec.encode_applications(registry, compact=True))
    expected = Applications.of(
        [compact_view(i) for i in registry.iter_instances()],
        version=registry.version,
        apps_hashcode=registry.apps_hashcode,
    )
    # Applications.of drops applications without instances; the document keeps them.
    for application in registry.applications:
        if not len(application):
            expected.add_application(Application(application.name))
    assert sorted(decoded.applications_by_name) == sorted(expected.applications_by_name)
    for name, application in decoded.applications_by_name.items():
        assert application.instances == expected.applications_by_name[name].instances


@FAST
@given(applications_payloads(), st.booleans())
def test_join_equals_encode(registry: Applications, compact: bool) -> None:
    apps = [
        (a.name, [codec.encode_instance_fragment(i, compact=compact) for i in a])
        for a in registry.applications
    ]
    assert registry.apps_hashcode is not None
    joined = codec.join_applications(
        registry.version, registry.apps_hashcode, apps, compact=compact
    )
    assert joined == codec.encode_applications(registry, compact=compact)


# ---------------------------------------------------------------------------------------------
# fuzzing: success or BadInput, nothing else


def only_bad_input(decoder: Callable[..., object], data: object) -> None:
    try:
        decoder(data)
    except BadInput as exc:
        assert isinstance(exc.reason, str) and exc.reason


@FAST
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    for decoder in DECODERS:
        only_bad_input(decoder, data)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

INSTANCE_KEYS = [
    "instanceId",
    "hostName",
    "app",
    "ipAddr",
    "sid",
    "status",
    "overriddenStatus",
    "overriddenstatus",
    "port",
    "securePort",
    "countryId",
    "dataCenterInfo",
    "leaseInfo",
    "metadata",
    "appGroupName",
    "vipAddress",
    "isCoordinatingDiscoveryServer",
    "lastUpdatedTimestamp",
    "lastDirtyTimestamp",
    "actionType",
    "asgName",
]
SUB_KEYS = ["$", "@enabled", "@class", "name", "metadata", "durationInSecs", "renewalTimestamp"]


def objects_with(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


# Instance-shaped objects with wrong-ish values where the converters look: the known keys with
# scalars, and sub-objects with the keys of ports, data-center and lease infos.
fuzzed_instances = objects_with(
    INSTANCE_KEYS, json_values | objects_with(SUB_KEYS, json_values) | st.sampled_from(["UP", "1"])
)


@FAST
@given(json_values)
def test_random_json_documents(value: Any) -> None:
    for root in ["instance", "application", "applications"]:
        data = json.dumps({root: value}).encode()
        for decoder in DECODERS:
            only_bad_input(decoder, data)
    only_bad_input(codec.instance_from_obj, value)


@FAST
@given(fuzzed_instances)
def test_random_instance_objects(obj: dict[str, Any]) -> None:
    data = json.dumps({"instance": obj}).encode()
    only_bad_input(codec.decode_instance, data)
    only_bad_input(codec.instance_from_obj, obj)
    apps = json.dumps({"applications": {"application": {"name": "A", "instance": [obj, obj]}}})
    only_bad_input(codec.decode_applications, apps)


REGISTRY = (FIXTURES / "registry-full.json").read_bytes()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(REGISTRY) - 1), st.integers(0, 255), st.integers(0, len(REGISTRY)))
def test_mutated_registry(position: int, byte: int, cut: int) -> None:
    mutated = REGISTRY[:position] + bytes([byte]) + REGISTRY[position + 1 :]
    only_bad_input(codec.decode_applications, mutated)
    only_bad_input(codec.decode_applications, mutated[:cut])

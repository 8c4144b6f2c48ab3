"""The receiver: applying a batch to the registry, per-item codes (protocol.md §8.3)."""

from __future__ import annotations

import json

from eureka.clock import ManualClock
from eureka.codec.json import decode_applications, decode_instance
from eureka.model import InstanceInfo, InstanceStatus
from eureka.registry.config import RegistryConfig
from eureka.registry.registry import Registry
from eureka.replication.protocol import (
    Action,
    ReplicationInstance,
    apply_batch,
    decode_batch,
    encode_batch_response,
)
from tests.conftest import FIXTURES, JAVA_FIXTURES, JAVA_HTTP

JAVA_REQUEST = (JAVA_FIXTURES / "peer-replication-batch-request.legacyjackson.json").read_bytes()
JAVA_RESPONSE = (JAVA_FIXTURES / "peer-replication-batch-response.legacyjackson.json").read_bytes()
CONSTRUCTED_RESPONSE = (FIXTURES / "peer-replication-batch-response.json").read_bytes()

# The scenario of the fixture README: the batch reaches the receiver at this time.
BATCH_AT = 1754500080000
# The receiver got a newer registration of inventory-2 at this time (hence the 409 entity).
INVENTORY_2_REREGISTERED_AT = 1754499150000


def full_registry_instances() -> dict[str, InstanceInfo]:
    apps = decode_applications((FIXTURES / "registry-full.json").read_bytes())
    return {i.id: i for i in apps.iter_instances()}


def receiver_in_fixture_state() -> tuple[Registry, ManualClock]:
    """The receiver of the fixture batch: the registry-full instances, except that it holds a
    newer copy of inventory-2 and has never heard of inventory-9."""
    clock = ManualClock(start_ms=INVENTORY_2_REREGISTERED_AT)
    registry = Registry(RegistryConfig(), clock)
    instances = full_registry_instances()
    inventory_2 = instances.pop("inventory-2.example.internal")
    inventory_2.last_dirty_timestamp = INVENTORY_2_REREGISTERED_AT
    registry.register(inventory_2)
    clock.advance_ms(BATCH_AT - 1000 - clock.now_ms())
    for info in instances.values():
        registry.register(info)
    clock.advance_ms(1000)
    return registry, clock


def test_fixture_batch_yields_the_fixture_response() -> None:
    registry, _clock = receiver_in_fixture_state()
    results = apply_batch(registry, decode_batch(JAVA_REQUEST))
    assert [r.status_code for r in results] == [200, 200, 409, 404, 200, 200, 200, 200]
    # Byte for byte what Java wrote for this response, 409 entity included.
    assert encode_batch_response(results) == JAVA_RESPONSE
    assert json.loads(encode_batch_response(results)) == json.loads(CONSTRUCTED_RESPONSE)


def test_fixture_batch_changes_the_registry_as_each_item_says() -> None:
    registry, _clock = receiver_in_fixture_state()
    apply_batch(registry, decode_batch(JAVA_REQUEST))
    registered = registry.get_instance("ORDER-SERVICE", "10.0.1.13:order-service:8080")
    assert registered is not None
    assert registered.status == InstanceStatus.UP
    overridden = registry.get_instance("ORDER-SERVICE", "10.0.1.11:order-service:8080")
    assert overridden is not None
    assert overridden.status == InstanceStatus.OUT_OF_SERVICE
    assert registry.override_of("10.0.1.11:order-service:8080") == InstanceStatus.OUT_OF_SERVICE
    # The DeleteStatusOverride after the heartbeat removed i-…0002's override (status UNKNOWN).
    payment_2 = registry.get_instance("PAYMENT-SERVICE", "i-0a1b2c3d4e5f60002")
    assert payment_2 is not None
    assert payment_2.status == InstanceStatus.UNKNOWN
    assert registry.override_of("i-0a1b2c3d4e5f60002") is None
    assert registry.get_instance("ORDER-SERVICE", "10.0.1.12:order-service:8080") is None
    assert registry.get_instance("INVENTORY-SERVICE", "inventory-9.example.internal") is None
    # A 409 leaves the receiver's newer copy in place.
    inventory_2 = registry.get_instance("INVENTORY-SERVICE", "inventory-2.example.internal")
    assert inventory_2 is not None
    assert inventory_2.last_dirty_timestamp == INVENTORY_2_REREGISTERED_AT


def test_java_exchange_49_is_reproduced() -> None:
    # The real Java server had received registrations 01 (ORDER-SERVICE …13) and 03
    # (PAYMENT-SERVICE i-…0001) before it was sent the fixture batch as exchange 49.
    clock = ManualClock(start_ms=BATCH_AT)
    registry = Registry(RegistryConfig(), clock)
    for name in (
        "01-register-json-springcloud-jersey.req.json",
        "03-register-json-amazon.req.json",
    ):
        info = decode_instance((JAVA_HTTP / name).read_bytes())
        registry.validate_registration(info.app, info)
        registry.register(info)
    batch = decode_batch((JAVA_HTTP / "49-peerreplication-batch.req.json").read_bytes())
    expected = (JAVA_HTTP / "49-peerreplication-batch.resp.json").read_bytes().strip()
    assert encode_batch_response(apply_batch(registry, batch)) == expected


# ------------------------------------------------------------------ per-item rules


def fresh() -> Registry:
    return Registry(RegistryConfig(), ManualClock())


def instance(app: str = "APP", instance_id: str = "i-1", **fields: object) -> InstanceInfo:
    registered = full_registry_instances()["10.0.1.11:order-service:8080"]
    registered.app, registered.instance_id = app, instance_id
    for name, value in fields.items():
        setattr(registered, name, value)
    return registered


def codes(registry: Registry, *items: ReplicationInstance) -> list[int]:
    return [r.status_code for r in apply_batch(registry, list(items))]


def test_invalid_registration_answers_200_but_registers_nothing() -> None:
    registry = fresh()
    mismatched = ReplicationInstance("OTHER", "i-1", Action.REGISTER, instance_info=instance())
    hostless = ReplicationInstance(
        "APP", "i-2", Action.REGISTER, instance_info=instance(instance_id="i-2", host_name=None)
    )
    assert codes(registry, mismatched, hostless) == [200, 200]
    assert registry.instance_count() == 0
    assert registry.revision == 0


def test_register_without_instance_fails_that_item_only() -> None:
    registry = fresh()
    good = ReplicationInstance("APP", "i-2", Action.REGISTER, instance_info=instance("APP", "i-2"))
    assert codes(registry, ReplicationInstance("APP", "i-1", Action.REGISTER), good) == [500, 200]
    assert registry.instance_count() == 1


def test_replicated_registration_does_not_let_rule_4_keep_the_old_status() -> None:
    registry = fresh()
    registry.register(instance(status=InstanceStatus.UP))
    update = ReplicationInstance(
        "APP",
        "i-1",
        Action.REGISTER,
        instance_info=instance(
            status=InstanceStatus.OUT_OF_SERVICE, last_dirty_timestamp=2_000_000_000_000
        ),
    )
    assert codes(registry, update) == [200]
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None
    # A client could not do this (§6.3 rule 4); a peer's registration is taken as it is.
    assert stored.status == InstanceStatus.OUT_OF_SERVICE


def test_bad_status_names_fail_the_item_with_400_and_change_nothing() -> None:
    clock = ManualClock()
    registry = Registry(RegistryConfig(), clock)
    registry.register(instance())
    revision = registry.revision
    before = registry.get_instance("APP", "i-1")
    clock.advance(5)
    items = [
        ReplicationInstance("APP", "i-1", Action.STATUS_UPDATE, status="out_of_service"),
        ReplicationInstance("APP", "i-1", Action.STATUS_UPDATE),
        ReplicationInstance("APP", "i-1", Action.DELETE_STATUS_OVERRIDE, status="GONE"),
        ReplicationInstance(
            "APP", "i-1", Action.HEARTBEAT, last_dirty_timestamp=1, overridden_status="NOPE"
        ),
    ]
    assert codes(registry, *items) == [400, 400, 400, 400]
    assert registry.revision == revision
    after = registry.get_instance("APP", "i-1")
    assert before is not None and after is not None
    assert before.lease_info == after.lease_info  # the heartbeat did not renew the lease
    assert after.status == InstanceStatus.UP


def test_delete_status_override_without_status_means_unknown() -> None:
    registry = fresh()
    registry.register(instance())
    registry.status_update("APP", "i-1", InstanceStatus.OUT_OF_SERVICE, None)
    item = ReplicationInstance("APP", "i-1", Action.DELETE_STATUS_OVERRIDE)
    assert codes(registry, item) == [200]
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None
    assert stored.status == InstanceStatus.UNKNOWN


def test_unknown_instances_answer_404() -> None:
    registry = fresh()
    items = [
        ReplicationInstance("APP", "x", Action.HEARTBEAT, last_dirty_timestamp=1, status="UP"),
        ReplicationInstance("APP", "x", Action.CANCEL),
        ReplicationInstance("APP", "x", Action.STATUS_UPDATE, status="UP"),
        ReplicationInstance("APP", "x", Action.DELETE_STATUS_OVERRIDE, last_dirty_timestamp=1),
    ]
    assert codes(registry, *items) == [404, 404, 404, 404]


def test_an_exception_fails_only_its_item() -> None:
    class Flaky(Registry):
        def cancel(self, app: str, instance_id: str, *, is_replication: bool = False) -> bool:
            if instance_id == "boom":
                raise RuntimeError("storage on fire")
            return super().cancel(app, instance_id, is_replication=is_replication)

    registry = Flaky(RegistryConfig(), ManualClock())
    registry.register(instance())
    items = [
        ReplicationInstance("APP", "boom", Action.CANCEL),
        ReplicationInstance("APP", "i-1", Action.CANCEL),
    ]
    assert codes(registry, *items) == [500, 200]
    assert registry.instance_count() == 0

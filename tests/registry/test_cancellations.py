"""What anti-entropy reads and writes in the registry: remembered cancels, adopted peer copies."""

from __future__ import annotations

from eureka.digest import instance_digest
from eureka.model import InstanceStatus
from eureka.registry.cancellations import Cancellations
from tests.registry.support import START_MS, instance, make_registry


def test_cancels_are_remembered_with_their_time_evictions_are_not() -> None:
    registry, clock = make_registry(enable_self_preservation=False)
    for iid in ("i-1", "i-2"):
        info = instance("APP", iid, duration=5)
        registry.register(info)
    clock.advance(1)
    assert registry.cancel("app", "i-1")
    clock.advance(10)
    assert [i.id for i in registry.evict()] == ["i-2"]

    assert registry.cancellations(["APP"]) == {"APP": {"i-1": START_MS + 1000}}


def test_a_cancel_of_an_instance_we_never_held_is_remembered_too() -> None:
    registry, _clock = make_registry()
    assert not registry.cancel("APP", "i-9", is_replication=True)
    assert registry.cancellations(["APP", "OTHER"]) == {"APP": {"i-9": START_MS}}


def test_a_cancel_applied_late_records_when_it_happened() -> None:
    registry, clock = make_registry()
    registry.register(instance())
    clock.advance(30)
    assert registry.cancel("APP", "i-1", is_replication=True, cancelled_ms=START_MS + 5)
    assert registry.cancellations(["APP"]) == {"APP": {"i-1": START_MS + 5}}


def test_registering_again_forgets_the_cancel() -> None:
    registry, _clock = make_registry()
    registry.register(instance())
    assert registry.cancel("APP", "i-1")
    registry.register(instance())
    assert registry.cancellations(["APP"]) == {}


def test_cancellations_are_bounded_by_age_and_by_count() -> None:
    memory = Cancellations(retention_ms=1_000, max_entries=3)
    for n in range(5):
        memory.record("APP", f"i-{n}", START_MS, START_MS)
    assert set(memory.of_apps(["APP"], START_MS)["APP"]) == {"i-2", "i-3", "i-4"}
    assert memory.of_apps(["APP"], START_MS + 1_001) == {}
    assert len(memory) == 0


def test_a_peer_copy_is_adopted_with_its_override_change_time_and_lease_times() -> None:
    peer, peer_clock = make_registry()
    peer.register(instance(dirty=1_000))
    peer_clock.advance(2)
    assert peer.status_update("APP", "i-1", InstanceStatus.OUT_OF_SERVICE, None)
    copy = peer.get_instance("APP", "i-1")
    assert copy is not None

    ours, clock = make_registry()
    clock.advance(20)
    revision = ours.revision
    ours.register_peer_copy(copy)

    adopted = ours.get_instance("APP", "i-1")
    assert adopted is not None and adopted.lease_info is not None
    assert instance_digest(adopted) == instance_digest(copy)
    assert adopted.last_updated_timestamp == START_MS + 2_000  # the peer's change, not now
    assert adopted.lease_info.registration_timestamp == START_MS
    assert adopted.lease_info.last_renewal_timestamp == START_MS + 2_000
    assert ours.overrides() == {"i-1": InstanceStatus.OUT_OF_SERVICE}
    assert ours.revision == revision + 1  # one change
    assert ours.stats().replicated_registrations == 1


def test_adopting_a_copy_without_override_removes_ours() -> None:
    ours, _clock = make_registry()
    ours.register(instance())
    assert ours.status_update("APP", "i-1", InstanceStatus.OUT_OF_SERVICE, None)
    peer_copy = instance()
    peer_copy.last_updated_timestamp = START_MS

    ours.register_peer_copy(peer_copy)

    adopted = ours.get_instance("APP", "i-1")
    assert adopted is not None
    assert (adopted.status, adopted.overridden_status) == (
        InstanceStatus.UP,
        InstanceStatus.UNKNOWN,
    )
    assert ours.overrides() == {}

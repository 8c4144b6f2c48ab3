"""Lease expiry and the eviction task (protocol.md §6.4, §6.10)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from eureka.clock import ManualClock
from eureka.model import ActionType
from eureka.registry import Registry, RegistryConfig
from eureka.registry.eviction import EvictionCompensation, choose_victims, eviction_limit
from tests.registry.support import START_MS, instance


def _registry(**config: object) -> tuple[Registry, ManualClock]:
    clock = ManualClock(START_MS)
    options: dict[str, object] = {"enable_self_preservation": False, **config}
    return Registry(RegistryConfig(**options), clock, rng=random.Random(7)), clock  # type: ignore[arg-type]


def _evict_after(registry: Registry, clock: ManualClock, seconds: float) -> int:
    registry.evict()  # first run: no compensation; establishes the timer's rhythm
    clock.advance(seconds)
    return len(registry.evict())


@pytest.mark.parametrize(("double_count", "renewed_lifetime_s"), [(False, 90), (True, 180)])
def test_renewed_lease_expires_duration_after_last_renewal_or_twice_with_quirk(
    double_count: bool, renewed_lifetime_s: int
) -> None:
    registry, clock = _registry(lease_expiry_double_count=double_count)
    registry.register(instance())
    clock.advance(30)
    registry.renew("APP", "i-1")
    registry.evict()
    # Run the eviction timer every 30 s... at exactly the lifetime the lease is not yet expired.
    for _ in range(renewed_lifetime_s // 30 - 1):
        clock.advance(30)
        assert registry.evict() == []
    clock.advance(30)
    assert registry.get_instance("APP", "i-1") is not None  # now == last renewal + lifetime
    clock.advance_ms(1)
    assert [i.id for i in registry.evict()] == ["i-1"]


@pytest.mark.parametrize("double_count", [False, True])
def test_never_renewed_lease_expires_one_duration_after_registration(double_count: bool) -> None:
    registry, clock = _registry(lease_expiry_double_count=double_count)
    registry.register(instance(duration=40))
    clock.advance(40)
    assert registry.get_instance("APP", "i-1") is not None
    clock.advance_ms(1)
    assert registry.get_instance("APP", "i-1") is None


def test_reported_last_renewal_is_honest_by_default_and_java_with_quirk() -> None:
    for double_count, offset in ((False, 0), (True, 90_000)):
        registry, clock = _registry(lease_expiry_double_count=double_count)
        registry.register(instance())
        clock.advance(30)
        registry.renew("APP", "i-1")
        stored = registry.get_instance("APP", "i-1")
        assert stored is not None and stored.lease_info is not None
        assert stored.lease_info.last_renewal_timestamp == clock.now_ms() + offset


def test_evicted_instances_become_deleted_entries_and_leave_every_view() -> None:
    registry, clock = _registry()
    registry.register(instance("A", "a-1"))
    registry.register(instance("A", "a-2"))
    registry.evict()
    clock.advance(60)
    registry.renew("A", "a-2")
    assert registry.evict() == []
    clock.advance(60)  # a-1 is 120 s old, a-2 was renewed 60 s ago
    evicted = registry.evict()
    assert [i.id for i in evicted] == ["a-1"]
    assert evicted[0].action_type is ActionType.DELETED
    assert registry.full_view().instance_count() == 1
    delta = {i.id: i.action_type for i in registry.delta_view().iter_instances()}
    assert delta == {"a-1": ActionType.DELETED, "a-2": ActionType.ADDED}


def test_eviction_is_capped_at_15_percent_per_run() -> None:
    registry, clock = _registry()
    for n in range(100):
        registry.register(instance(f"APP{n % 7}", f"i-{n}"))
    registry.evict()
    clock.advance(60)
    registry.evict()  # nothing expired yet (60 s < 90 s)
    clock.advance(60)
    sizes = []
    for _ in range(4):
        sizes.append(len(registry.evict()))
        clock.advance(60)
    # 100 → 15 evicted; 85 → 85 - int(72.25) = 13; 72 → 72 - int(61.2) = 11; 61 → 10.
    assert sizes == [15, 13, 11, 10]
    assert registry.instance_count() == 100 - sum(sizes)


def test_eviction_limit_arithmetic() -> None:
    assert eviction_limit(0, 0.85) == 0
    assert eviction_limit(1, 0.85) == 1
    assert eviction_limit(6, 0.85) == 1  # 6 - int(5.1)
    assert eviction_limit(7, 0.85) == 2  # 7 - int(5.95)
    assert eviction_limit(100, 0.85) == 15


def test_victims_are_chosen_uniformly_not_in_registry_order() -> None:
    rng = random.Random(1)
    counts: Counter[int] = Counter()
    for _ in range(3000):
        counts.update(choose_victims(range(10), 3, rng))
    assert set(counts) == set(range(10))
    # Each of 10 candidates is picked with probability 0.3: 900 ± a generous margin.
    assert all(780 <= n <= 1020 for n in counts.values()), counts


def test_choose_victims_never_picks_more_than_available() -> None:
    assert sorted(choose_victims(["a", "b"], 5, random.Random(0))) == ["a", "b"]
    assert choose_victims([], 3, random.Random(0)) == []


def test_eviction_spreads_over_applications_when_capped() -> None:
    registry, clock = _registry()
    for app in ("A", "B", "C", "D"):
        for n in range(25):
            registry.register(instance(app, f"{app}-{n}"))
    registry.evict()
    clock.advance(60)
    registry.evict()
    clock.advance(60)
    evicted = registry.evict()
    assert len(evicted) == 15
    assert len({i.app for i in evicted}) > 1


def test_compensation_extends_the_allowance_when_the_timer_runs_late() -> None:
    registry, clock = _registry()
    registry.register(instance())
    registry.evict()  # first run at T: compensation 0
    clock.advance(100)  # 40 s late: allowance is 90 + 40 s, the lease (age 100 s) survives
    assert registry.evict() == []
    clock.advance(60)  # on time again: compensation 0, age 160 s
    assert len(registry.evict()) == 1


def test_compensation_arithmetic() -> None:
    compensation = EvictionCompensation(60_000)
    assert compensation.next_extra_ms(1000.0) == 0
    assert compensation.next_extra_ms(1060.0) == 0
    assert compensation.next_extra_ms(1130.5) == 10_500
    assert compensation.next_extra_ms(1150.0) == 0
    compensation.reset()
    assert compensation.next_extra_ms(5000.0) == 0


def test_no_eviction_while_lease_expiration_is_disabled() -> None:
    clock = ManualClock(START_MS)
    registry = Registry(RegistryConfig(expected_number_of_clients_sending_renews=0), clock)
    registry.register(instance())
    registry.evict()
    clock.advance(500)
    assert registry.is_lease_expiration_enabled() is False
    assert registry.evict() == []
    assert registry.instance_count() == 1


def test_eviction_decrements_expected_clients() -> None:
    clock = ManualClock(START_MS)
    registry = Registry(RegistryConfig(), clock, rng=random.Random(3))
    for n in range(3):
        registry.register(instance(instance_id=f"i-{n}"))
    assert registry.self_preservation_state().expected_clients == 4
    # Renewals above the threshold (int(4 × 2 × 0.85) = 6) enable expiration.
    for _ in range(7):
        registry.renew("APP", "i-0")
    registry.tick_renews_bucket()
    registry.evict()
    clock.advance(60)
    registry.evict()
    clock.advance(60)
    assert registry.is_lease_expiration_enabled() is True
    assert len(registry.evict()) == 1  # 3 - int(2.55) = 1
    assert registry.self_preservation_state().expected_clients == 3

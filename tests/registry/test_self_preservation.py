"""Self-preservation (protocol.md §6.11) and startup access control (§6.12)."""

from __future__ import annotations

import pytest

from tests.registry.support import instance, make_registry


def test_threshold_arithmetic_and_expected_clients_bookkeeping() -> None:
    registry, _ = make_registry()  # Spring Cloud start: 1 expected client
    state = registry.self_preservation_state()
    assert (state.expected_clients, state.threshold) == (1, 1)  # int(1 × 2 × 0.85)
    for n in range(4):
        registry.register(instance(instance_id=f"i-{n}"))
    registry.register(instance(instance_id="i-0", dirty=5))  # re-registration: not new
    state = registry.self_preservation_state()
    assert (state.expected_clients, state.threshold) == (5, 8)  # int(5 × 2 × 0.85) = 8
    registry.cancel("APP", "i-0")
    registry.cancel("APP", "nope")  # no lease: no decrement
    state = registry.self_preservation_state()
    assert (state.expected_clients, state.threshold) == (4, 6)


def test_netflix_start_at_zero_expected_clients_never_counts_up() -> None:
    registry, _ = make_registry(expected_number_of_clients_sending_renews=0)
    for n in range(3):
        registry.register(instance(instance_id=f"i-{n}"))
    state = registry.self_preservation_state()
    assert (state.expected_clients, state.threshold, state.expiration_enabled) == (0, 0, False)
    assert state.reason is not None and "threshold is 0" in state.reason


def test_renewal_interval_and_percent_change_the_threshold() -> None:
    registry, _ = make_registry(
        expected_number_of_clients_sending_renews=10,
        expected_client_renewal_interval_seconds=10,
        renewal_percent_threshold=0.5,
    )
    assert registry.self_preservation_state().threshold == 30  # int(10 × 6 × 0.5)
    registry, _ = make_registry(
        expected_number_of_clients_sending_renews=10, expected_client_renewal_interval_seconds=0
    )
    assert registry.self_preservation_state().threshold == 17  # ≤ 0 ⇒ 30 s: int(10 × 2 × 0.85)


def test_renews_last_min_is_a_two_bucket_counter() -> None:
    registry, _ = make_registry()
    registry.register(instance())
    for _ in range(5):
        registry.renew("APP", "i-1")
    registry.renew("APP", "missing")  # failed renewals are not counted
    assert registry.self_preservation_state().renews_last_min == 0
    registry.tick_renews_bucket()
    assert registry.self_preservation_state().renews_last_min == 5
    registry.renew("APP", "i-1")
    registry.tick_renews_bucket()
    assert registry.self_preservation_state().renews_last_min == 1


def test_expiration_transitions_with_reasons() -> None:
    registry, _ = make_registry()
    registry.register(instance())  # expected 2 → threshold 3
    state = registry.self_preservation_state()
    assert state.expiration_enabled is False
    assert state.reason is not None and "No full minute" in state.reason

    for _ in range(3):
        registry.renew("APP", "i-1")
    registry.tick_renews_bucket()
    state = registry.self_preservation_state()
    assert (state.renews_last_min, state.threshold, state.expiration_enabled) == (3, 3, False)
    assert state.reason is not None
    assert "3 renewals" in state.reason and "threshold of 3" in state.reason

    for _ in range(4):
        registry.renew("APP", "i-1")
    registry.tick_renews_bucket()
    state = registry.self_preservation_state()
    assert (state.expiration_enabled, state.reason) == (True, None)
    assert registry.is_lease_expiration_enabled() is True

    registry.tick_renews_bucket()  # a silent minute: back into self-preservation
    assert registry.is_lease_expiration_enabled() is False


def test_self_preservation_disabled_always_expires() -> None:
    registry, _ = make_registry(enable_self_preservation=False)
    state = registry.self_preservation_state()
    assert (state.enabled, state.expiration_enabled, state.reason) == (False, True, None)


@pytest.mark.parametrize(("count", "adopted"), [(10, 10), (9, 9), (8, 10), (0, 10)])
def test_threshold_update_adopts_count_only_above_percent_of_expected(
    count: int, adopted: int
) -> None:
    registry, _ = make_registry(expected_number_of_clients_sending_renews=10)
    registry.update_renewal_threshold(count)  # adopt iff count > 0.85 × 10 = 8.5
    assert registry.self_preservation_state().expected_clients == adopted


def test_threshold_update_is_unconditional_when_self_preservation_disabled() -> None:
    registry, _ = make_registry(
        expected_number_of_clients_sending_renews=10, enable_self_preservation=False
    )
    registry.update_renewal_threshold(2)
    assert registry.self_preservation_state().expected_clients == 2


def test_open_for_traffic_sets_expected_clients() -> None:
    registry, _ = make_registry()
    registry.open_for_traffic(40)
    assert registry.self_preservation_state().expected_clients == 40
    registry.open_for_traffic(0)  # Spring Cloud substitutes default-open-for-traffic-count
    assert registry.self_preservation_state().expected_clients == 1


# --- startup access (§6.12) ------------------------------------------------------------------


def test_empty_sync_refuses_reads_for_the_wait_time() -> None:
    registry, clock = make_registry(default_open_for_traffic_count=0)
    registry.open_for_traffic(0)
    assert registry.should_allow_access() is False
    clock.advance(300)
    assert registry.should_allow_access() is False  # not strictly after start + 5 min
    clock.advance_ms(1)
    assert registry.should_allow_access() is True


def test_spring_cloud_default_opens_immediately() -> None:
    registry, _ = make_registry()
    registry.open_for_traffic(0)
    assert registry.should_allow_access() is True


def test_nonempty_sync_opens_immediately() -> None:
    registry, _ = make_registry(default_open_for_traffic_count=0)
    registry.open_for_traffic(12)
    assert registry.should_allow_access() is True


def test_authoritative_empty_sync_opens_immediately() -> None:
    # A peer answered and had nothing: the cluster is empty, not unknown.
    registry, _ = make_registry(default_open_for_traffic_count=0)
    registry.open_for_traffic(0, authoritative=True)
    assert registry.should_allow_access() is True
    assert registry.self_preservation_state().expected_clients == 0


def test_remote_regions_must_be_ready_when_required() -> None:
    registry, _ = make_registry()
    registry.open_for_traffic(1)
    registry.remote_regions_ready = False
    assert registry.should_allow_access() is True
    assert registry.should_allow_access(remote_region_required=True) is False
    registry.remote_regions_ready = True
    assert registry.should_allow_access(remote_region_required=True) is True

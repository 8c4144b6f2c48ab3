"""The watch table's wake-up rules, on a registry driven by the manual clock (no event loop)."""

from __future__ import annotations

from eureka.model import InstanceStatus
from eureka.registry.watch import WatchTable
from tests.registry.support import instance, make_registry


def test_one_change_wakes_every_watch_of_the_whole_registry() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    ids = [table.add(0, None, deadline=30.0) for _ in range(1000)]
    assert table.ready(registry, 0.0) == []  # nothing changed: nothing to answer
    registry.register(instance("A", "a-1"))
    assert sorted(table.ready(registry, 0.0)) == ids
    assert len(table) == 0
    assert table.expired(100.0) == []  # answered watches never time out afterwards


def test_a_subset_watch_wakes_only_for_its_applications() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    orders = table.add(0, {"ORDERS"}, deadline=30.0)
    both = table.add(0, {"ORDERS", "BILLING"}, deadline=30.0)
    billing = table.add(0, {"BILLING"}, deadline=30.0)
    registry.register(instance("OTHER", "o-1"))
    assert table.ready(registry, 0.0) == []
    registry.register(instance("BILLING", "b-1"))
    assert sorted(table.ready(registry, 0.0)) == sorted([both, billing])
    registry.status_update("BILLING", "b-1", InstanceStatus.DOWN, None)
    registry.register(instance("ORDERS", "o-1"))
    assert table.ready(registry, 0.0) == [orders]


def test_each_change_is_examined_once_however_late_the_table_looks() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    registry.register(instance("A", "a-1"))
    registry.register(instance("B", "b-1"))
    # Changes the table has not looked at yet: a watch added now must not be woken by them
    # (the caller checked them for this watch already), so the table is brought up first.
    assert table.ready(registry, 0.0) == []
    watch = table.add(registry.revision, {"A"}, deadline=30.0)
    registry.register(instance("B", "b-2"))
    assert table.ready(registry, 0.0) == []
    registry.register(instance("A", "a-2"))
    assert table.ready(registry, 0.0) == [watch]


def test_timeouts_come_in_deadline_order() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    late = table.add(0, None, deadline=31.0)
    early = table.add(0, None, deadline=30.0)
    assert table.next_deadline() == 30.0
    assert table.expired(29.9) == []
    assert table.expired(30.0) == [early]
    assert table.next_deadline() == 31.0
    assert table.expired(40.0) == [late]
    assert table.next_deadline() is None


def test_a_watch_ready_before_its_earliest_time_is_answered_at_that_time() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    watch = table.add(0, None, deadline=30.0, earliest=0.25)
    registry.register(instance("A", "a-1"))
    assert table.ready(registry, 0.1) == []  # changed, but too soon after its last answer
    assert table.next_deadline() == 0.25
    registry.register(instance("A", "a-2"))
    assert table.ready(registry, 0.2) == []
    assert table.expired(0.24) == []
    assert table.expired(0.25) == [watch]
    assert table.next_deadline() is None


def test_a_watch_past_its_earliest_time_is_answered_at_once() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    watch = table.add(0, None, deadline=30.0, earliest=0.25)
    registry.register(instance("A", "a-1"))
    assert table.ready(registry, 0.3) == [watch]


def test_a_changed_watch_only_waits_for_its_deadline() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    watch = table.add(0, {"A"}, deadline=0.25, earliest=0.25, changed=True)
    registry.register(instance("A", "a-1"))
    assert table.ready(registry, 0.1) == []
    assert table.expired(0.25) == [watch]


def test_cancelled_watches_are_gone() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    watch = table.add(0, {"A"}, deadline=30.0)
    assert table.remove(watch) is True
    assert table.remove(watch) is False
    registry.register(instance("A", "a-1"))
    assert table.ready(registry, 0.0) == []
    assert table.next_deadline() is None
    assert table.statistics().cancelled == 1


def test_a_log_that_lost_entries_wakes_every_watch() -> None:
    registry, clock = make_registry(cursor_log_max_entries=0)
    table = WatchTable(registry.revision)
    a = table.add(0, {"A"}, deadline=30.0)
    b = table.add(0, {"B"}, deadline=30.0)
    registry.register(instance("C", "c-1"))
    clock.advance(181)
    registry.register(instance("C", "c-2"))
    registry.prune_delta_queue()  # entry 1 is gone, and the table has not seen entry 1 yet
    assert sorted(table.ready(registry, 0.0)) == [a, b]


def test_watches_whose_revision_was_pruned_are_found() -> None:
    registry, clock = make_registry(cursor_log_max_entries=0)
    table = WatchTable(registry.revision)
    registry.register(instance("A", "a-1"))
    table.ready(registry, 0.0)
    old = table.add(0, {"B"}, deadline=60.0)
    fresh = table.add(1, {"B"}, deadline=60.0)
    clock.advance(181)
    registry.prune_delta_queue()
    assert registry.oldest_revision == 1
    assert table.older_than(registry.oldest_revision) == [old]
    assert fresh in table


def test_statistics_count_answers_and_lag() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    for _ in range(3):
        table.add(0, None, deadline=30.0)
    registry.register(instance("A", "a-1"))
    table.ready(registry, 0.0)
    for lag in (5, 10, 200):
        table.record_answer(lag)
    table.record_answer(None)
    stats = table.statistics()
    assert (stats.watchers, stats.peak_watchers, stats.parked) == (0, 3, 3)
    assert (stats.answered, stats.timed_out) == (3, 1)
    assert (stats.lag_p50_ms, stats.lag_p99_ms, stats.lag_max_ms) == (10, 200, 200)


def test_the_deadline_heap_does_not_grow_with_answered_watches() -> None:
    registry, _ = make_registry()
    table = WatchTable(registry.revision)
    for n in range(20_000):
        table.add(registry.revision, None, deadline=60.0 + n)
        registry.register(instance("A", f"a-{n % 5}", dirty=n + 1))
        table.ready(registry, 0.0)
    assert len(table) == 0
    assert len(table._heap) <= 2 * 1024 + 2

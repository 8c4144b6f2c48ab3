"""The change log's two retentions: the cursor log (time and count) and the delta window inside it.

And issue 11 §1: when the retention timer moves the window, cached delta payloads shrink at once.
"""

from __future__ import annotations

from eureka.codec import json as json_codec
from eureka.model import ActionType
from eureka.registry import CacheKey, EntityType, ResponseCache
from eureka.registry.changelog import ChangeLog
from eureka.registry.lease import Lease
from tests.registry.support import instance, make_registry

T0 = 1_000_000


def _log(**kwargs: int) -> ChangeLog:
    return ChangeLog(window_ms=180_000, retention_ms=900_000, **kwargs)


def _append(log: ChangeLog, time_ms: int, n: int = 1) -> None:
    for _ in range(n):
        log.append(time_ms, "A", f"a-{log.revision}", Lease(instance("A"), 90, time_ms))


def test_the_window_moves_on_time_while_the_cursor_log_keeps_15_minutes() -> None:
    log = _log()
    _append(log, T0, 3)
    _append(log, T0 + 100_000, 2)
    assert log.prune(T0 + 180_000) == 0  # an entry exactly 180 s old stays (Java's `<`)
    assert log.prune(T0 + 180_001) == 3
    assert (log.window_floor, log.floor) == (3, 0)
    assert [e.revision for e in log.window()] == [4, 5]
    since = log.since(0)
    assert since is not None and len(since) == 5
    assert log.prune(T0 + 900_001) == 2
    assert (log.window_floor, log.floor) == (5, 3)
    assert log.window() == []
    assert log.since(2) is None
    assert log.since(3) is not None
    assert log.prune(T0 + 1_000_001) == 0
    assert (log.window_floor, log.floor, len(log)) == (5, 5, 0)
    assert log.since(5) == []


def test_the_count_bound_applies_beyond_the_window_only() -> None:
    log = _log(max_entries=4)
    _append(log, T0, 6)
    _append(log, T0 + 200_000, 3)
    # Nine entries, six of them out of the window: the cap drops down to four entries.
    assert log.prune(T0 + 200_000) == 6
    assert (log.floor, len(log)) == (5, 4)
    # Inside the window, the cap yields: the legacy delta shows every entry Java's would.
    _append(log, T0 + 210_000, 5)
    log.prune(T0 + 210_000)
    assert len(log.window()) == 8 and log.floor == 6


def test_a_retention_shorter_than_the_window_is_raised_to_the_window() -> None:
    log = ChangeLog(window_ms=180_000, retention_ms=1_000, max_entries=0)
    _append(log, T0, 2)
    log.prune(T0 + 100_000)
    assert log.since(0) is not None and len(log.window()) == 2


def test_cursor_log_settings_reach_the_registry() -> None:
    registry, clock = make_registry(cursor_log_retention_ms=300_000)
    registry.register(instance("A", "a-1"))
    clock.advance(200)
    registry.prune_delta_queue()
    assert registry.changes_since(0) is not None
    assert registry.delta_view().instance_count() == 0
    clock.advance(101)
    registry.prune_delta_queue()
    assert registry.changes_since(0) is None


def _delta_ids(cache: ResponseCache, **key: object) -> list[str]:
    payload = cache.get(CacheKey(EntityType.ALL_APPS_DELTA, **key))  # type: ignore[arg-type]
    assert payload is not None
    return [i.id for i in json_codec.decode_applications(payload.body).iter_instances()]


def test_a_prune_shrinks_the_cached_delta_at_once() -> None:
    # Smell 1: a delta cached at t=179 s still listed, at t=331 s, a change pruned at t=181 s.
    registry, clock = make_registry()
    cache = ResponseCache(registry, registry.config, clock)
    registry.register(instance("A", "a-1"))
    clock.advance(179)
    registry.register(instance("B", "b-1"))
    assert _delta_ids(cache) == ["a-1", "b-1"]
    clock.advance(2)
    assert registry.prune_delta_queue() == 1
    assert _delta_ids(cache) == ["b-1"]
    clock.advance(150)
    assert _delta_ids(cache) == ["b-1"]
    clock.advance(30)
    registry.prune_delta_queue()
    assert _delta_ids(cache) == []


def test_a_prune_that_removes_nothing_keeps_the_cached_delta() -> None:
    registry, clock = make_registry()
    cache = ResponseCache(registry, registry.config, clock)
    registry.register(instance("A", "a-1"))
    first = cache.get(CacheKey(EntityType.ALL_APPS_DELTA))
    clock.advance(30)
    assert registry.prune_delta_queue() == 0
    assert cache.get(CacheKey(EntityType.ALL_APPS_DELTA)) is first


def test_a_prune_invalidates_the_read_only_tier_on_its_next_refresh() -> None:
    registry, clock = make_registry(use_read_only_response_cache=True)
    cache = ResponseCache(registry, registry.config, clock)
    registry.register(instance("A", "a-1"))
    clock.advance(100)
    registry.register(instance("B", "b-1"))
    assert _delta_ids(cache) == ["a-1", "b-1"]
    clock.advance(81)
    registry.prune_delta_queue()
    assert _delta_ids(cache) == ["a-1", "b-1"]  # Java's read-only tier: up to 30 s behind
    cache.refresh_read_only()
    assert _delta_ids(cache) == ["b-1"]


def test_beyond_the_window_gone_leases_keep_only_a_tombstone() -> None:
    registry, clock = make_registry()
    registry.register(instance("A", "a-1", metadata={"blob": "x" * 10_000}))
    registry.register(instance("A", "a-2", metadata={"blob": "y" * 10_000}))
    registry.cancel("A", "a-1")
    clock.advance(181)
    registry.prune_delta_queue()
    entries = list(registry._log)
    assert [e.lease.holder.metadata for e in entries if e.instance_id == "a-1"] == [{}, {}]
    # The current lease is the registry's own, untouched.
    current = [e for e in entries if e.instance_id == "a-2"]
    assert current[0].lease.holder.metadata == {"blob": "y" * 10_000}
    assert current[0].lease is registry._apps["A"]["a-2"]
    # A cursor from before still says what became of a-1, and the full view is unchanged.
    changes = registry.changes_since(0)
    assert changes is not None
    shown = {(i.id, i.action_type) for i in changes.applications.iter_instances()}
    assert shown == {("a-1", ActionType.DELETED), ("a-2", ActionType.ADDED)}
    assert registry.full_view().instance_count() == 1


def test_a_superseded_lease_beyond_the_window_is_slimmed_too() -> None:
    registry, clock = make_registry()
    registry.register(instance("A", "a-1", dirty=1, metadata={"v": "1"}))
    registry.register(instance("A", "a-1", dirty=2, metadata={"v": "2"}))
    clock.advance(181)
    registry.prune_delta_queue()
    first, second = list(registry._log)
    assert first.lease.holder.metadata == {}
    assert second.lease.holder.metadata == {"v": "2"}

"""The collector rule (server/gc_policy.py) and its adapter on this very process's collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from eureka.clock import ManualClock
from eureka.server.gc_freezer import GcFreezer
from eureka.server.gc_policy import FULL_GENERATION, GcPolicy, GcSettings

HOUR_MS = 3_600_000


def test_a_full_collection_asks_for_a_freeze_and_a_young_one_does_not() -> None:
    policy = GcPolicy(GcSettings(), now_ms=0)
    assert policy.collected(0, 0.2) is False
    assert policy.collected(1, 0.9) is False
    assert policy.collected(FULL_GENERATION, 150.0) is True
    assert policy.collected(FULL_GENERATION, 3.0) is True
    stats = policy.stats(frozen_objects=7)
    assert (stats.young_collections, stats.full_collections) == (2, 2)
    assert (stats.longest_young_pause_ms, stats.longest_full_pause_ms) == (0.9, 150.0)
    assert stats.last_full_pause_ms == 3.0
    assert stats.frozen_objects == 7 and stats.freezing


def test_switched_off_it_never_freezes_nor_sweeps() -> None:
    policy = GcPolicy(GcSettings(freeze=False), now_ms=0)
    assert policy.collected(FULL_GENERATION, 100.0) is False
    assert policy.sweep_due(10 * HOUR_MS) is False
    assert not policy.stats(0).freezing


def test_a_sweep_is_due_an_interval_after_the_start_and_after_the_last_sweep() -> None:
    policy = GcPolicy(GcSettings(sweep_interval_ms=HOUR_MS), now_ms=1_000)
    assert not policy.sweep_due(HOUR_MS)
    assert policy.sweep_due(HOUR_MS + 1_000)
    policy.sweep_started()
    assert not policy.sweep_due(HOUR_MS + 2_000)  # one at a time
    # The sweep's own full collection is the sweep's, not a full collection to freeze after.
    assert policy.collected(FULL_GENERATION, 400.0) is False
    policy.swept(HOUR_MS + 2_000, 400.0, collected=12)
    assert not policy.sweep_due(2 * HOUR_MS)
    assert policy.sweep_due(2 * HOUR_MS + 2_000)
    stats = policy.stats(0)
    assert (stats.sweeps, stats.last_sweep_ms, stats.last_sweep_pause_ms) == (
        1,
        HOUR_MS + 2_000,
        400.0,
    )
    assert (stats.last_sweep_collected, stats.sweep_collected) == (12, 12)
    assert stats.full_collections == 0 and stats.longest_full_pause_ms == 0.0


def test_a_zero_interval_never_sweeps() -> None:
    policy = GcPolicy(GcSettings(sweep_interval_ms=0), now_ms=0)
    assert not policy.sweep_due(100 * HOUR_MS)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def freezer() -> Iterator[GcFreezer]:
    clock = ManualClock(0)
    installed = GcFreezer(GcSettings(sweep_interval_ms=HOUR_MS), clock)
    assert gc.get_freeze_count() == 0, "another test left objects frozen"
    installed.install()
    try:
        yield installed
    finally:
        installed.uninstall()
    assert gc.get_freeze_count() == 0


def test_installed_it_freezes_what_start_up_built(freezer: GcFreezer) -> None:
    assert gc.get_freeze_count() > 10_000  # this test process's modules, at least
    assert freezer.stats().frozen_objects == gc.get_freeze_count()


def test_survivors_of_a_full_collection_are_frozen_and_later_ones_skip_them(
    freezer: GcFreezer,
) -> None:
    kept = [[n] for n in range(50_000)]  # tracked objects that stay alive
    before = gc.get_freeze_count()
    gc.collect()
    assert gc.get_freeze_count() >= before + 50_000
    assert len(gc.get_objects(FULL_GENERATION)) < 50_000  # the next full scan skips them
    stats = freezer.stats()
    assert stats.full_collections >= 1 and stats.longest_full_pause_ms > 0
    del kept


def test_frozen_objects_are_still_freed_by_reference_counting(freezer: GcFreezer) -> None:
    kept = [[n] for n in range(20_000)]
    gc.collect()
    frozen = gc.get_freeze_count()
    del kept
    assert gc.get_freeze_count() <= frozen - 20_000


def test_a_sweep_collects_garbage_cycles_among_frozen_objects(freezer: GcFreezer) -> None:
    cycles = [_Cycle() for _ in range(1_000)]
    gc.collect()  # they survive it, alive: frozen
    del cycles  # now garbage, but only a collection of frozen objects can see it
    assert gc.collect() < 1_000
    freezer.sweep()
    stats = freezer.stats()
    assert stats.sweeps == 1 and stats.last_sweep_collected >= 1_000
    assert gc.get_freeze_count() > 10_000  # the survivors are frozen again


def test_uninstalled_it_leaves_the_collector_as_it_was() -> None:
    freezer = GcFreezer(GcSettings(), ManualClock(0))
    freezer.install()
    freezer.uninstall()
    assert gc.get_freeze_count() == 0
    assert freezer._on_collection not in gc.callbacks
    gc.collect()
    assert freezer.stats().full_collections == 0


def test_switched_off_it_installs_nothing() -> None:
    freezer = GcFreezer(GcSettings(freeze=False), ManualClock(0))
    freezer.install()
    assert gc.get_freeze_count() == 0 and freezer._on_collection not in gc.callbacks
    freezer.uninstall()

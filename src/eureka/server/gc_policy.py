"""When the cyclic garbage collector may scan the registry: freeze survivors, sweep rarely (pure).

CPython's full collection (generation 2) walks every object the collector tracks, and a registry
of N instances holds a few tracked objects per instance that live as long as their leases.
Measured on the fleet simulation (bench/bench_fleet.py): full collections of 150 ms at 250,000
instances and 220 ms at 300,000 stopped the event loop, and were the run's largest latencies
(renewal p99 89 ms, max 166 ms at 300,000 where the loop was otherwise 27 % idle). They freed
nothing: every full collection while serving reported 0 objects collected — the objects are
alive, and what dies is freed by reference counting without the collector.

So the rule: **whatever survives a full collection is frozen** (`gc.freeze()`: moved to the
permanent generation, which collections skip). Each object is then scanned by at most one full
collection, and the next ones scan only what arrived since, so a full collection costs what
changed, not what is registered. Frozen objects are still freed by reference counting the moment
nothing refers to them; only garbage *cycles* among them would wait. A *sweep* (unfreeze,
collect, freeze) every `sweep_interval_ms` returns those — one pause of the old length that often
(default an hour; 0: never), reported with its length and what it found, so an operator sees
whether it is needed at all.

Pure: the adapter (server/gc_freezer.py) reports collections and pause lengths and asks what to do;
time comes from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

__all__ = ["FULL_GENERATION", "GcPolicy", "GcSettings", "GcStats"]

# CPython's oldest generation: a collection of it is a full collection.
FULL_GENERATION = 2


@dataclass(frozen=True, slots=True)
class GcSettings:
    freeze: bool = True
    sweep_interval_ms: int = 3_600_000  # 0: never


class GcStats(msgspec.Struct, frozen=True, omit_defaults=True):
    """The collector as the node runs it (`GET /eureka/status` → `gc`, and metrics)."""

    freezing: bool
    frozen_objects: int = 0
    full_collections: int = 0
    young_collections: int = 0
    longest_full_pause_ms: float = 0.0
    last_full_pause_ms: float = 0.0
    longest_young_pause_ms: float = 0.0
    sweeps: int = 0
    last_sweep_ms: int | None = None  # when (clock ms)
    last_sweep_pause_ms: float = 0.0
    last_sweep_collected: int = 0  # objects the last sweep found to be garbage
    sweep_collected: int = 0  # objects all sweeps found


class GcPolicy:
    def __init__(self, settings: GcSettings, now_ms: int) -> None:
        self.settings = settings
        self._since_ms = now_ms  # the start, or the last sweep
        self._sweeping = False
        self._full = self._young = 0
        self._longest_full = self._last_full = self._longest_young = 0.0
        self._sweeps = 0
        self._last_sweep_ms: int | None = None
        self._last_sweep_pause = 0.0
        self._last_sweep_collected = self._sweep_collected = 0

    def collected(self, generation: int, pause_ms: float) -> bool:
        """A collection of `generation` finished after `pause_ms`; True: freeze now."""
        if generation < FULL_GENERATION:
            self._young += 1
            self._longest_young = max(self._longest_young, pause_ms)
            return False
        if self._sweeping:
            return False  # the sweep's own collection: `swept` accounts for it, then freezes
        self._full += 1
        self._last_full = pause_ms
        self._longest_full = max(self._longest_full, pause_ms)
        return self.settings.freeze

    def sweep_due(self, now_ms: int) -> bool:
        interval = self.settings.sweep_interval_ms
        return (
            self.settings.freeze
            and not self._sweeping
            and interval > 0
            and now_ms - self._since_ms >= interval
        )

    def sweep_started(self) -> None:
        self._sweeping = True

    def swept(self, now_ms: int, pause_ms: float, collected: int) -> None:
        """The sweep's collection found `collected` objects to be garbage; freeze again."""
        self._sweeping = False
        self._since_ms = now_ms
        self._sweeps += 1
        self._last_sweep_ms = now_ms
        self._last_sweep_pause = pause_ms
        self._last_sweep_collected = collected
        self._sweep_collected += collected

    def stats(self, frozen_objects: int) -> GcStats:
        return GcStats(
            freezing=self.settings.freeze,
            frozen_objects=frozen_objects,
            full_collections=self._full,
            young_collections=self._young,
            longest_full_pause_ms=round(self._longest_full, 3),
            last_full_pause_ms=round(self._last_full, 3),
            longest_young_pause_ms=round(self._longest_young, 3),
            sweeps=self._sweeps,
            last_sweep_ms=self._last_sweep_ms,
            last_sweep_pause_ms=round(self._last_sweep_pause, 3),
            last_sweep_collected=self._last_sweep_collected,
            sweep_collected=self._sweep_collected,
        )

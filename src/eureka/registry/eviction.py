"""Pieces of the eviction task (protocol.md §6.10) that do not need the registry itself."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["EvictionCompensation", "choose_victims", "eviction_limit"]

T = TypeVar("T")


class EvictionCompensation:
    """How late this eviction run is: `max(0, time since the previous run − interval)`.

    Measured on the monotonic clock, 0 on the first run. Java adds it to every lease's allowance
    so that a GC pause or a late timer does not make healthy leases look expired.
    """

    __slots__ = ("_interval_s", "_last")

    def __init__(self, interval_ms: int) -> None:
        self._interval_s = interval_ms / 1000
        self._last: float | None = None

    def reset(self) -> None:
        self._last = None

    def next_extra_ms(self, monotonic_now: float) -> int:
        last, self._last = self._last, monotonic_now
        if last is None:
            return 0
        late = monotonic_now - last - self._interval_s
        return int(late * 1000) if late > 0 else 0


def eviction_limit(registry_size: int, renewal_percent_threshold: float) -> int:
    """At most `size − int(size × percent)` leases per run: 15 % of the registry by default."""
    return registry_size - int(registry_size * renewal_percent_threshold)


def choose_victims(candidates: Sequence[T], count: int, rng: random.Random) -> list[T]:
    """`count` candidates chosen uniformly by a partial Fisher–Yates shuffle (Java's loop).

    Random rather than "first found" so that a mass expiry capped at 15 % is spread across
    applications instead of wiping out whole applications first.
    """
    pool = list(candidates)
    count = min(count, len(pool))
    for i in range(count):
        j = i + rng.randrange(len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:count]

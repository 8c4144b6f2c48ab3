"""Lag distributions: the last N samples in a ring, summarised as p50 / p99 / max.

Pure and shared by the watch table (change → answer) and the replication dispatcher (change →
the peer's acknowledgement). A ring of the latest samples keeps percentiles current and memory
fixed; the maximum and the count cover everything since start.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LagStats", "LagWindow"]


@dataclass(frozen=True, slots=True)
class LagStats:
    samples: int  # recorded since start
    p50_ms: int | None  # over the latest `window` samples; None before the first
    p99_ms: int | None
    max_ms: int | None  # since start


class LagWindow:
    __slots__ = ("_count", "_max", "_ring", "_size")

    def __init__(self, size: int = 2048) -> None:
        self._size = max(1, size)
        self._ring: list[int] = []
        self._count = 0
        self._max: int | None = None

    def record(self, lag_ms: int) -> None:
        lag_ms = max(0, lag_ms)
        if len(self._ring) < self._size:
            self._ring.append(lag_ms)
        else:
            self._ring[self._count % self._size] = lag_ms
        self._count += 1
        if self._max is None or lag_ms > self._max:
            self._max = lag_ms

    def stats(self) -> LagStats:
        if not self._ring:
            return LagStats(self._count, None, None, self._max)
        ordered = sorted(self._ring)
        last = len(ordered) - 1
        return LagStats(
            self._count,
            ordered[round(last * 0.50)],
            ordered[round(last * 0.99)],
            self._max,
        )

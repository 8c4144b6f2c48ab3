"""Propagation lag as the client sees it: from the server's change to the change applied here, pure.

The server stamps `lastUpdatedTimestamp` on every change it records (propagation.md), so for each
change a cursor delta brings, `now − lastUpdatedTimestamp` is the time the change took to reach
this client's registry: the server's wake-up, the network, decoding and the merge. Clocks of two
hosts disagree by their skew, so a negative lag is counted as 0.

`LagRecorder` keeps the last `window` samples (exact percentiles over recent traffic, bounded
memory) and all-time count and maximum; `stats()` returns a frozen snapshot.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["LagRecorder", "LagStats"]


@dataclass(frozen=True, slots=True)
class LagStats:
    """Milliseconds; percentiles over the last `window` samples, `max_ms` over all of them."""

    count: int
    p50_ms: int | None
    p99_ms: int | None
    max_ms: int | None
    window: int


class LagRecorder:
    __slots__ = ("_count", "_max", "_samples")

    def __init__(self, window: int = 1024) -> None:
        self._samples: deque[int] = deque(maxlen=window)
        self._count = 0
        self._max: int | None = None

    def record(self, now_ms: int, changed_at_ms: int) -> None:
        if changed_at_ms <= 0:
            return  # no timestamp on the wire: nothing to measure
        lag = max(0, now_ms - changed_at_ms)
        self._samples.append(lag)
        self._count += 1
        if self._max is None or lag > self._max:
            self._max = lag

    def stats(self) -> LagStats:
        samples = sorted(self._samples)
        window = self._samples.maxlen or 0
        if not samples:
            return LagStats(self._count, None, None, self._max, window)
        return LagStats(self._count, _rank(samples, 0.50), _rank(samples, 0.99), self._max, window)


def _rank(ordered: list[int], q: float) -> int:
    """Nearest-rank percentile: the smallest sample with at least q of the samples at or below."""
    index = max(0, min(len(ordered) - 1, -(-len(ordered) * q // 1) - 1))
    return ordered[int(index)]

"""Time as an injected dependency (the Trio lesson): the cores never read the system clock.

`Clock.now_ms()` is wall-clock epoch milliseconds (what Eureka puts on the wire);
`Clock.monotonic()` is seconds for measuring intervals (eviction compensation, back-off).
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now_ms(self) -> int: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock for tests: it moves only when told to. Wall and monotonic time advance together."""

    def __init__(self, start_ms: int = 1_754_500_000_000) -> None:
        self._now_ms = start_ms
        self._mono = 1000.0

    def now_ms(self) -> int:
        return self._now_ms

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now_ms += round(seconds * 1000)
        self._mono += seconds

    def advance_ms(self, ms: int) -> None:
        self.advance(ms / 1000)

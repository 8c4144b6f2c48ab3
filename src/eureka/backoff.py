"""Pure timing policies shared by the client and the server: supervisor back-off (§10.7) and the
replicator's token bucket (§10.9). Neutral ground, so that the server does not load the client."""

from __future__ import annotations

import enum

from eureka.clock import Clock

__all__ = ["RunOutcome", "SupervisorBackoff", "TokenBucket"]


class RunOutcome(enum.Enum):
    COMPLETED = "completed"  # the job finished within its interval (whatever it returned)
    TIMED_OUT = "timed_out"  # the job outlived its interval and was cancelled
    FAILED = "failed"  # the job raised (Java: rejected execution or another exception)


class SupervisorBackoff:
    """`TimedSupervisorTask`'s delay: doubles on timeouts up to `bound × interval`, resets on
    success, unchanged on other errors. Back-off is driven by slowness, not by failures: the
    jobs catch their own HTTP errors and complete normally."""

    __slots__ = ("delay", "interval", "max_delay")

    def __init__(self, interval: float, bound: int) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.max_delay = interval * max(bound, 1)
        self.delay = interval

    def record(self, outcome: RunOutcome) -> float:
        """Account for one run and return the delay before the next one."""
        if outcome is RunOutcome.COMPLETED:
            self.delay = self.interval
        elif outcome is RunOutcome.TIMED_OUT:
            self.delay = min(self.max_delay, self.delay * 2)
        return self.delay


class TokenBucket:
    """Eureka's `RateLimiter`: starts full with `burst` tokens, refills `rate_per_minute`.

    The replicator uses burst 2 and `60 × 2 / instanceInfoReplicationIntervalSeconds` (4) per minute
    for on-demand updates, so a flapping status cannot flood the server with registrations.
    """

    __slots__ = ("_clock", "_last_refill", "_tokens", "burst", "rate_per_minute")

    def __init__(self, clock: Clock, burst: int, rate_per_minute: float) -> None:
        self._clock = clock
        self.burst = burst
        self.rate_per_minute = rate_per_minute
        self._tokens = float(burst)
        self._last_refill = clock.monotonic()

    def try_acquire(self) -> bool:
        now = self._clock.monotonic()
        elapsed = now - self._last_refill
        if elapsed > 0:
            refill = elapsed * self.rate_per_minute / 60
            self._tokens = min(float(self.burst), self._tokens + refill)
            self._last_refill = now
        if self._tokens >= 1 - 1e-9:  # float refills must not lose a token to rounding
            self._tokens = max(0.0, self._tokens - 1)
            return True
        return False

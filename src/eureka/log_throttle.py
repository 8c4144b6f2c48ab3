"""Rate-limited reporting of a repeated failure: one warning, periodic summaries, one recovery.

Pure and clock-driven (no logging here): a driver reports each attempt's outcome and logs what it
is told to. A dead peer then gives one warning when it starts failing, one summary per
`summary_interval_s` while it keeps failing (with how many failures were not logged), and one
line when it recovers — not one line per failed batch, which at 20 ms batching is 50 a second.
Used by `replication/node.py` (per peer) and `server/remote_regions.py` (per region).
"""

from __future__ import annotations

from dataclasses import dataclass

from eureka.clock import Clock

__all__ = ["FirstFailure", "LogThrottle", "Recovered", "StillFailing"]

# Java's peer-status refresh runs every 30 s; a summary a minute is what an operator can read.
DEFAULT_SUMMARY_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class FirstFailure:
    """The first failure after a success (or ever): worth one warning."""

    reason: str


@dataclass(frozen=True, slots=True)
class StillFailing:
    """A summary: `failures` since the previous report, failing for `failing_s` seconds."""

    failures: int
    failing_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class Recovered:
    """The first success after failures: `failures` in total over `failing_s` seconds."""

    failures: int
    failing_s: float


class LogThrottle:
    def __init__(
        self, clock: Clock, summary_interval_s: float = DEFAULT_SUMMARY_INTERVAL_S
    ) -> None:
        self._clock = clock
        self._interval = summary_interval_s
        self._since: float | None = None  # when the current run of failures began
        self._reported_at = 0.0
        self._unreported = 0
        self._total = 0

    @property
    def failing(self) -> bool:
        return self._since is not None

    def failed(self, reason: str) -> FirstFailure | StillFailing | None:
        """Record a failure; what to report now, or None to stay quiet."""
        now = self._clock.monotonic()
        self._total += 1
        if self._since is None:
            self._since = self._reported_at = now
            self._unreported = 0
            return FirstFailure(reason)
        self._unreported += 1
        if now - self._reported_at < self._interval:
            return None
        summary = StillFailing(self._unreported, now - self._since, reason)
        self._reported_at = now
        self._unreported = 0
        return summary

    def succeeded(self) -> Recovered | None:
        """Record a success; a `Recovered` report if it ends a run of failures."""
        if self._since is None:
            return None
        recovered = Recovered(self._total, self._clock.monotonic() - self._since)
        self._since = None
        self._total = 0
        self._unreported = 0
        return recovered

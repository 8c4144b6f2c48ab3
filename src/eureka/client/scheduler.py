"""When each periodic client job runs next (§10.1, §10.7, §10.9), pure and clock-driven.

Both façades ask this schedule which jobs are due and report how each run ended; the schedule
applies the supervisor back-off (`SupervisorBackoff`) and on-demand triggers. A job is never due
again while it runs, so a slow run cannot pile up behind itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from eureka.client.backoff import RunOutcome, SupervisorBackoff
from eureka.clock import Clock

__all__ = ["Job", "Schedule"]


class Job:
    REFRESH = "cache-refresh"
    HEARTBEAT = "heartbeat"
    REPLICATE = "instance-info-replicator"


@dataclass(slots=True)
class _Entry:
    backoff: SupervisorBackoff
    due: float
    running: bool = False
    triggered: bool = False  # an on-demand run was asked for while the job was running


class Schedule:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def add(
        self, job: str, interval: float, *, bound: int = 1, first_delay: float | None = None
    ) -> None:
        """`bound` 1 means a fixed delay (the replicator); the supervised jobs use 10 (§10.12)."""
        start = interval if first_delay is None else first_delay
        self._entries[job] = _Entry(
            SupervisorBackoff(interval, bound), self._clock.monotonic() + start
        )

    def __contains__(self, job: str) -> bool:
        return job in self._entries

    def delay(self, job: str) -> float:
        return self._entries[job].backoff.delay

    def interval(self, job: str) -> float:
        return self._entries[job].backoff.interval

    def due(self) -> list[str]:
        """Jobs whose time has come; they count as running until `completed`."""
        now = self._clock.monotonic()
        ready = [j for j, e in self._entries.items() if not e.running and e.due <= now]
        for job in ready:
            self._entries[job].running = True
        return ready

    def completed(self, job: str, outcome: RunOutcome) -> float:
        """Record a run's outcome; returns the delay until the job's next run."""
        entry = self._entries[job]
        entry.running = False
        delay = entry.backoff.record(outcome)
        entry.due = self._clock.monotonic() + (0.0 if entry.triggered else delay)
        entry.triggered = False
        return delay

    def trigger(self, job: str) -> None:
        """Run `job` as soon as possible (an on-demand replicator run replaces the pending one)."""
        entry = self._entries.get(job)
        if entry is None:
            return
        if entry.running:
            entry.triggered = True
        else:
            entry.due = self._clock.monotonic()

    def next_deadline(self) -> float | None:
        waiting = [e.due for e in self._entries.values() if not e.running]
        return min(waiting) if waiting else None

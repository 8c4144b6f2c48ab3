"""Held watches (`GET /apps/delta?since=R&wait=S`) as pure bookkeeping (propagation.md).

The table stores ids, never futures: the adapter (`eureka.server.watch.WatchHub`) maps ids to
whatever its event loop waits on, asks the table which ids to answer, and answers them (Trio's
split of `park()` from an `unpark_all()` that returns whom to wake). Times are monotonic seconds
(deadlines) from the caller; nothing here sleeps, locks or reads a clock.

Rules.

* A watch is added only when nothing it watches changed after its `since`; otherwise the caller
  answers at once. So the table keeps one invariant: for every watch, nothing it watches
  changed in (since, seen], where `seen` is the revision the table last looked at.
* `ready(source, now)` looks only at the changes after `seen` — one `changes_summary_since`
  call, each change examined once however many watch — and returns the watches whose
  application changed (every watch without a subset, the subsets naming a changed app). Watches
  are indexed by application, so a change costs what it wakes, not what waits.
* A watch may carry `earliest`: it must not be answered before then (the server's per-watcher
  minimum interval under churn). One that becomes ready earlier has its deadline moved to
  `earliest`, and `expired` returns it then, with every change up to that moment.
* If the change log lost entries after `seen`, every watch is ready (its answer will say 410).
* `expired(now)` returns the watches whose deadline passed (timeouts, and held ready watches);
  `next_deadline()` is when to call it next.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from eureka.lag import LagWindow
from eureka.registry.changelog import ChangeSummary

__all__ = ["ChangeSource", "WatchStats", "WatchTable"]


class ChangeSource(Protocol):
    """What the table reads from the registry."""

    @property
    def revision(self) -> int: ...

    def changes_summary_since(self, revision: int) -> ChangeSummary | None: ...


@dataclass(frozen=True, slots=True)
class WatchStats:
    watchers: int  # held now
    peak_watchers: int
    parked: int  # held since start
    answered: int  # held requests answered with changes
    timed_out: int  # held requests answered 304 (nothing changed within `wait`)
    cancelled: int  # clients that went away while held
    # Change → answer, for held requests answered with changes (ms; latest samples).
    lag_samples: int
    lag_p50_ms: int | None
    lag_p99_ms: int | None
    lag_max_ms: int | None


class _Watch:
    __slots__ = ("apps", "deadline", "earliest", "indexed", "since")

    def __init__(
        self,
        since: int,
        apps: frozenset[str] | None,
        deadline: float,
        earliest: float | None,
        indexed: bool,
    ) -> None:
        self.since = since
        self.apps = apps
        self.deadline = deadline
        self.earliest = earliest
        # False once the watch is known to have changes and only waits for its deadline.
        self.indexed = indexed


class WatchTable:
    def __init__(self, revision: int = 0, *, lag_window: int = 2048) -> None:
        self._watches: dict[int, _Watch] = {}
        self._all: set[int] = set()
        self._by_app: dict[str, set[int]] = {}
        self._heap: list[tuple[float, int]] = []
        self._stale = 0  # heap entries whose watch is gone or has another deadline
        self._next_id = 1
        self._seen = revision
        self._peak = 0
        self._parked = 0
        self._answered = 0
        self._timed_out = 0
        self._cancelled = 0
        self._lag = LagWindow(lag_window)

    @property
    def seen_revision(self) -> int:
        return self._seen

    def __len__(self) -> int:
        return len(self._watches)

    def __contains__(self, watch_id: object) -> bool:
        return watch_id in self._watches

    # -- intake ------------------------------------------------------------------------------

    def add(
        self,
        since: int,
        apps: Collection[str] | None,
        *,
        deadline: float,
        earliest: float | None = None,
        changed: bool = False,
    ) -> int:
        """Hold a watch until `deadline`. `changed`: its changes exist already but it may not
        be answered before `earliest` (then `deadline` should be `earliest`); such a watch is
        not indexed, it only waits for its deadline.

        The caller must have brought the table up to the registry's revision (`ready`) first,
        and checked that nothing the watch watches changed after `since`, unless `changed`.
        """
        watch_id = self._next_id
        self._next_id += 1
        subset = None if apps is None else frozenset(apps)
        watch = _Watch(since, subset, deadline, earliest, not changed)
        self._watches[watch_id] = watch
        if not changed:
            self._index(watch_id, subset)
        heapq.heappush(self._heap, (deadline, watch_id))
        self._parked += 1
        self._peak = max(self._peak, len(self._watches))
        return watch_id

    def remove(self, watch_id: int) -> bool:
        """The client went away: forget the watch. False if it was no longer held."""
        watch = self._watches.pop(watch_id, None)
        if watch is None:
            return False
        self._unindex(watch_id, watch)
        self._stale += 1
        self._cancelled += 1
        self._compact()
        return True

    # -- what to answer ----------------------------------------------------------------------

    def ready(self, source: ChangeSource, now: float) -> list[int]:
        """The watches to answer now because something they watch changed after `seen`."""
        revision = source.revision
        if revision == self._seen:
            return []
        if not self._watches:
            self._seen = revision
            return []
        summary = source.changes_summary_since(self._seen)
        self._seen = revision
        if summary is None:
            candidates = [w for w, watch in self._watches.items() if watch.indexed]
        else:
            woken = set(self._all)
            by_app = self._by_app
            for app in summary.apps:
                ids = by_app.get(app)
                if ids:
                    woken.update(ids)
            candidates = list(woken)
        answer: list[int] = []
        for watch_id in candidates:
            watch = self._watches[watch_id]
            self._unindex(watch_id, watch)
            if watch.earliest is not None and watch.earliest > now:
                # Changed, but answered no earlier than `earliest`: with whatever came by then.
                if watch.earliest < watch.deadline:
                    watch.deadline = watch.earliest
                    heapq.heappush(self._heap, (watch.earliest, watch_id))
                    self._stale += 1
                continue
            del self._watches[watch_id]
            self._stale += 1
            answer.append(watch_id)
        self._compact()
        return answer

    def expired(self, now: float) -> list[int]:
        """The watches whose deadline has passed, removed from the table."""
        heap = self._heap
        answer: list[int] = []
        while heap and heap[0][0] <= now:
            deadline, watch_id = heapq.heappop(heap)
            watch = self._watches.get(watch_id)
            if watch is None or watch.deadline != deadline:
                self._stale -= 1
                continue
            del self._watches[watch_id]
            self._unindex(watch_id, watch)
            answer.append(watch_id)
        return answer

    def older_than(self, floor: int) -> list[int]:
        """The watches whose `since` fell out of the change log (a retention prune), removed:
        their answer is a 410. A scan, for the retention timer only."""
        gone = [w for w, watch in self._watches.items() if watch.since < floor]
        for watch_id in gone:
            self._unindex(watch_id, self._watches.pop(watch_id))
            self._stale += 1
        self._compact()
        return gone

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap:
            deadline, watch_id = heap[0]
            watch = self._watches.get(watch_id)
            if watch is not None and watch.deadline == deadline:
                return deadline
            heapq.heappop(heap)
            self._stale -= 1
        return None

    # -- statistics --------------------------------------------------------------------------

    def record_answer(self, lag_ms: int | None) -> None:
        """A held request was answered: with changes (`lag_ms` from the oldest one), or 304."""
        if lag_ms is None:
            self._timed_out += 1
        else:
            self._answered += 1
            self._lag.record(lag_ms)

    def statistics(self) -> WatchStats:
        lag = self._lag.stats()
        return WatchStats(
            watchers=len(self._watches),
            peak_watchers=self._peak,
            parked=self._parked,
            answered=self._answered,
            timed_out=self._timed_out,
            cancelled=self._cancelled,
            lag_samples=lag.samples,
            lag_p50_ms=lag.p50_ms,
            lag_p99_ms=lag.p99_ms,
            lag_max_ms=lag.max_ms,
        )

    # -- internals ---------------------------------------------------------------------------

    def _index(self, watch_id: int, apps: frozenset[str] | None) -> None:
        if apps is None:
            self._all.add(watch_id)
            return
        by_app = self._by_app
        for app in apps:
            ids = by_app.get(app)
            if ids is None:
                by_app[app] = {watch_id}
            else:
                ids.add(watch_id)

    def _unindex(self, watch_id: int, watch: _Watch) -> None:
        if not watch.indexed:
            return
        watch.indexed = False
        if watch.apps is None:
            self._all.discard(watch_id)
            return
        by_app = self._by_app
        for app in watch.apps:
            ids = by_app.get(app)
            if ids is not None:
                ids.discard(watch_id)
                if not ids:
                    del by_app[app]

    def _compact(self) -> None:
        """Rebuild the deadline heap once most of it is stale (watches answered or cancelled
        long before their deadline), so that memory follows the watches actually held."""
        if self._stale > 1024 and self._stale > len(self._watches):
            self._heap = [(w.deadline, i) for i, w in self._watches.items()]
            heapq.heapify(self._heap)
            self._stale = 0

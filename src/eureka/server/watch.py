"""The asyncio driver of the watch table: held requests as futures, one timer for all of them.

`EurekaApp.handle` stays synchronous: a watch that must wait returns a `HeldRequest` (the
`server.http.Parked` seam), which every HTTP layer awaits. The hub decides nothing — the pure
`registry.watch.WatchTable` says which ids to answer — it maps ids to futures, resolves them,
and keeps one `call_later` timer on the table's `next_deadline()`.

`unpark_ready()` runs after every mutating call (the HTTP writes and replication batches, the
eviction timer, the start-up sync and replication follow-ups). When nothing changed it costs
one integer compare; when something did, one pass over the new changes wakes every held request
that watches them, all in the same turn of the loop. Held requests hold no thread: a waiting
watcher is a future, a table row and its connection.

The answer is built when the request resumes (`answer()`, given by the app), so a watcher woken
by a change gets every change made until it runs, and thousands of watchers woken by one change
share one encoded payload (the app's memo).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Protocol

from eureka.clock import Clock
from eureka.registry.watch import ChangeSource, WatchStats, WatchTable
from eureka.server.http import Response

__all__ = ["Answer", "HeldRequest", "WatchHub"]

# Builds a held request's response when it resumes: (response, when the oldest change it lists
# happened — None for a 304).
Answer = Callable[[], tuple[Response, int | None]]


class HeldRequest:
    """A parked watch (implements `server.http.Parked`)."""

    __slots__ = ("_answer", "_future", "_hub", "_id")

    def __init__(self, hub: WatchHub, watch_id: int, answer: Answer) -> None:
        self._hub = hub
        self._id = watch_id
        self._answer = answer
        self._future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def wait(self) -> Response:
        await self._future
        response, changed_ms = self._answer()
        self._hub.record_answer(changed_ms)
        return response

    def cancel(self) -> None:
        self._hub.release(self._id)
        if not self._future.done():
            self._future.cancel()  # a pending `wait()` ends (CancelledError) rather than hang


class PrunableSource(ChangeSource, Protocol):
    @property
    def oldest_revision(self) -> int: ...


class WatchHub:
    def __init__(self, source: PrunableSource, clock: Clock) -> None:
        self._source = source
        self._clock = clock
        self._table = WatchTable(source.revision)
        self._held: dict[int, HeldRequest] = {}
        self._seen = source.revision
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._closed = False

    # -- called by the app -------------------------------------------------------------------

    def park(
        self,
        since: int,
        apps: Collection[str] | None,
        *,
        deadline: float,
        answer: Answer,
        earliest: float | None = None,
        changed: bool = False,
    ) -> HeldRequest:
        """Hold a watch (see `WatchTable.add`); call from within the running event loop."""
        self.unpark_ready()  # the table must have seen every change before it takes a watch
        if self._closed:
            deadline = self._clock.monotonic()  # shutting down: answer at once
        watch_id = self._table.add(
            since, apps, deadline=deadline, earliest=earliest, changed=changed
        )
        held = HeldRequest(self, watch_id, answer)
        self._held[watch_id] = held
        self._schedule()
        return held

    def unpark_ready(self) -> None:
        """Wake the held requests that a change since the last call concerns."""
        if self._source.revision == self._seen:
            return
        self._seen = self._source.revision
        self._resolve(self._table.ready(self._source, self._clock.monotonic()))
        self._schedule()

    def unpark_pruned(self) -> None:
        """After a retention prune: answer (410) the held requests whose revision is gone."""
        if self._held:
            self._resolve(self._table.older_than(self._source.oldest_revision))
            self._schedule()

    def release(self, watch_id: int) -> None:
        """The client went away: forget its held request."""
        if self._held.pop(watch_id, None) is not None:
            self._table.remove(watch_id)
            self._schedule()

    def record_answer(self, changed_ms: int | None) -> None:
        lag = None if changed_ms is None else self._clock.now_ms() - changed_ms
        self._table.record_answer(lag)

    def stats(self) -> WatchStats:
        return self._table.statistics()

    def __len__(self) -> int:
        return len(self._held)

    # -- the timer ---------------------------------------------------------------------------

    def answer_expired(self) -> None:
        """The timer: answer every held request whose deadline has passed."""
        self._timer = None
        self._timer_at = None
        self._resolve(self._table.expired(self._clock.monotonic()))
        self._schedule()

    def close(self) -> None:
        """Answer everything still held, and from now on every new watch at once (shutdown)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        self._resolve(self._table.expired(float("inf")))

    def _resolve(self, watch_ids: list[int]) -> None:
        held = self._held
        for watch_id in watch_ids:
            request = held.pop(watch_id, None)
            if request is not None and not request._future.done():
                request._future.set_result(None)

    def _schedule(self) -> None:
        deadline = self._table.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        if deadline is None:
            return
        delay = max(0.0, deadline - self._clock.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self.answer_expired)
        self._timer_at = deadline

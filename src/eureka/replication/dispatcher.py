"""The per-peer batching dispatcher (protocol.md §8.4, §8.5), as pure state.

Java runs this as an acceptor thread plus worker threads (`util/batcher/AcceptorExecutor`,
`TaskExecutors`, `TrafficShaper`). Here it is one object driven from outside: the caller submits
tasks, asks for the next batch when `next_wakeup()` says one may be ready, ships it, and reports
the outcome. Time comes only from the injected clock, so every rule is testable with ManualClock.

Behaviour kept from Java:
* pending tasks are keyed by task id; a newer task with a pending id replaces the payload in place
  and keeps the queue position ("overridden");
* at capacity the oldest pending task is dropped to admit a new one;
* a batch takes up to `batch_size` tasks in FIFO order, dropping expired ones;
* congestion (503, read timeout) and transient (connect) failures put the batch back at the front
  of the queue — unless a task expired or a newer one with its id is pending — and pause sending
  for 1000 ms / 100 ms; other failures drop the batch. There is no retry counter: expiry bounds it.

Deliberate differences:
* `max_batching_delay_ms` defaults to 20 ms, not 500 ms: our target is sub-second convergence
  across the cluster, and at 20 ms a node renewing 100k leases (≈3.3k heartbeats/s) still fills
  batches of ~70 items, so the request rate stays modest.
* A replaced task keeps its original enqueue time for the batching delay (Java restarts it), so an
  id that is replaced often is not held back; its expiry is renewed from the newest submission.
* Java drops the oldest task when full even if the incoming id was already pending; we only evict
  when the new task actually needs a slot.
* `max_in_flight` (Java's worker count) is enforced here: while that many batches are out, tasks
  stay pending, where newer tasks can still replace them.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Sequence

import msgspec

from eureka.clock import Clock
from eureka.errors import BadInput
from eureka.lag import LagWindow
from eureka.model import InstanceInfo

from .protocol import Action, ReplicationInstance, ReplicationItemResult

__all__ = [
    "AdoptPeerCopy",
    "Batch",
    "BatchOutcome",
    "Congestion",
    "DispatcherConfig",
    "DispatcherStats",
    "FollowUp",
    "PermanentFailure",
    "QueuedTask",
    "ReRegister",
    "Success",
    "TaskDispatcher",
    "TransientFailure",
]


@dataclasses.dataclass(frozen=True, slots=True)
class DispatcherConfig:
    # maxElementsInPeerReplicationPool (§11.2).
    max_pending: int = 10_000
    # Java's BATCH_SIZE.
    batch_size: int = 250
    # Java's MAX_BATCHING_DELAY_MS is 500; see the module docstring for 20.
    max_batching_delay_ms: int = 20
    # maxThreadsForPeerReplication: batches in flight to one peer at a time.
    max_in_flight: int = 20
    # Java's SERVER_UNAVAILABLE_SLEEP_TIME_MS and RETRY_SLEEP_TIME_MS, and TrafficShaper's cap.
    congestion_pause_ms: int = 1000
    transient_pause_ms: int = 100
    max_pause_ms: int = 30_000
    # syncWhenTimestampDiffers (§11.1): adopt the peer's copy on a heartbeat conflict.
    sync_when_timestamp_differs: bool = True

    def __post_init__(self) -> None:
        for name in ("max_pending", "batch_size", "max_in_flight"):
            if getattr(self, name) < 1:
                raise BadInput(f"{name} must be at least 1")
        for name in (
            "max_batching_delay_ms",
            "congestion_pause_ms",
            "transient_pause_ms",
            "max_pause_ms",
        ):
            if getattr(self, name) < 0:
                raise BadInput(f"{name} must not be negative")


class QueuedTask(msgspec.Struct, gc=False):
    """A task waiting for (or travelling in) a batch. Times are clock.monotonic() seconds.

    A gc=False Struct: a full queue holds 10,000 of these per peer, and untracked objects keep
    the cycle collector from walking them (they hold no cycles)."""

    task_id: str
    item: ReplicationInstance
    queued_at: float
    expires_at: float


@dataclasses.dataclass(frozen=True, slots=True)
class Batch:
    tasks: tuple[QueuedTask, ...]
    created_at: float

    @property
    def items(self) -> list[ReplicationInstance]:
        return [task.item for task in self.tasks]

    def __len__(self) -> int:
        return len(self.tasks)


# Outcomes of shipping one batch, as classified by the transport (§8.4 "Result handling").


@dataclasses.dataclass(frozen=True, slots=True)
class Success:
    """2xx: the peer's per-item verdicts, in request order."""

    results: Sequence[ReplicationItemResult]


@dataclasses.dataclass(frozen=True, slots=True)
class Congestion:
    """503 or a read timeout: the peer is alive but overloaded."""

    reason: str = "congestion"


@dataclasses.dataclass(frozen=True, slots=True)
class TransientFailure:
    """A connection-level error: the peer may be restarting."""

    reason: str = "network error"


@dataclasses.dataclass(frozen=True, slots=True)
class PermanentFailure:
    """Any other status or error: retrying the same bytes would fail the same way."""

    reason: str = "permanent error"


BatchOutcome = Success | Congestion | TransientFailure | PermanentFailure


# Follow-ups the caller must carry out (§8.5); the dispatcher has no registry to do them itself.


@dataclasses.dataclass(frozen=True, slots=True)
class ReRegister:
    """The peer does not know this instance: enqueue a Register with our current local copy."""

    app_name: str
    id: str


@dataclasses.dataclass(frozen=True, slots=True)
class AdoptPeerCopy:
    """The peer holds a newer copy (heartbeat 409): store its override if set, then register it
    locally as a replication (not re-replicated)."""

    app_name: str
    id: str
    instance: InstanceInfo


FollowUp = ReRegister | AdoptPeerCopy


@dataclasses.dataclass(frozen=True, slots=True)
class DispatcherStats:
    pending: int
    oldest_pending_age_ms: int
    in_flight: int
    paused_for_ms: int
    last_success_ms: int | None  # wall-clock epoch ms of the last 2xx batch
    consecutive_failures: int
    # The last failed batch's reason and epoch ms (kept after a recovery, so that a status page
    # can say "recovered" rather than show an error with no time), and when the current run
    # of failures began (None while the last batch succeeded).
    last_error: str | None
    last_failure_ms: int | None
    failing_since_ms: int | None
    submitted: int
    overridden: int
    dropped_overflow: int
    expired: int
    requeued: int
    dropped_permanent: int
    batches_sent: int
    batches_succeeded: int
    batches_congested: int
    batches_transient: int
    batches_permanent: int
    items_succeeded: int
    items_failed: int
    mismatched_responses: int
    follow_ups: int
    # From a change's submission (its first, if replaced while pending) to the peer's 2xx for
    # that item; heartbeats, which change nothing, are not counted. Latest 2,048 / since start.
    ack_lag_samples: int
    ack_lag_p50_ms: int | None
    ack_lag_p99_ms: int | None
    ack_lag_max_ms: int | None

    def as_dict(self) -> dict[str, int | str | None]:
        return dataclasses.asdict(self)


class TaskDispatcher:
    def __init__(self, config: DispatcherConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._pending: OrderedDict[str, QueuedTask] = OrderedDict()
        self._delay = config.max_batching_delay_ms / 1000
        self._paused_until = float("-inf")
        self._in_flight = 0
        self._last_success_ms: int | None = None
        self._consecutive_failures = 0
        self._last_error: str | None = None
        self._last_failure_ms: int | None = None
        self._failing_since_ms: int | None = None
        self._submitted = 0
        self._overridden = 0
        self._dropped_overflow = 0
        self._expired = 0
        self._requeued = 0
        self._dropped_permanent = 0
        self._batches_sent = 0
        self._batches_succeeded = 0
        self._batches_congested = 0
        self._batches_transient = 0
        self._batches_permanent = 0
        self._items_succeeded = 0
        self._items_failed = 0
        self._mismatched = 0
        self._follow_ups = 0
        self._ack_lag = LagWindow()

    # ---------------------------------------------------------------- intake

    def submit(self, task_id: str, item: ReplicationInstance, expiry_ms: int) -> bool:
        """Queue `item` under `task_id` for at most `expiry_ms` from now.

        Returns True when this submission can make a batch due earlier than `next_wakeup()`
        said before it: the queue was empty, or it now holds a full batch. Otherwise the
        driver's pending wake-up time still stands and it need not re-evaluate — which spares
        it one event-loop wake-up per task on the hot path (a heartbeat per renewal per peer).
        """
        now = self.clock.monotonic()
        expires_at = now + expiry_ms / 1000
        self._submitted += 1
        pending = self._pending
        existing = pending.get(task_id)
        if existing is not None:
            existing.item = item
            existing.expires_at = expires_at
            self._overridden += 1
            return False
        if len(pending) >= self.config.max_pending:
            # Dropping the oldest can only move the due time later: a wake-up already
            # scheduled for the old time just finds nothing due and re-evaluates.
            pending.popitem(last=False)
            self._dropped_overflow += 1
        pending[task_id] = QueuedTask(task_id, item, now, expires_at)
        size = len(pending)
        return size in (1, self.config.batch_size)

    # ---------------------------------------------------------------- batching

    def _ready_at(self) -> float | None:
        """When the pending queue qualifies for a batch, ignoring pauses and in-flight limits."""
        pending = self._pending
        if not pending:
            return None
        if len(pending) >= self.config.batch_size:
            return float("-inf")
        oldest = next(iter(pending.values()))
        return oldest.queued_at + self._delay

    def next_batch(self) -> Batch | None:
        """The next batch to ship now, or None. The caller must report it to on_batch_result."""
        if self._in_flight >= self.config.max_in_flight:
            return None
        now = self.clock.monotonic()
        if now < self._paused_until:
            return None
        ready_at = self._ready_at()
        if ready_at is None or now < ready_at:
            return None
        pending = self._pending
        size = self.config.batch_size
        tasks: list[QueuedTask] = []
        while pending and len(tasks) < size:
            _, task = pending.popitem(last=False)
            if task.expires_at <= now:
                self._expired += 1
                continue
            tasks.append(task)
        if not tasks:
            return None
        self._in_flight += 1
        self._batches_sent += 1
        return Batch(tuple(tasks), now)

    def next_wakeup(self) -> float | None:
        """clock.monotonic() time at which next_batch may return a batch; None means not before
        the next submit or batch result."""
        if self._in_flight >= self.config.max_in_flight:
            return None
        ready_at = self._ready_at()
        if ready_at is None:
            return None
        return max(ready_at, self._paused_until, self.clock.monotonic())

    # ---------------------------------------------------------------- results

    def on_batch_result(self, batch: Batch, outcome: BatchOutcome) -> list[FollowUp]:
        self._in_flight -= 1
        if isinstance(outcome, Success):
            return self._on_success(batch, outcome.results)
        self._consecutive_failures += 1
        now_ms = self.clock.now_ms()
        self._last_error = outcome.reason
        self._last_failure_ms = now_ms
        if self._failing_since_ms is None:
            self._failing_since_ms = now_ms
        if isinstance(outcome, Congestion):
            self._batches_congested += 1
            self._requeue(batch)
            self._pause(self.config.congestion_pause_ms)
        elif isinstance(outcome, TransientFailure):
            self._batches_transient += 1
            self._requeue(batch)
            self._pause(self.config.transient_pause_ms)
        else:
            self._batches_permanent += 1
            self._dropped_permanent += len(batch.tasks)
        return []

    def _on_success(self, batch: Batch, results: Sequence[ReplicationItemResult]) -> list[FollowUp]:
        self._batches_succeeded += 1
        self._consecutive_failures = 0
        self._failing_since_ms = None
        self._last_success_ms = self.clock.now_ms()
        if len(results) != len(batch.tasks):
            # Java (`ReplicationTaskProcessor.handleBatchResponse`) logs and skips the analysis:
            # without a one-to-one pairing no verdict can be attributed to a task.
            self._mismatched += 1
            return []
        follow_ups: list[FollowUp] = []
        now = self.clock.monotonic()
        for task, result in zip(batch.tasks, results, strict=True):
            code = result.status_code
            if 200 <= code < 300:
                self._items_succeeded += 1
                if task.item.action is not Action.HEARTBEAT:
                    self._ack_lag.record(round((now - task.queued_at) * 1000))
                continue
            self._items_failed += 1
            item = task.item
            # Only heartbeats have failure handlers in Java (`PeerEurekaNode.heartbeat`); other
            # failures (e.g. a cancel's 404) are logged only.
            if item.action is not Action.HEARTBEAT:
                continue
            if code == 404:
                follow_ups.append(ReRegister(item.app_name, item.id))
            elif self.config.sync_when_timestamp_differs and result.response_entity is not None:
                follow_ups.append(AdoptPeerCopy(item.app_name, item.id, result.response_entity))
        self._follow_ups += len(follow_ups)
        return follow_ups

    def _requeue(self, batch: Batch) -> None:
        """Put a failed batch back at the front in its original order (Java's reprocess queue)."""
        now = self.clock.monotonic()
        pending = self._pending
        tasks = batch.tasks
        # Walk newest-first, pushing each to the front, so the batch's order survives.
        for index in range(len(tasks) - 1, -1, -1):
            task = tasks[index]
            if task.expires_at <= now:
                self._expired += 1
            elif task.task_id in pending:
                self._overridden += 1  # a newer task with this id is already waiting
            elif len(pending) >= self.config.max_pending:
                self._dropped_overflow += index + 1
                break
            else:
                pending[task.task_id] = task
                pending.move_to_end(task.task_id, last=False)
                self._requeued += 1

    def _pause(self, pause_ms: int) -> None:
        until = self.clock.monotonic() + min(pause_ms, self.config.max_pause_ms) / 1000
        self._paused_until = max(self._paused_until, until)

    # ---------------------------------------------------------------- inspection

    def clear(self) -> int:
        """Drop every pending task (a removed peer's queue, §8.7); returns how many."""
        count = len(self._pending)
        self._pending.clear()
        return count

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def pending_ids(self) -> list[str]:
        return list(self._pending)

    def stats(self) -> DispatcherStats:
        now = self.clock.monotonic()
        ack = self._ack_lag.stats()
        oldest_age = 0.0
        if self._pending:
            oldest_age = now - next(iter(self._pending.values())).queued_at
        return DispatcherStats(
            pending=len(self._pending),
            oldest_pending_age_ms=round(oldest_age * 1000),
            in_flight=self._in_flight,
            paused_for_ms=round(max(0.0, self._paused_until - now) * 1000),
            last_success_ms=self._last_success_ms,
            consecutive_failures=self._consecutive_failures,
            last_error=self._last_error,
            last_failure_ms=self._last_failure_ms,
            failing_since_ms=self._failing_since_ms,
            submitted=self._submitted,
            overridden=self._overridden,
            dropped_overflow=self._dropped_overflow,
            expired=self._expired,
            requeued=self._requeued,
            dropped_permanent=self._dropped_permanent,
            batches_sent=self._batches_sent,
            batches_succeeded=self._batches_succeeded,
            batches_congested=self._batches_congested,
            batches_transient=self._batches_transient,
            batches_permanent=self._batches_permanent,
            items_succeeded=self._items_succeeded,
            items_failed=self._items_failed,
            mismatched_responses=self._mismatched,
            follow_ups=self._follow_ups,
            ack_lag_samples=ack.samples,
            ack_lag_p50_ms=ack.p50_ms,
            ack_lag_p99_ms=ack.p99_ms,
            ack_lag_max_ms=ack.max_ms,
        )

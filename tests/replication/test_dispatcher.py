"""The pure batching dispatcher (protocol.md §8.4, §8.5), driven by a ManualClock."""

from __future__ import annotations

import pytest

from eureka.clock import ManualClock
from eureka.errors import BadInput
from eureka.model import InstanceInfo, InstanceStatus
from eureka.replication.dispatcher import (
    AdoptPeerCopy,
    Batch,
    Congestion,
    DispatcherConfig,
    PermanentFailure,
    ReRegister,
    Success,
    TaskDispatcher,
    TransientFailure,
)
from eureka.replication.protocol import (
    Action,
    ReplicationInstance,
    ReplicationItemResult,
    cancel_task,
    heartbeat_task,
)

DELAY_MS = 20


def make(clock: ManualClock, **overrides: int | bool) -> TaskDispatcher:
    config = DispatcherConfig(**{"max_batching_delay_ms": DELAY_MS, **overrides})  # type: ignore[arg-type]
    return TaskDispatcher(config, clock)


def hb(n: int, *, status: str = "UP", ts: int = 1) -> tuple[str, ReplicationInstance]:
    item = ReplicationInstance(
        "APP", f"i-{n}", Action.HEARTBEAT, last_dirty_timestamp=ts, status=status
    )
    return f"heartbeat#APP/i-{n}", item


def submit_hb(d: TaskDispatcher, n: int, *, expiry_ms: int = 30_000, **kw: object) -> None:
    task_id, item = hb(n, **kw)  # type: ignore[arg-type]
    d.submit(task_id, item, expiry_ms)


def take(d: TaskDispatcher) -> Batch:
    batch = d.next_batch()
    assert batch is not None
    return batch


def ids(batch: Batch) -> list[str]:
    return [item.id for item in batch.items]


def ok(batch: Batch) -> Success:
    return Success([ReplicationItemResult(200) for _ in batch.tasks])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


# ------------------------------------------------------------------ intake


def test_newer_task_with_pending_id_replaces_payload_in_place(clock: ManualClock) -> None:
    d = make(clock)
    for n in range(3):
        submit_hb(d, n)
    submit_hb(d, 0, status="DOWN")  # same id as the first: replaces it, keeps position
    assert d.pending_ids() == ["heartbeat#APP/i-0", "heartbeat#APP/i-1", "heartbeat#APP/i-2"]
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    assert ids(batch) == ["i-0", "i-1", "i-2"]
    assert batch.items[0].status == "DOWN"
    stats = d.stats()
    assert (stats.submitted, stats.overridden, stats.pending) == (4, 1, 0)


def test_capacity_drops_the_oldest_pending_task(clock: ManualClock) -> None:
    d = make(clock, max_pending=3)
    for n in range(5):
        submit_hb(d, n)
    assert d.pending_ids() == [f"heartbeat#APP/i-{n}" for n in (2, 3, 4)]
    assert d.stats().dropped_overflow == 2


def test_replacing_a_pending_id_at_capacity_drops_nothing(clock: ManualClock) -> None:
    d = make(clock, max_pending=3)
    for n in range(3):
        submit_hb(d, n)
    submit_hb(d, 1, status="DOWN")
    assert len(d) == 3
    assert d.stats().dropped_overflow == 0


# ------------------------------------------------------------------ batch release


def test_batch_is_released_once_the_oldest_task_waited_the_delay(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1)
    assert d.next_batch() is None
    assert d.next_wakeup() == pytest.approx(clock.monotonic() + DELAY_MS / 1000)
    clock.advance_ms(DELAY_MS - 1)
    submit_hb(d, 2)  # a younger task neither holds the batch back nor is left behind
    assert d.next_batch() is None
    clock.advance_ms(1)
    assert ids(take(d)) == ["i-1", "i-2"]
    assert d.next_batch() is None
    assert d.next_wakeup() is None  # nothing pending: only a submit can create work


def test_full_batch_is_released_immediately_and_capped(clock: ManualClock) -> None:
    d = make(clock, batch_size=4)
    for n in range(3):
        submit_hb(d, n)
    assert d.next_batch() is None
    for n in range(3, 10):
        submit_hb(d, n)
    assert d.next_wakeup() == clock.monotonic()
    assert ids(take(d)) == ["i-0", "i-1", "i-2", "i-3"]
    assert ids(take(d)) == ["i-4", "i-5", "i-6", "i-7"]
    # Two left: below the batch size, so they wait for the delay.
    assert d.next_batch() is None
    clock.advance_ms(DELAY_MS)
    assert ids(take(d)) == ["i-8", "i-9"]


def test_expired_tasks_are_skipped_and_counted(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1, expiry_ms=10)
    submit_hb(d, 2, expiry_ms=30_000)
    submit_hb(d, 3, expiry_ms=15)
    clock.advance_ms(DELAY_MS)
    assert ids(take(d)) == ["i-2"]
    assert d.stats().expired == 2


def test_batch_of_only_expired_tasks_is_not_released(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1, expiry_ms=5)
    clock.advance_ms(DELAY_MS)
    assert d.next_batch() is None
    assert len(d) == 0
    assert d.stats().expired == 1
    assert d.in_flight == 0


def test_replacement_renews_expiry_but_keeps_the_batching_age(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1, expiry_ms=10)
    clock.advance_ms(DELAY_MS - 5)
    submit_hb(d, 1, expiry_ms=10_000, status="DOWN")
    clock.advance_ms(5)  # the original enqueue time has now waited the delay
    batch = take(d)
    assert ids(batch) == ["i-1"]
    assert batch.items[0].status == "DOWN"


def test_in_flight_limit_holds_batches_back(clock: ManualClock) -> None:
    d = make(clock, batch_size=1, max_in_flight=2)
    for n in range(4):
        submit_hb(d, n)
    first, second = take(d), take(d)
    assert d.next_batch() is None
    assert d.next_wakeup() is None  # a batch result must come first
    assert d.in_flight == 2
    assert d.on_batch_result(first, ok(first)) == []
    assert ids(take(d)) == ["i-2"]
    d.on_batch_result(second, ok(second))
    assert d.stats().in_flight == 1


# ------------------------------------------------------------------ failures


def test_congestion_requeues_at_the_front_and_pauses(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1)
    submit_hb(d, 2)
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    submit_hb(d, 3)  # arrives while the batch is out
    assert d.on_batch_result(batch, Congestion()) == []
    assert d.pending_ids() == ["heartbeat#APP/i-1", "heartbeat#APP/i-2", "heartbeat#APP/i-3"]
    # Paused for 1000 ms although the re-queued tasks are old enough to go.
    assert d.next_batch() is None
    assert d.next_wakeup() == pytest.approx(clock.monotonic() + 1.0)
    clock.advance_ms(999)
    assert d.next_batch() is None
    clock.advance_ms(1)
    assert ids(take(d)) == ["i-1", "i-2", "i-3"]
    stats = d.stats()
    assert (stats.batches_congested, stats.requeued, stats.consecutive_failures) == (1, 2, 1)


def test_requeue_drops_tasks_superseded_while_in_flight(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1)
    submit_hb(d, 2)
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    submit_hb(d, 2, status="DOWN")  # a newer heartbeat for i-2 is already waiting
    d.on_batch_result(batch, Congestion())
    clock.advance_ms(1000)
    retry = take(d)
    assert ids(retry) == ["i-1", "i-2"]
    assert retry.items[1].status == "DOWN"
    assert d.stats().overridden == 1


def test_requeue_drops_tasks_that_expired_in_flight(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1, expiry_ms=100)
    submit_hb(d, 2, expiry_ms=30_000)
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    clock.advance_ms(200)  # the POST took long enough for i-1 to expire
    d.on_batch_result(batch, Congestion())
    assert d.pending_ids() == ["heartbeat#APP/i-2"]
    assert d.stats().expired == 1


def test_requeue_into_a_full_queue_drops_the_rest(clock: ManualClock) -> None:
    d = make(clock, max_pending=3, batch_size=2)
    submit_hb(d, 1)
    submit_hb(d, 2)
    batch = take(d)
    for n in (3, 4):
        submit_hb(d, n)
    d.on_batch_result(batch, TransientFailure())
    # One free slot: the batch's last task goes back to the front, the first is dropped.
    assert d.pending_ids() == ["heartbeat#APP/i-2", "heartbeat#APP/i-3", "heartbeat#APP/i-4"]
    assert d.stats().dropped_overflow == 1


def test_transient_failure_requeues_and_pauses_briefly(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1)
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    d.on_batch_result(batch, TransientFailure("connect refused"))
    assert d.next_batch() is None
    clock.advance_ms(99)
    assert d.next_batch() is None
    clock.advance_ms(1)
    assert ids(take(d)) == ["i-1"]
    assert d.stats().batches_transient == 1


def test_permanent_failure_drops_the_batch(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1)
    submit_hb(d, 2)
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    d.on_batch_result(batch, PermanentFailure("HTTP 400"))
    assert len(d) == 0
    assert d.next_wakeup() is None
    stats = d.stats()
    assert (stats.dropped_permanent, stats.batches_permanent, stats.consecutive_failures) == (
        2,
        1,
        1,
    )


def test_pauses_are_capped(clock: ManualClock) -> None:
    d = make(clock, congestion_pause_ms=120_000, max_pause_ms=30_000)
    submit_hb(d, 1)
    clock.advance_ms(DELAY_MS)
    d.on_batch_result(take(d), Congestion())
    assert d.next_wakeup() == pytest.approx(clock.monotonic() + 30.0)


def test_success_resets_consecutive_failures_and_records_time(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1)
    clock.advance_ms(DELAY_MS)
    d.on_batch_result(take(d), TransientFailure())
    clock.advance_ms(100)
    batch = take(d)
    d.on_batch_result(batch, ok(batch))
    stats = d.stats()
    assert stats.consecutive_failures == 0
    assert stats.last_success_ms == clock.now_ms()
    assert (stats.items_succeeded, stats.batches_succeeded) == (1, 1)


# ------------------------------------------------------------------ per-item results


def test_heartbeat_404_asks_for_a_register_and_409_for_adoption(clock: ManualClock) -> None:
    d = make(clock)
    peer_copy = InstanceInfo(app="APP", instance_id="i-2", host_name="h2", last_dirty_timestamp=9)
    for n in (1, 2, 3):
        submit_hb(d, n)
    d.submit(*cancel_task("APP", "i-4"))
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    results = [
        ReplicationItemResult(404),
        ReplicationItemResult(409, peer_copy),
        ReplicationItemResult(200),
        ReplicationItemResult(404),  # a cancel's 404 is only logged (§8.5)
    ]
    follow_ups = d.on_batch_result(batch, Success(results))
    assert follow_ups == [ReRegister("APP", "i-1"), AdoptPeerCopy("APP", "i-2", peer_copy)]
    stats = d.stats()
    assert (stats.items_succeeded, stats.items_failed, stats.follow_ups) == (1, 3, 2)


def test_conflict_without_entity_or_with_sync_disabled_is_not_adopted(
    clock: ManualClock,
) -> None:
    peer_copy = InstanceInfo(app="APP", instance_id="i-1", host_name="h1")
    for sync, entity in ((True, None), (False, peer_copy)):
        d = make(clock, sync_when_timestamp_differs=sync)
        submit_hb(d, 1)
        clock.advance_ms(DELAY_MS)
        batch = take(d)
        assert d.on_batch_result(batch, Success([ReplicationItemResult(409, entity)])) == []


def test_response_of_the_wrong_length_is_not_attributed(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1)
    submit_hb(d, 2)
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    assert d.on_batch_result(batch, Success([ReplicationItemResult(404)])) == []
    assert d.stats().mismatched_responses == 1
    assert len(d) == 0


def test_task_builders_feed_the_dispatcher(clock: ManualClock) -> None:
    d = make(clock)
    info = InstanceInfo(app="APP", instance_id="i-1", host_name="h", last_dirty_timestamp=5)
    d.submit(*heartbeat_task(info, InstanceStatus.OUT_OF_SERVICE))
    d.submit(*heartbeat_task(info))  # replaces the first: same id
    clock.advance_ms(DELAY_MS)
    (item,) = take(d).items
    assert (item.action, item.overridden_status, item.last_dirty_timestamp) == (
        Action.HEARTBEAT,
        None,
        5,
    )


def test_clear_drops_pending_tasks(clock: ManualClock) -> None:
    d = make(clock)
    for n in range(3):
        submit_hb(d, n)
    assert d.clear() == 3
    assert len(d) == 0


def test_config_rejects_nonsense() -> None:
    with pytest.raises(BadInput):
        DispatcherConfig(batch_size=0)
    with pytest.raises(BadInput):
        DispatcherConfig(max_batching_delay_ms=-1)


def test_stats_report_queue_age_and_pause(clock: ManualClock) -> None:
    d = make(clock)
    submit_hb(d, 1)
    clock.advance_ms(7)
    stats = d.stats()
    assert (stats.pending, stats.oldest_pending_age_ms, stats.paused_for_ms) == (1, 7, 0)
    clock.advance_ms(DELAY_MS)
    d.on_batch_result(take(d), Congestion())
    clock.advance_ms(250)
    assert d.stats().paused_for_ms == 750
    assert d.stats().as_dict()["batches_congested"] == 1


def test_failures_record_their_reason_time_and_start_and_a_success_ends_the_run(
    clock: ManualClock,
) -> None:
    d = make(clock)
    assert (d.stats().last_error, d.stats().failing_since_ms) == (None, None)
    submit_hb(d, 1)
    clock.advance_ms(DELAY_MS)
    first_failure = clock.now_ms()
    d.on_batch_result(take(d), TransientFailure("ConnectError: refused"))
    clock.advance(1)
    d.on_batch_result(take(d), Congestion("503 Service Unavailable"))
    stats = d.stats()
    assert stats.last_error == "503 Service Unavailable"
    assert (stats.failing_since_ms, stats.last_failure_ms) == (first_failure, clock.now_ms())
    clock.advance(1)
    d.on_batch_result(take(d), Success([ReplicationItemResult(200)]))
    recovered = d.stats()
    # The error and its time stay visible, the run of failures is over.
    assert (recovered.consecutive_failures, recovered.failing_since_ms) == (0, None)
    assert recovered.last_error == "503 Service Unavailable"
    assert recovered.last_failure_ms == first_failure + 1000


# ------------------------------------------------------------------ acknowledgement lag


def test_ack_lag_runs_from_a_change_to_the_peers_2xx_and_ignores_heartbeats(
    clock: ManualClock,
) -> None:
    d = make(clock)
    cancel = cancel_task("APP", "i-1")
    d.submit(cancel.task_id, cancel.item, cancel.expiry_ms)
    submit_hb(d, 2)
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    clock.advance_ms(15)  # the peer answers 35 ms after the cancel was submitted
    d.on_batch_result(batch, ok(batch))
    stats = d.stats()
    assert (stats.ack_lag_samples, stats.ack_lag_p50_ms, stats.ack_lag_max_ms) == (1, 35, 35)


def test_ack_lag_counts_retries_and_nothing_for_failed_items(clock: ManualClock) -> None:
    d = make(clock)
    cancel = cancel_task("APP", "i-1")
    d.submit(cancel.task_id, cancel.item, cancel.expiry_ms)
    clock.advance_ms(DELAY_MS)
    batch = take(d)
    d.on_batch_result(batch, TransientFailure())
    assert d.stats().ack_lag_samples == 0
    clock.advance_ms(200)
    retried = take(d)
    d.on_batch_result(retried, Success([ReplicationItemResult(404)]))
    assert d.stats().ack_lag_samples == 0
    again = cancel_task("APP", "i-2")
    d.submit(again.task_id, again.item, again.expiry_ms)
    clock.advance_ms(DELAY_MS)
    third = take(d)
    d.on_batch_result(third, TransientFailure())
    clock.advance_ms(200)
    fourth = take(d)
    d.on_batch_result(fourth, ok(fourth))
    assert d.stats().ack_lag_max_ms == DELAY_MS + 200

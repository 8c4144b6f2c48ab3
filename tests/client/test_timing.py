"""Supervisor back-off (§10.7), the periodic schedule and the replicator's token bucket (§10.9)."""

from __future__ import annotations

from eureka.client.backoff import RunOutcome, SupervisorBackoff, TokenBucket
from eureka.client.scheduler import Job, Schedule
from eureka.clock import ManualClock

DONE, TIMEOUT, FAILED = RunOutcome.COMPLETED, RunOutcome.TIMED_OUT, RunOutcome.FAILED


def test_delay_doubles_on_timeouts_up_to_the_bound_and_resets_on_success() -> None:
    backoff = SupervisorBackoff(30, bound=10)
    delays = [backoff.record(TIMEOUT) for _ in range(6)]
    assert delays == [60, 120, 240, 300, 300, 300]
    assert backoff.record(DONE) == 30


def test_other_failures_leave_the_delay_unchanged() -> None:
    backoff = SupervisorBackoff(30, bound=10)
    backoff.record(TIMEOUT)
    assert backoff.record(FAILED) == 60
    assert backoff.record(FAILED) == 60
    assert backoff.record(TIMEOUT) == 120


def test_bound_one_is_a_fixed_delay() -> None:
    backoff = SupervisorBackoff(30, bound=1)
    assert [backoff.record(TIMEOUT) for _ in range(3)] == [30, 30, 30]


def test_schedule_runs_jobs_when_due_and_applies_backoff() -> None:
    clock = ManualClock()
    schedule = Schedule(clock)
    schedule.add(Job.REFRESH, 30, bound=10)
    schedule.add(Job.REPLICATE, 30, first_delay=40)
    assert schedule.due() == []
    clock.advance(30)
    assert schedule.due() == [Job.REFRESH]
    assert schedule.due() == []  # running: not due again
    clock.advance(60)
    assert schedule.due() == [Job.REPLICATE]  # the refresh is still running
    assert schedule.completed(Job.REFRESH, TIMEOUT) == 60
    clock.advance(59)
    assert Job.REFRESH not in schedule.due()
    clock.advance(1)
    assert Job.REFRESH in schedule.due()
    assert schedule.completed(Job.REFRESH, DONE) == 30
    assert schedule.next_deadline() == clock.monotonic() + 30


def test_trigger_runs_a_job_now_or_right_after_its_current_run() -> None:
    clock = ManualClock()
    schedule = Schedule(clock)
    schedule.add(Job.REPLICATE, 30, first_delay=40)
    schedule.trigger(Job.REPLICATE)
    assert schedule.due() == [Job.REPLICATE]
    schedule.trigger(Job.REPLICATE)  # arrives while it runs
    schedule.completed(Job.REPLICATE, DONE)
    assert schedule.due() == [Job.REPLICATE]
    schedule.completed(Job.REPLICATE, DONE)
    assert schedule.due() == []


def test_token_bucket_burst_two_then_four_per_minute() -> None:
    clock = ManualClock()
    bucket = TokenBucket(clock, burst=2, rate_per_minute=4)
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]
    clock.advance(14)
    assert not bucket.try_acquire()
    clock.advance(1)  # 15 s = one token at 4/min
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.advance(600)  # refills only up to the burst
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]

from __future__ import annotations

from eureka.clock import ManualClock
from eureka.log_throttle import FirstFailure, LogThrottle, Recovered, StillFailing


def test_successes_alone_report_nothing() -> None:
    throttle = LogThrottle(ManualClock(), summary_interval_s=60)
    assert throttle.succeeded() is None
    assert not throttle.failing


def test_a_dead_peer_gives_one_warning_then_one_summary_a_minute_then_one_recovery() -> None:
    clock = ManualClock()
    throttle = LogThrottle(clock, summary_interval_s=60)
    reports = []
    # 50 failures a second for two and a half minutes.
    for _ in range(150 * 50):
        reports.append(throttle.failed("ConnectError: refused"))
        clock.advance(0.02)
    said = [r for r in reports if r is not None]
    assert said[0] == FirstFailure("ConnectError: refused")
    assert [type(r) for r in said[1:]] == [StillFailing, StillFailing]
    first_summary = said[1]
    assert isinstance(first_summary, StillFailing)
    assert 2999 <= first_summary.failures <= 3001  # every failure of that minute, none lost
    assert 59.9 < first_summary.failing_s < 60.1
    recovered = throttle.succeeded()
    assert isinstance(recovered, Recovered)
    assert recovered.failures == 150 * 50
    assert 149.9 < recovered.failing_s < 150.1
    assert throttle.succeeded() is None


def test_a_new_outage_after_recovery_warns_again() -> None:
    clock = ManualClock()
    throttle = LogThrottle(clock, summary_interval_s=60)
    assert throttle.failed("a") == FirstFailure("a")
    clock.advance(5)
    assert throttle.succeeded() == Recovered(1, 5.0)
    clock.advance(1)
    assert throttle.failed("b") == FirstFailure("b")
    assert throttle.failed("c") is None

"""The soak's 60-second variant (`make soak` runs it for 10 minutes at 10,000 instances).

A real server takes a minute of fleet traffic from `fleet/openloop.c`: 2,000 instances renewing
every 30 s on their own offsets, 20 delta clients, and 5 % of the fleet churning (status
overrides, re-registrations, restarts). Self-preservation is off, so a lapsed lease would be
evicted: none may be, and every instance must be registered at the end.
"""

from __future__ import annotations

import shutil

import pytest
from bench.soak import run_soak

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.xdist_group("cluster"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed for openloop.c"),
]


def test_a_minute_of_fleet_traffic_loses_nothing_and_evicts_nothing() -> None:
    report = run_soak(1, 2_000, delta_clients=20, churn_per_min=0.05)
    (minute,) = report.minutes
    kinds = minute.result.kinds
    print(
        {name: (k.completed, k.p99_us) for name, k in kinds.items() if k.sent},
        f"RSS {minute.rss_kb / 1024:.0f} MiB",
    )
    assert report.errors == 0
    assert report.evictions == 0
    assert report.lost == 0 and report.registered == 2_000
    # Every instance renewed twice in the minute; the churn really happened.
    assert kinds["renew"].completed == kinds["renew"].sent >= 2 * 2_000 - 50
    assert kinds["delta"].completed >= 2 * 20 - 2
    for churn in ("status", "register", "cancel", "full"):
        assert kinds[churn].completed > 0, churn

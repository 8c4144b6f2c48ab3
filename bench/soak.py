"""The soak (issue 10): a fleet renewing and fetching for minutes, with churn; nothing may be lost.

10,000 instances renew every 30 s, each on its own offset (as clients that started at different
times do), 100 clients fetch the delta every 30 s, and 1 % of the fleet churns per minute (status
overrides set and removed, re-registrations, restarts that cancel, register again and fetch the
full registry — `fleet.schedule`). `fleet/openloop.c` sends it open-loop, one minute at a time:
every minute keeps each instance's offsets and draws new churn. Self-preservation is off, so a
lease that lapsed would really be evicted.

Per minute: p99 per request kind (from the scheduled send time), errors, the server's CPU and
RSS. At the end: evictions (every instance renewed, so any is a false one), and the instances
registered against the fleet's size (a lost registration is one missing). RSS is "flat" when
every minute after the warm-up (the first two) stays within 5 % of the warm-up's last.

Usage: python -m bench.soak [MINUTES] (make soak: 10 minutes; SOAK_INSTANCES overrides 10,000)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.fleet.runner import OpenLoopResult, run_openloop
from bench.fleet.schedule import KINDS, FleetShape, fleet_schedule, write_schedule
from bench.serving import cpu_seconds, load_average, populate, rss_kb, start_server
from bench.table import print_table

__all__ = ["Minute", "SoakReport", "run_soak"]

WARM_UP_MINUTES = 2
RSS_FLAT_SHARE = 0.05
SETTINGS = {"eureka.server.enable-self-preservation": "false"}
JSON = {"Accept": "application/json"}


@dataclass(frozen=True)
class Minute:
    index: int
    result: OpenLoopResult
    cpu_percent: float
    rss_kb: int


@dataclass
class SoakReport:
    instances: int
    minutes: list[Minute] = field(default_factory=list)
    evictions: int = 0
    registered: int = 0  # instances the server holds at the end
    errors: int = 0

    @property
    def lost(self) -> int:
        return self.instances - self.registered

    @property
    def rss_drift(self) -> float | None:
        """The largest relative distance from the warm-up's last RSS over the later minutes."""
        if len(self.minutes) <= WARM_UP_MINUTES:
            return None
        base = self.minutes[WARM_UP_MINUTES - 1].rss_kb
        return max(abs(m.rss_kb - base) / base for m in self.minutes[WARM_UP_MINUTES:])


def _counts(base: str) -> tuple[int, int]:
    """(evictions so far, instances registered now)."""
    status = httpx.get(f"{base}/eureka/status", headers=JSON, timeout=30).json()
    return status["registry"]["operations"]["evictions"], status["registry"]["instances"]


def run_soak(
    minutes: int,
    instances: int = 10_000,
    *,
    delta_clients: int = 100,
    churn_per_min: float = 0.01,
    on_minute: Callable[[Minute], None] | None = None,
) -> SoakReport:
    """Run the soak against a fresh pinned server; `on_minute(Minute)` sees each minute."""
    workdir = Path(tempfile.mkdtemp(prefix="eureka-soak-"))
    report = SoakReport(instances)
    server = start_server(SETTINGS)
    try:
        assert server.proc is not None
        pid = server.proc.pid
        populate(server.base, 0, instances, max(1, instances // 100))
        for index in range(minutes):
            shape = FleetShape(
                instances=instances,
                seconds=60,
                churn_per_min=churn_per_min,
                # Production's 3-minute window: the churn is not scaled up (fleet.schedule).
                retention_s=180,
                delta_clients=delta_clients,
                churn_seed=index + 1,
            )
            path = workdir / f"minute-{index}.olg"
            write_schedule(fleet_schedule(shape), path)
            cpu_before, started = cpu_seconds(pid), time.monotonic()
            result = run_openloop(path, server.port, measure_from_s=0, max_connections=256)
            elapsed = time.monotonic() - started
            cpu = (cpu_seconds(pid) - cpu_before) / elapsed * 100
            path.unlink()
            minute = Minute(index + 1, result, cpu, rss_kb(pid))
            report.minutes.append(minute)
            report.errors += result.errors
            if on_minute is not None:
                on_minute(minute)
        # The last restarts' re-registrations are in the schedule's tail: all are sent by now.
        report.evictions, report.registered = _counts(server.base)
    finally:
        server.stop()
    return report


def _minute_row(minute: Minute) -> list[str]:
    kinds = minute.result.kinds
    cells = [str(minute.index)]
    for name in KINDS:
        k = kinds.get(name)
        cells.append("-" if k is None or not k.sent else f"{k.p99_us / 1000:.1f}")
    failed = ", ".join(f"{k.errors} {k.name}" for k in kinds.values() if k.errors)
    if failed:
        failed += f" ({minute.result.failures})"
    cells += [failed or "0", f"{minute.cpu_percent:.0f}", f"{minute.rss_kb / 1024:.1f}"]
    return cells


def main(argv: list[str]) -> int:
    minutes = int(argv[0]) if argv else int(os.environ.get("SOAK_MINUTES", "10"))
    instances = int(os.environ.get("SOAK_INSTANCES", "10000"))
    print(
        f"soak: {instances:,} instances renewing every 30 s, 100 delta clients every 30 s,"
        f" 1 % churn per minute, {minutes} min; server pinned to one core, openloop to the other;"
        f" load average {load_average()}\n",
        flush=True,
    )
    headers = ["minute", *(f"{k} p99 ms" for k in KINDS), "errors", "server CPU %", "RSS MiB"]
    print("| " + " | ".join(headers) + " |", flush=True)

    def show(minute: Minute) -> None:
        print("| " + " | ".join(_minute_row(minute)) + " |", flush=True)

    report = run_soak(minutes, instances, on_minute=show)
    print()
    drift = report.rss_drift
    print_table(
        ["errors", "evictions (false)", "registered at the end", "lost", "RSS drift after warm-up"],
        [
            [
                report.errors,
                report.evictions,
                f"{report.registered:,} of {report.instances:,}",
                report.lost,
                "-" if drift is None else f"{drift * 100:.1f} % (limit 5 %)",
            ]
        ],
    )
    flat = drift is None or drift <= RSS_FLAT_SHARE
    passed = report.errors == 0 and report.evictions == 0 and report.lost == 0 and flat
    print("\nPASS" if passed else "\nFAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Fleet simulation (issue 11 §4): how many instances one node carries on one core.

N instances, each renewing every 30 s and fetching the delta every 30 s on its own offset, with
churn (see `fleet.schedule`), sent open-loop by `fleet/openloop.c` pinned to the other core. The
server runs pinned to one core with a short delta retention; the first retention window of the run
is the warm-up (the delta fills to its steady size) and is not counted. Reported per request kind:
achieved rate, p50 / p99 / max latency from the scheduled send time, errors; and the server's CPU
(per request and as a share of its core) and RSS (per registered instance). nginx, serving the
same delta and full registry and answering every write 200, takes the same schedule as reference,
which also shows that the generator is not the limit.

A node "carries" N when every request is answered (0 errors, nothing left queued) and the p99 of
the renewals, of the deltas and of all requests together stay under 50 ms.

`BENCH_FLEET=search` (make bench-fleet) walks up a ladder of N and reports the largest that
passes; otherwise (make bench) one short run at 20,000 instances.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.integration.server_process import free_port

from bench.fleet.runner import OpenLoopResult, run_openloop
from bench.fleet.schedule import KINDS, FleetShape, fleet_schedule, write_schedule
from bench.serving import (
    Nginx,
    cpu_seconds,
    ensure_tools,
    load_average,
    populate,
    rss_kb,
    start_server,
)
from bench.table import print_table

P99_LIMIT_US = 50_000
# A run whose generator sent 1 % of its requests this late (with no request waiting for a
# connection) measured the load generator's core, not the server: it proves nothing.
GENERATOR_LAG_LIMIT_US = 10_000
PRUNE_S = 5
LAYER = os.environ.get("BENCH_FLEET_LAYER", "")


@dataclass(frozen=True)
class FleetRun:
    shape: FleetShape
    measured_s: float
    result: OpenLoopResult
    cpu_s: float  # server CPU over the measured part
    rss_empty_kb: int
    rss_registered_kb: int
    rss_serving_kb: int
    delta_instances: int
    # What the server answered at the end (nginx serves these as the reference).
    delta: bytes
    full: bytes
    # The node's collector over the whole run (GET /eureka/status → gc): its pauses stop the loop.
    gc: dict[str, object]

    @property
    def conclusive(self) -> bool:
        # Requests that waited for a connection waited for the server: that lag is its own.
        result = self.result
        return result.max_queue > 0 or result.lag_p99_us < GENERATOR_LAG_LIMIT_US

    @property
    def verdict(self) -> str:
        if self.passed:
            return "PASS"
        return "FAIL" if self.conclusive else "INCONCLUSIVE (the generator fell behind)"

    @property
    def passed(self) -> bool:
        kinds = self.result.kinds
        return (
            self.result.errors == 0
            and kinds["renew"].p99_us < P99_LIMIT_US
            and kinds["delta"].p99_us < P99_LIMIT_US
            and _overall_p99_bound(self.result) < P99_LIMIT_US
        )


def _overall_p99_bound(result: OpenLoopResult) -> int:
    """An upper bound of the p99 of all requests together: the largest p99 among the kinds that
    carry at least 1 % of them (the rest cannot move the overall p99 by themselves)."""
    total = result.sent
    return max(k.p99_us for k in result.kinds.values() if k.sent * 100 >= total)


def _ms(us: int) -> str:
    return f"{us / 1000:.1f}"


def _gzip_get(base: str, path: str) -> bytes:
    with httpx.Client(timeout=120) as client:
        request = client.build_request(
            "GET",
            f"{base}{path}",
            headers={"Accept": "application/json", "Accept-Encoding": "gzip"},
        )
        response = client.send(request, stream=True)
        body = b"".join(response.iter_raw())
        response.close()
        return body


def _delta_instances(base: str) -> int:
    with httpx.Client(timeout=60) as client:
        document = client.get(f"{base}/eureka/apps/delta", headers={"Accept": "application/json"})
        apps = document.json()["applications"]["application"]
        return sum(len(app["instance"]) for app in apps)


def run_fleet(shape: FleetShape, workdir: Path) -> FleetRun:
    """One run against a fresh server: populate, wait out the registrations' delta window,
    then the schedule; the last `shape.seconds - retention` seconds are measured."""
    settings = {
        "eureka.server.enable-self-preservation": "false",
        # BENCH_FLEET_LAYER=granian measures the other HTTP layer (default: the node's own).
        **({"eureka.server.http-layer": LAYER} if LAYER else {}),
        "eureka.server.retention-time-in-m-s-in-delta-queue": str(int(shape.retention_s * 1000)),
        "eureka.server.delta-retention-timer-interval-in-ms": str(PRUNE_S * 1000),
    }
    schedule_path = workdir / f"fleet-{shape.instances}.olg"
    write_schedule(fleet_schedule(shape), schedule_path)
    server = start_server(settings)
    try:
        assert server.proc is not None
        pid = server.proc.pid
        rss_empty = rss_kb(pid)
        populate(server.base, 0, shape.instances, shape.apps)
        rss_registered = rss_kb(pid)
        populated = time.monotonic()
        # The fleet's clients fetched the full registry when they started: the server has built
        # it once before the run (the cold build of N instances is not what is measured).
        _gzip_get(server.base, "/eureka/apps")
        time.sleep(max(0.0, populated + shape.retention_s + PRUNE_S + 1 - time.monotonic()))
        cpu_before = cpu_seconds(pid)
        started = time.monotonic()
        result = run_openloop(schedule_path, server.port, measure_from_s=shape.retention_s)
        # Server CPU of the measured part: the share after the warm-up, at the run's CPU rate.
        run_s = max(time.monotonic() - started, 1e-9)
        measured_s = shape.seconds - shape.retention_s
        cpu_s = (cpu_seconds(pid) - cpu_before) * measured_s / run_s
        rss_serving = rss_kb(pid)
        delta = _gzip_get(server.base, "/eureka/apps/delta")
        full = _gzip_get(server.base, "/eureka/apps")
        delta_instances = _delta_instances(server.base)
        gc = httpx.get(f"{server.base}/eureka/status", timeout=30).json().get("gc", {})
    finally:
        server.stop()
        schedule_path.unlink(missing_ok=True)
    return FleetRun(
        shape=shape,
        measured_s=measured_s,
        result=result,
        cpu_s=cpu_s,
        rss_empty_kb=rss_empty,
        rss_registered_kb=rss_registered,
        rss_serving_kb=rss_serving,
        delta_instances=delta_instances,
        delta=delta,
        full=full,
        gc=gc,
    )


def run_nginx(shape: FleetShape, workdir: Path, delta: bytes, full: bytes) -> OpenLoopResult:
    """The same schedule against nginx serving the same delta and full registry."""
    nginx = Nginx(workdir / "nginx", free_port())
    nginx.serve("delta", delta)
    nginx.serve("apps", full)
    nginx.start()
    schedule_path = workdir / f"fleet-nginx-{shape.instances}.olg"
    write_schedule(fleet_schedule(shape), schedule_path)
    try:
        before = cpu_seconds(nginx.pid)
        result = run_openloop(schedule_path, nginx.port, measure_from_s=shape.retention_s)
        used = cpu_seconds(nginx.pid) - before
        print(f"  nginx CPU over the whole run: {used:.1f} s")
        return result
    finally:
        nginx.stop()
        schedule_path.unlink(missing_ok=True)


def _kind_rows(label: str, result: OpenLoopResult, measured_s: float) -> list[list[str]]:
    rows = []
    for name in KINDS:
        k = result.kinds.get(name)
        if k is None or not k.sent:
            continue
        rows.append(
            [
                label,
                name,
                f"{k.sent / measured_s:,.1f}",
                f"{k.completed / measured_s:,.1f}",
                _ms(k.p50_us),
                _ms(k.p99_us),
                _ms(k.max_us),
                str(k.errors),
            ]
        )
    return rows


def _print_run(run: FleetRun, reference: OpenLoopResult | None) -> None:
    result = run.result
    rows = _kind_rows(f"eureka-py, {run.shape.instances:,}", result, run.measured_s)
    if reference is not None:
        rows += _kind_rows("nginx, same schedule", reference, run.measured_s)
    print_table(
        ["server", "kind", "scheduled/s", "answered/s", "p50 ms", "p99 ms", "max ms", "errors"],
        rows,
    )
    requests = result.sent
    n = run.shape.instances
    print(
        f"\n{n:,} instances in {run.shape.apps:,} apps; measured {run.measured_s:.0f} s after a"
        f" {run.shape.retention_s:.0f} s warm-up; delta {run.delta_instances:,} instances"
        f" ({len(run.delta) / 1e3:.1f} KB gzip), full {len(run.full) / 1e6:.2f} MB gzip\n"
        f"server CPU {run.cpu_s / run.measured_s * 100:.0f} % of its core,"
        f" {run.cpu_s / max(requests, 1) * 1e6:.0f} µs per request;"
        f" RSS {run.rss_serving_kb / 1024:.0f} MiB serving"
        f" ({(run.rss_serving_kb - run.rss_empty_kb) * 1024 / n:,.0f} B/instance),"
        f" {(run.rss_registered_kb - run.rss_empty_kb) * 1024 / n:,.0f} B/instance"
        f" just registered\n"
        f"collector: {run.gc.get('full_collections', 0)} full collections, longest"
        f" {run.gc.get('longest_full_pause_ms', 0)} ms; longest young one"
        f" {run.gc.get('longest_young_pause_ms', 0)} ms; {run.gc.get('frozen_objects', 0):,}"
        f" objects frozen\n"
        f"generator: lag p99 {_ms(result.lag_p99_us)} ms, max {_ms(result.lag_max_us)} ms;"
        f" {result.connections} connections opened, queue max {result.max_queue};"
        f" {run.verdict} (p99 < 50 ms, 0 errors)\n"
    )


def run() -> None:
    ensure_tools("nginx", "gcc")
    mode = os.environ.get("BENCH_FLEET", "short")
    print(f"(load average before: {load_average()})")
    workdir = Path(tempfile.mkdtemp(prefix="eureka-fleet-"))
    try:
        if mode == "search":
            _search(workdir)
        else:
            shape = FleetShape(instances=20_000, seconds=25, retention_s=10)
            run = run_fleet(shape, workdir)
            _print_run(run, run_nginx(shape, workdir, run.delta, run.full))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"(load average after: {load_average()})")


def _search(workdir: Path) -> None:
    ladder = [int(n) for n in os.environ.get("BENCH_FLEET_LADDER", "").split(",") if n] or [
        100_000,
        200_000,
        400_000,
        600_000,
        800_000,
        1_000_000,
    ]
    seconds = float(os.environ.get("BENCH_FLEET_SECONDS", "50"))
    retention = float(os.environ.get("BENCH_FLEET_RETENTION", "20"))
    best: FleetRun | None = None
    summary = []
    for n in ladder:
        run = run_fleet(FleetShape(instances=n, seconds=seconds, retention_s=retention), workdir)
        _print_run(run, None)
        summary.append(run)
        if not run.passed:
            break
        best = run
    if best is not None:
        print(f"### nginx with the schedule of {best.shape.instances:,} instances")
        reference = run_nginx(best.shape, workdir, best.delta, best.full)
        _print_run(best, reference)
    print_table(
        [
            "instances",
            "p99 renew ms",
            "p99 delta ms",
            "errors",
            "server CPU %",
            "B/instance",
            "verdict",
        ],
        [
            [
                f"{r.shape.instances:,}",
                _ms(r.result.kinds["renew"].p99_us),
                _ms(r.result.kinds["delta"].p99_us),
                str(r.result.errors),
                f"{r.cpu_s / r.measured_s * 100:.0f}",
                f"{(r.rss_serving_kb - r.rss_empty_kb) * 1024 / r.shape.instances:,.0f}",
                r.verdict,
            ]
            for r in summary
        ],
    )
    largest = "none" if best is None else f"{best.shape.instances:,}"
    print(f"\nlargest N carried on one core (p99 < 50 ms, 0 errors): {largest}")

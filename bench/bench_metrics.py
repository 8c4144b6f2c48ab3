"""Cost of metrics on the renewal hot path: the same server with and without metrics, pinned.

Method (DEVELOPERS.md, bench/serving.py): server on one core, wrk on the other, nginx answering
the same PUTs pinned where the server is, as the reference in the same run; req/s, p99 and µs of
server CPU per request. Runs alternate on/off three times and report the best of each, so a
noisy neighbour hurts both alike. CPU per request is the figure to trust: it does not depend on
whether wrk or the server is the bottleneck, and when the server is, renewals/s lost equals CPU
per request added. Also times one `GET /metrics` scrape at 10k instances.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
from tests.integration.server_process import ServerProcess, free_port

from bench.bench_server import RENEW_LUA
from bench.serving import Nginx, WrkResult, ensure_tools, load_average, populate, start_server, wrk
from bench.table import print_table

DURATION = os.environ.get("BENCH_WRK_DURATION", "5s")
CONNECTIONS = 50
INSTANCES = 10_000
APPS = 500
ROUNDS = 3


def _server(metrics: bool) -> ServerProcess:
    server = start_server(
        {
            "eureka.server.enable-self-preservation": "false",
            "eureka.server.metrics-enabled": "true" if metrics else "false",
        }
    )
    populate(server.base, 0, INSTANCES, APPS)
    return server


def _pid(server: ServerProcess) -> int:
    assert server.proc is not None
    return server.proc.pid


def run() -> None:
    ensure_tools("nginx", "wrk")
    print(f"(load average before: {load_average()})")
    root = Path(tempfile.mkdtemp(prefix="eureka-bench-metrics-"))
    script = root / "renew.lua"
    script.write_text(RENEW_LUA % {"n": INSTANCES, "apps": APPS, "prefix": "/eureka/apps/"})
    nscript = root / "renew_nginx.lua"
    nscript.write_text(RENEW_LUA % {"n": INSTANCES, "apps": APPS, "prefix": "/renew/"})
    servers = {True: _server(True), False: _server(False)}
    nginx = Nginx(root, free_port()).start()
    try:
        runs = (
            ("nginx (same PUTs, reference)", nginx.pid, nginx.base, nscript),
            ("eureka-py, metrics on", _pid(servers[True]), servers[True].base, script),
            ("eureka-py, metrics off", _pid(servers[False]), servers[False].base, script),
        )
        best: dict[str, WrkResult] = {}
        for _ in range(ROUNDS):
            for label, pid, url, lua in runs:
                result = wrk(
                    url,
                    duration=DURATION,
                    connections=CONNECTIONS,
                    script=str(lua),
                    server_pid=pid,
                )
                if label not in best or (result.cpu_us or 1e9) < (best[label].cpu_us or 1e9):
                    best[label] = result
        reference = best["nginx (same PUTs, reference)"].rps
        print_table(
            [
                f"PUT renew over {INSTANCES:,} leases (wrk -t1 -c{CONNECTIONS}, best of {ROUNDS})",
                "req/s",
                "p99",
                "server CPU µs/req",
                "ratio to nginx",
            ],
            [
                (label, f"{r.rps:,.0f}", r.p99, f"{r.cpu_us or 0:.1f}", f"{r.rps / reference:.2f}")
                for label, r in best.items()
            ],
        )
        on, off = best["eureka-py, metrics on"], best["eureka-py, metrics off"]
        on_cpu, off_cpu = on.cpu_us or 0.0, off.cpu_us or 1.0
        with httpx.Client(timeout=30) as client:
            scrapes = []
            size = 0
            for _ in range(10):
                started = time.perf_counter()
                size = len(client.get(f"{servers[True].base}/metrics").content)
                scrapes.append(time.perf_counter() - started)
        scrapes.sort()
        print()
        print_table(
            ["measure", "value"],
            [
                (
                    "server CPU per renewal added by metrics (≈ renewals/s lost when the "
                    "server is CPU-bound; goal < 5 %)",
                    f"{on_cpu - off_cpu:+.2f} µs ({(on_cpu - off_cpu) / off_cpu:+.1%})",
                ),
                ("renewals/s, metrics on vs off", f"{(on.rps - off.rps) / off.rps:+.1%}"),
                (
                    f"GET /metrics at {INSTANCES:,} instances, {APPS} apps (median of 10)",
                    f"{scrapes[5] * 1000:.1f} ms, {size / 1024:.0f} KiB",
                ),
            ],
        )
    finally:
        nginx.stop()
        for server in servers.values():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)

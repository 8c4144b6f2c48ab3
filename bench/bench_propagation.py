"""Propagation: one registration → answered to N held watchers (issue 8's goal: p99 < 250 ms at
10,000 watchers on this 2-core machine).

The server on SERVER_CPU; `watchers.c` (bench/watch) on LOAD_CPU holds N long-poll watches
(`GET /eureka/apps/delta?since=R&wait=60`) over N connections. Once the server's status shows all
N held, one instance registers; each watcher's lag runs from just before that POST is sent to
the last byte of its answer (both CLOCK_REALTIME on this machine). Server CPU is what the server
process spent between the POST and the last answer. Memory per watcher: the server's RSS growth
while the N watches were parked, divided by N.

Our node runs on both HTTP layers (granian, and the native protocol of server/native_http.py).
The reference, in the same run on the same core: the bare long-poll stack (bench/watch/bare.py,
granian on uvloop like ours) answering N held GETs with fixed bytes when a POST arrives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from tests.integration.server_process import free_port, wait_for

from bench.serving import (
    SERVER_CPU,
    cpu_seconds,
    instance,
    load_average,
    pinned,
    populate,
    rss_kb,
    start_server,
)
from bench.table import print_table
from bench.watch import Once, finish_once, raise_fd_limit, start_watchers
from eureka.codec.json import encode_instance
from eureka.model import InstanceInfo

COUNTS = tuple(int(n) for n in os.environ.get("BENCH_WATCHERS", "1000,10000").split(","))
ROUNDS = 3
INSTANCES, APPS = 1_000, 100
SETTINGS = {"eureka.server.enable-self-preservation": "false"}
LAYERS = ("granian", "native")  # the HTTP layers (eureka.server.http-layer)


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


@dataclass(frozen=True)
class _Target:
    """A server under test: its process, port, watch path, held-watch count and one change."""

    pid: int
    port: int
    path: str
    held: Callable[[], int]
    fire: Callable[[], None]


@dataclass(frozen=True)
class _Round:
    once: Once
    fired_us: int
    cpu_ms: float
    rss_per_watcher_kib: float

    def row(self, label: str, n: int) -> list[str]:
        lags = sorted((t - self.fired_us) / 1000 for t in self.once.received_us)
        tail = [f"{self.cpu_ms:.0f}", f"{self.rss_per_watcher_kib:.1f}"]
        if not lags:
            return [label, f"{n:,}", "0", "-", "-", "-", *tail]
        missing = f" ({self.once.missing} missing)" if self.once.missing else ""
        return [
            label,
            f"{n:,}",
            f"{len(lags):,}{missing}",
            f"{_percentile(lags, 0.50):.0f}",
            f"{_percentile(lags, 0.99):.0f}",
            f"{lags[-1]:.0f}",
            *tail,
        ]


def _round(target: _Target, n: int, *, epoch: str = "-", since: int = 0) -> _Round:
    """Park n watchers, wait until the server holds them all, fire one change, collect."""
    rss_before = rss_kb(target.pid)
    watchers = start_watchers(
        "once", target.port, n, 60, target.path, epoch=epoch, since=since, wait=60
    )
    try:
        wait_for(lambda: target.held() >= n, timeout=60, interval=0.1)
        time.sleep(0.5)  # let the parking settle: the change must find a quiet server
        rss_per = (rss_kb(target.pid) - rss_before) / n
        cpu_before = cpu_seconds(target.pid)
        fired_us = time.time_ns() // 1000
        target.fire()
        once = finish_once(watchers, timeout=90)
        return _Round(once, fired_us, (cpu_seconds(target.pid) - cpu_before) * 1000, rss_per)
    finally:
        if watchers.poll() is None:
            watchers.kill()
            watchers.wait()


def _eureka(n: int, rows: list[list[str]], layer: str) -> dict[str, object]:
    server = start_server({**SETTINGS, "eureka.server.http-layer": layer})
    try:
        assert server.proc is not None
        populate(server.base, 0, INSTANCES, APPS)
        client = httpx.Client(base_url=server.base, timeout=30)
        watch: dict[str, object] = {}

        def held() -> int:
            status = client.get("/eureka/status", headers={"Accept": "application/json"})
            return int(status.json()["watch"]["watchers"])

        for r in range(ROUNDS):
            head = client.get("/eureka/apps", headers={"Accept": "application/json"})
            epoch, since = head.headers["x-eureka-epoch"], int(head.headers["x-eureka-revision"])
            fresh = instance(INSTANCES + n * 10 + r, APPS)

            def fire(fresh: InstanceInfo = fresh) -> None:
                response = client.post(
                    f"/eureka/apps/{fresh.app}",
                    content=encode_instance(fresh),
                    headers={"Content-Type": "application/json"},
                )
                response.raise_for_status()

            target = _Target(server.proc.pid, server.port, "/eureka/apps/delta", held, fire)
            result = _round(target, n, epoch=epoch, since=since)
            rows.append(result.row(f"eureka-py on {layer}, round {r + 1}", n))
            watch = client.get("/eureka/status", headers={"Accept": "application/json"}).json()[
                "watch"
            ]
        client.close()
        return watch
    finally:
        server.stop()


def _bare(n: int, rows: list[list[str]]) -> None:
    port = free_port()
    with pinned(SERVER_CPU):
        bare = subprocess.Popen([sys.executable, "-m", "bench.watch.bare", str(port)])
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        wait_for(lambda: _answers(client), timeout=20)

        def fire() -> None:
            client.post("/fire").raise_for_status()

        for r in range(ROUNDS):
            target = _Target(bare.pid, port, "/watch", lambda: int(client.get("/count").text), fire)
            rows.append(_round(target, n).row(f"bare long-poll, round {r + 1}", n))
        client.close()
    finally:
        bare.send_signal(signal.SIGTERM)
        try:
            bare.wait(10)
        except subprocess.TimeoutExpired:
            bare.kill()
            bare.wait()


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/count").status_code == 200
    except httpx.HTTPError:
        return False


def run() -> None:
    limit = raise_fd_limit()
    print(
        f"server on cpu {SERVER_CPU}, watchers (C, epoll) on the other; {INSTANCES:,} instances"
        f" in {APPS} apps; one registration per round; fd limit {limit:,};"
        f" load average {load_average()}\n"
    )
    rows: list[list[str]] = []
    statuses: list[tuple[str, dict[str, object]]] = []
    for n in COUNTS:
        if n + 100 > limit:
            print(f"skipping {n:,} watchers: the fd limit is {limit:,}")
            continue
        for layer in LAYERS:
            statuses.append((f"{n:,} ({layer})", _eureka(n, rows, layer)))
        _bare(n, rows)
    print_table(
        [
            "stack",
            "watchers",
            "answered",
            "p50 ms",
            "p99 ms",
            "max ms",
            "server CPU ms",
            "KiB/watcher",
        ],
        rows,
    )
    print("\nthe server's own record (GET /eureka/status → watch), after each size's rounds:\n")
    print_table(
        ["watchers", "answered", "lag p50 ms", "lag p99 ms", "lag max ms"],
        [
            [n, s["answered"], s["lag_p50_ms"], s["lag_p99_ms"], s["lag_max_ms"]]
            for n, s in statuses
        ],
    )


if __name__ == "__main__":
    run()

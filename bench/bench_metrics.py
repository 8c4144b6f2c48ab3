"""Cost of metrics on the renewal hot path: the same server with and without metrics, pinned.

Method (DEVELOPERS.md): server pinned to core 0 (`taskset -a`), wrk to core 1, nginx answering
the same PUTs pinned the same way as the reference in the same run; req/s, p99 and µs of server
CPU per request (utime + stime deltas of /proc/<pid>/stat over wrk's request count). Runs
alternate on/off three times and report the best of each, so a noisy neighbour hurts both alike.
CPU per request is the figure to trust: it does not depend on whether wrk or the server is
the bottleneck, and when the server is, renewals/s lost equals CPU per request added.
Also times one `GET /metrics` scrape at 10k instances.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from tests.integration.server_process import ServerProcess, free_port

from bench.bench_server import APPS, RENEW_LUA, _ensure_tools, _nginx, _populate, _wait_http
from bench.table import print_table

DURATION = os.environ.get("BENCH_WRK_DURATION", "5s")
CONNECTIONS = 64
INSTANCES = 10_000
ROUNDS = 3
_TICK = os.sysconf("SC_CLK_TCK")


def _family(pid: int) -> list[int]:
    """The process and its children (nginx's worker), recursively."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(p for child in children for p in _family(int(child)))]


def _cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in _family(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


def _pin(pid: int, core: int) -> None:
    for member in _family(pid):
        subprocess.run(
            ["taskset", "-a", "-cp", str(core), str(member)], check=True, capture_output=True
        )


def _wrk(url: str, script: Path) -> tuple[float, int, str]:
    args = ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency"]
    out = subprocess.run(
        [*args, "-s", str(script), url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return rps, total, p99.group(1) if p99 else "?"


def _measure(pid: int, url: str, script: Path) -> tuple[float, str, float]:
    before = _cpu_seconds(pid)
    rps, total, p99 = _wrk(url, script)
    cpu_us = (_cpu_seconds(pid) - before) * 1e6 / max(total, 1)
    return rps, p99, cpu_us


def _server(metrics: bool) -> ServerProcess:
    settings = {
        "eureka.server.enable-self-preservation": "false",
        "eureka.server.metrics-enabled": "true" if metrics else "false",
    }
    server = ServerProcess(settings=settings).start()
    assert server.proc is not None
    _pin(server.proc.pid, 0)
    _populate(server.base, 0, INSTANCES)
    return server


def run() -> None:
    _ensure_tools()
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        print("needs taskset and two cores: skipped")
        return
    root = Path(tempfile.mkdtemp(prefix="eureka-bench-metrics-"))
    root.chmod(0o755)
    (root / "www").mkdir()
    script = root / "renew.lua"
    script.write_text(RENEW_LUA % {"n": INSTANCES, "apps": APPS, "prefix": "/eureka/apps/"})
    nscript = root / "renew_nginx.lua"
    nscript.write_text(RENEW_LUA % {"n": INSTANCES, "apps": APPS, "prefix": "/renew/"})
    servers = {True: _server(True), False: _server(False)}
    nginx_port = free_port()
    nginx = _nginx(root, nginx_port)
    try:
        _wait_http(f"http://127.0.0.1:{nginx_port}/renew/x")
        _pin(nginx.pid, 0)
        best: dict[str, tuple[float, str, float]] = {}
        for _ in range(ROUNDS):
            for label, pid, url, lua in (
                (
                    "nginx (same PUTs, reference)",
                    nginx.pid,
                    f"http://127.0.0.1:{nginx_port}/",
                    nscript,
                ),
                ("eureka-py, metrics on", _pid(servers[True]), servers[True].base, script),
                ("eureka-py, metrics off", _pid(servers[False]), servers[False].base, script),
            ):
                result = _measure(pid, url, lua)
                if label not in best or result[0] > best[label][0]:
                    best[label] = result
        on, off = best["eureka-py, metrics on"], best["eureka-py, metrics off"]
        reference = best["nginx (same PUTs, reference)"][0]
        rows = [
            (label, f"{rps:,.0f}", p99, f"{cpu:.1f}", f"{rps / reference:.2f}")
            for label, (rps, p99, cpu) in best.items()
        ]
        print_table(
            [
                f"PUT renew over {INSTANCES:,} leases (wrk -t1 -c{CONNECTIONS}, best of {ROUNDS})",
                "req/s",
                "p99",
                "server CPU µs/req",
                "ratio to nginx",
            ],
            rows,
        )
        print()
        with httpx.Client(timeout=30) as client:
            scrape_times = []
            size = 0
            for _ in range(10):
                started = time.perf_counter()
                body = client.get(f"{servers[True].base}/metrics").content
                scrape_times.append(time.perf_counter() - started)
                size = len(body)
        scrape_times.sort()
        print_table(
            ["measure", "value"],
            [
                (
                    "server CPU per renewal added by metrics (≈ renewals/s lost when the "
                    "server is CPU-bound; goal < 5 %)",
                    f"{on[2] - off[2]:+.2f} µs ({(on[2] - off[2]) / off[2]:+.1%})",
                ),
                ("renewals/s, metrics on vs off (best runs)", f"{(on[0] - off[0]) / off[0]:+.1%}"),
                (
                    f"GET /metrics at {INSTANCES:,} instances, {APPS} apps (median of 10)",
                    f"{scrape_times[5] * 1000:.1f} ms, {size / 1024:.0f} KiB",
                ),
            ],
        )
    finally:
        nginx.send_signal(signal.SIGTERM)
        try:
            nginx.wait(10)
        except subprocess.TimeoutExpired:
            nginx.kill()
        for server in servers.values():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _pid(server: ServerProcess) -> int:
    assert server.proc is not None
    return server.proc.pid

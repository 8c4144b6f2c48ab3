"""Peer-cluster benchmark (issue 5): replication latency and sustained replicated renewals.

Three real `eureka server` processes A, B, C on loopback ports, each with the other two as peers.

(a) Convergence: 1,000 registrations POSTed to A; for each, the time from A's 204 to the first
    `GET /eureka/apps/{APP}/{id}` answering 200 on B and on C. Pollers use a tiny keep-alive HTTP
    client and re-poll every POLL_INTERVAL, so the resolution is about one loopback round trip
    plus that interval (≈1–2 ms). Goal: p99 < 1 s on every peer.
(b) Throughput: N instances registered on all three nodes (the batch endpoint), then wrk renews
    them on A at increasing target rates (wrk has no -R: each connection waits `delay()` ms
    between requests, so target ≈ connections × 1000 / delay). A's `/eureka/status` is sampled
    during each step for the peers' queue depth, oldest task age, drops and expiries; delivered
    items/s come from the peers' `items_succeeded`. Goal: replication keeps up with 10,000
    renewals/s arriving on A.

The reference, measured in the same run, is a lone node (no peers) renewing the same way: the
ratio shows what replication costs the node that receives the renewals.

Everything runs on this machine; three nodes, wrk and this script share its cores. Every process
started here is stopped by PID, on failure too. Run with `python -m bench cluster`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tests.integration.server_process import ServerProcess, free_port

from bench.table import print_table
from eureka.codec.json import encode_instance
from eureka.model import DataCenterInfo, InstanceInfo, LeaseInfo
from eureka.replication.protocol import Action, ReplicationInstance, encode_batch

REGISTRATIONS = int(os.environ.get("BENCH_CLUSTER_REGISTRATIONS", "1000"))
# Registrations measured concurrently: enough to keep the run short, few enough that the
# pollers' own requests do not load B and C much.
PROBES = 2
POLL_INTERVAL = 0.001
VISIBILITY_TIMEOUT = 5.0

INSTANCES = int(os.environ.get("BENCH_CLUSTER_INSTANCES", "10000"))
APPS = 50
STEP_SECONDS = int(os.environ.get("BENCH_CLUSTER_STEP_SECONDS", "5"))
# wrk's per-connection pause between requests: target rate = connections × 1000 / DELAY_MS.
DELAY_MS = 10
TARGET_RATES = [
    int(r) for r in os.environ.get("BENCH_CLUSTER_RATES", "2000,5000,10000,15000,20000").split(",")
]
# Replication "keeps up" while every task is delivered within this age, none is dropped or
# expired, and almost every renewal becomes its own delivered item (few coalesced in the queue).
MAX_OK_AGE_MS = 1000
MIN_DELIVERED_RATIO = 0.95
SAMPLE_INTERVAL = 0.1

SETTINGS = {
    "eureka.server.enable-self-preservation": "false",
    "eureka.server.registry-sync-retries": "3",
    "eureka.server.registry-sync-retry-wait-ms": "200",
    "eureka.server.wait-time-in-ms-when-sync-empty": "0",
}

# Each wrk thread has its own Lua state: start the threads' walks half a cycle apart, or they
# would renew the same instance at the same moment and the sender's queue would coalesce them.
RENEW_LUA = """
local threads = 0
setup = function(thread)
  thread:set("counter", threads * math.floor(%(n)d / 2))
  threads = threads + 1
end
delay = function()
  return %(delay)d
end
request = function()
  counter = counter + 1
  local i = (counter * 7919 + %(seed)d) %% %(n)d
  return wrk.format("PUT", "/eureka/apps/APP-" .. (i %% %(apps)d) .. "/inst-" .. i)
end
"""

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# Instances


def _instance(i: int, app: str, instance_id: str) -> InstanceInfo:
    address = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
    return InstanceInfo(
        app=app,
        instance_id=instance_id,
        host_name=address,
        ip_addr=address,
        port=8080,
        data_center_info=DataCenterInfo("MyOwn"),
        lease_info=LeaseInfo(renewal_interval_in_secs=30, duration_in_secs=3600),
        metadata={"management.port": "8081", "zone": f"zone-{i % 3}"},
        home_page_url=f"http://{address}:8080/",
        status_page_url=f"http://{address}:8080/actuator/info",
        health_check_url=f"http://{address}:8080/actuator/health",
        vip_address=app.lower(),
        secure_vip_address=app.lower(),
        last_dirty_timestamp=1_754_500_000_000 + i,
    )


def _populate(bases: list[str], count: int) -> None:
    """Register `count` instances on every node directly: replications are not re-replicated."""
    with httpx.Client(timeout=60) as client:
        for first in range(0, count, 250):
            items = [
                ReplicationInstance(
                    app_name=f"APP-{i % APPS}",
                    id=f"inst-{i}",
                    action=Action.REGISTER,
                    last_dirty_timestamp=1_754_500_000_000 + i,
                    status="UP",
                    instance_info=_instance(i, f"APP-{i % APPS}", f"inst-{i}"),
                )
                for i in range(first, min(first + 250, count))
            ]
            body = encode_batch(items)
            for base in bases:
                response = client.post(
                    f"{base}/eureka/peerreplication/batch/",
                    content=body,
                    headers={"Content-Type": "application/json", "Accept": "application/json"},
                )
                response.raise_for_status()


# ---------------------------------------------------------------------------------------------
# A minimal keep-alive HTTP/1.1 client: a poll costs tens of µs here instead of httpx's hundreds,
# so the pollers neither starve the nodes of CPU nor blur the measurement.


class KeepAlive:
    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self._reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self._writer.write(head.encode() + b"\r\n" + body)
        raw = await self._reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", raw)
        if match is None:
            if status in (204, 304):
                return status
            raise RuntimeError(f"response without content-length: {raw[:200]!r}")
        length = int(match.group(1))
        if length:
            await self._reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None


# ---------------------------------------------------------------------------------------------
# (a) convergence latency


async def _poll_until_visible(conn: KeepAlive, path: str, since: float) -> float:
    deadline = since + VISIBILITY_TIMEOUT
    while True:
        if await conn.request("GET", path) == 200:
            return time.perf_counter() - since
        if time.perf_counter() > deadline:
            return float("inf")
        await asyncio.sleep(POLL_INTERVAL)


async def _prober(ports: list[int], numbers: Iterator[int], out: list[tuple[float, float]]) -> None:
    a, b, c = (KeepAlive(port) for port in ports)
    try:
        for i in numbers:
            instance_id = f"lat-{i}"
            body = encode_instance(_instance(100_000 + i, "LATENCY", instance_id))
            if await a.request("POST", "/eureka/apps/LATENCY", body) != 204:
                raise RuntimeError(f"registration {instance_id} refused")
            registered = time.perf_counter()
            path = f"/eureka/apps/LATENCY/{instance_id}"
            on_b, on_c = await asyncio.gather(
                _poll_until_visible(b, path, registered), _poll_until_visible(c, path, registered)
            )
            out.append((on_b, on_c))
    finally:
        for conn in (a, b, c):
            await conn.close()


async def _measure_convergence(ports: list[int]) -> tuple[list[tuple[float, float]], float]:
    numbers = iter(range(REGISTRATIONS))  # shared: each prober takes the next number
    out: list[tuple[float, float]] = []
    started = time.perf_counter()
    await asyncio.gather(*(_prober(ports, numbers, out) for _ in range(PROBES)))
    return out, time.perf_counter() - started


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _fmt_ms(seconds: float) -> str:
    return "timeout" if seconds == float("inf") else f"{seconds * 1000:.1f} ms"


def _convergence_table(ports: list[int]) -> None:
    results, elapsed = asyncio.run(_measure_convergence(ports))
    rows = []
    for index, name in ((0, "B"), (1, "C")):
        values = [r[index] for r in results]
        p99 = _quantile(values, 0.99)
        rows.append(
            (
                f"A → {name}",
                len(values),
                _fmt_ms(statistics.median(values)),
                _fmt_ms(p99),
                _fmt_ms(max(values)),
                sum(v == float("inf") for v in values),
                "yes" if p99 < 1.0 else "NO",
            )
        )
    print(
        f"(a) registration on A (204) → visible on B / C: {len(results)} registrations, "
        f"{PROBES} at a time, re-polled every {POLL_INTERVAL * 1000:.0f} ms "
        f"({elapsed:.1f} s)\n"
    )
    print_table(["path", "n", "p50", "p99", "max", "not visible in 5 s", "p99 < 1 s"], rows)
    print(
        "\n(the floor is the sender's batching delay, max_batching_delay_ms = 20 ms by default: "
        "a lone change waits that long for company before its batch leaves)"
    )


# ---------------------------------------------------------------------------------------------
# (b) sustained replicated renewals


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat), to see who else was running."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def _children_cpu_seconds() -> float:
    """CPU of this script's finished children: wrk, once it has been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class StepResult:
    target: int
    accepted: float
    non_2xx: int
    delivered: dict[str, float]
    max_pending: int
    max_age_ms: int
    dropped: int
    expired: int
    overridden: int
    failed: int
    batches: float
    cpu: dict[str, float]

    @property
    def kept_up(self) -> bool:
        return (
            self.non_2xx == 0
            and self.dropped == 0
            and self.expired == 0
            and self.failed == 0
            and self.max_age_ms <= MAX_OK_AGE_MS
            and all(d >= MIN_DELIVERED_RATIO * self.accepted for d in self.delivered.values())
        )


def _peer_stats(client: httpx.Client, base: str) -> dict[str, dict[str, Any]]:
    peers = client.get(f"{base}/eureka/status", timeout=10).json()["peers"]
    return {p["url"]: p for p in peers}


def _wrk(port: int, script: Path, connections: int, seconds: int) -> tuple[float, int]:
    # Two threads at most: the script spreads exactly two walks over the instances.
    threads = min(2, connections)
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script)]
    out = subprocess.run(
        [*args, f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, int(errors.group(1)) if errors else 0


def _renew_step(
    root: Path,
    target: int,
    a: ServerProcess,
    peers: dict[str, ServerProcess],
    seed: int,
) -> StepResult:
    connections = max(1, round(target * DELAY_MS / 1000))
    script = root / f"renew-{target}.lua"
    script.write_text(RENEW_LUA % {"delay": DELAY_MS, "seed": seed, "n": INSTANCES, "apps": APPS})
    processes = {"A": a, **peers}
    pids = {name: p.proc.pid for name, p in processes.items() if p.proc is not None}
    urls = {name: p.url for name, p in peers.items()}
    samples: list[dict[str, dict[str, Any]]] = []
    stop = threading.Event()

    def sample() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    samples.append(_peer_stats(client, a.base))
                stop.wait(SAMPLE_INTERVAL)

    with httpx.Client() as client:
        before = _peer_stats(client, a.base)
        cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        wrk_before = _children_cpu_seconds()
        busy_before = _machine_busy_seconds()
        started = time.perf_counter()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            accepted, non_2xx = _wrk(a.port, script, connections, STEP_SECONDS)
        finally:
            stop.set()
            sampler.join()
        after = _peer_stats(client, a.base)
        elapsed = time.perf_counter() - started
        cpu = {name: (_cpu_seconds(pid) - cpu_before[name]) / elapsed for name, pid in pids.items()}
        cpu["wrk"] = (_children_cpu_seconds() - wrk_before) / elapsed
        busy = (_machine_busy_seconds() - busy_before) / elapsed
        # Everything else: this script's sampler, and whatever else shares the machine.
        cpu["other"] = max(0.0, busy - sum(cpu.values()))
        # Let the queues drain before the next step, so each step starts from empty queues.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            drained = _peer_stats(client, a.base)
            if all(p["pending"] == 0 and p["in_flight"] == 0 for p in drained.values()):
                break
            time.sleep(0.1)
    samples.append(after)

    def delta(url: str, key: str) -> int:
        return int(after[url][key]) - int(before[url][key])

    return StepResult(
        target=target,
        accepted=accepted,
        non_2xx=non_2xx,
        delivered={name: delta(url, "items_succeeded") / elapsed for name, url in urls.items()},
        max_pending=max(s[url]["pending"] for s in samples for url in urls.values()),
        max_age_ms=max(s[url]["oldest_pending_age_ms"] for s in samples for url in urls.values()),
        dropped=sum(
            delta(url, "dropped_overflow") + delta(url, "dropped_permanent")
            for url in urls.values()
        ),
        expired=sum(delta(url, "expired") for url in urls.values()),
        overridden=sum(delta(url, "overridden") for url in urls.values()),
        failed=sum(delta(url, "items_failed") for url in urls.values()),
        batches=sum(delta(url, "batches_sent") for url in urls.values()) / elapsed,
        cpu=cpu,
    )


def _lone_node_rate(root: Path, target: int) -> float:
    """The reference: the same wrk load against a node without peers."""
    lone = ServerProcess(settings=SETTINGS)
    try:
        lone.start()
        _populate([lone.base], INSTANCES)
        connections = max(1, round(target * DELAY_MS / 1000))
        script = root / "renew-lone.lua"
        script.write_text(RENEW_LUA % {"delay": DELAY_MS, "seed": 0, "n": INSTANCES, "apps": APPS})
        rate, _ = _wrk(lone.port, script, connections, STEP_SECONDS)
        return rate
    finally:
        lone.stop()
        if lone.log_path is not None:
            lone.log_path.unlink(missing_ok=True)


def _throughput_table(root: Path, a: ServerProcess, b: ServerProcess, c: ServerProcess) -> None:
    _populate([a.base, b.base, c.base], INSTANCES)
    peers = {"B": b, "C": c}
    results = [
        _renew_step(root, target, a, peers, seed) for seed, target in enumerate(TARGET_RATES)
    ]
    rows = []
    for r in results:
        rows.append(
            (
                f"{r.target:,}",
                f"{r.accepted:,.0f}",
                f"{r.delivered['B']:,.0f}",
                f"{r.delivered['C']:,.0f}",
                r.max_pending,
                f"{r.max_age_ms} ms",
                r.overridden,
                r.dropped,
                r.expired,
                r.failed + r.non_2xx,
                f"{r.batches:,.0f}",
                f"{r.cpu['A'] * 100:.0f}%",
                f"{r.cpu['B'] * 100:.0f}%",
                f"{r.cpu['C'] * 100:.0f}%",
                f"{r.cpu['wrk'] * 100:.0f}%",
                f"{r.cpu['other'] * 100:.0f}%",
                "yes" if r.kept_up else "no",
            )
        )
    print(
        f"\n(b) renewals on A spread over {INSTANCES:,} instances, {STEP_SECONDS} s per step "
        f"(wrk, connections = target × {DELAY_MS} ms); delivered = items the peer answered 200, "
        f"per second; CPU = share of one core ({os.cpu_count()} cores for A, B, C, wrk; "
        f"'other' = the rest of the machine, high means the step was disturbed)\n"
    )
    print_table(
        [
            "target/s",
            "accepted on A/s",
            "delivered to B/s",
            "delivered to C/s",
            "max pending",
            "max oldest age",
            "coalesced",
            "dropped",
            "expired",
            "failed",
            "batches/s",
            "CPU A",
            "CPU B",
            "CPU C",
            "CPU wrk",
            "CPU other",
            "kept up",
        ],
        rows,
    )
    kept = [r for r in results if r.kept_up]
    best = max(kept, key=lambda r: r.accepted) if kept else None
    top = max(results, key=lambda r: r.accepted)
    reference = _lone_node_rate(root, top.target)
    print()
    print_table(
        ["measure", "value"],
        [
            (
                "highest renewal rate on A with replication keeping up",
                "none" if best is None else f"{best.accepted:,.0f}/s",
            ),
            (
                "goal: 10,000/s",
                "met" if best is not None and best.accepted >= 10_000 else "NOT met",
            ),
            (
                f"lone node (no peers), target {top.target:,}/s",
                f"{reference:,.0f}/s",
            ),
            ("clustered A / lone node at that target", f"{top.accepted / reference:.2f}"),
        ],
    )


# ---------------------------------------------------------------------------------------------


def run() -> None:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is required (apt-get install wrk)")
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{port}/eureka/" for port in ports]
    nodes = [ServerProcess(port=port, settings=SETTINGS, peers=urls) for port in ports]
    root = Path(tempfile.mkdtemp(prefix="eureka-bench-cluster-"))
    try:
        for node in nodes:
            node.start(wait=False)
        for node in nodes:
            node.wait_ready()
        deadline = time.monotonic() + 20
        for node in nodes:
            while httpx.get(f"{node.base}/eureka/apps", timeout=5).status_code != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{node.base} never opened for reads")
                time.sleep(0.05)
        _convergence_table(ports)
        _throughput_table(root, *nodes)
    finally:
        for node in nodes:
            node.stop()
            if node.log_path is not None:
                node.log_path.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)

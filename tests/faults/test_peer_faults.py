"""Peers that die or hang under load, on real processes (loopback ports, two nodes).

* SIGKILL while replication batches are in flight, then a restart: the restarted node converges
  (start-up sync, then anti-entropy) and nothing acknowledged on the live node is missing.
* SIGSTOP — a peer that accepts connections (the kernel's backlog) and never answers: the node
  keeps answering its own clients at its normal latency, backs off the peer, and the peer
  catches up after SIGCONT.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.integration.server_process import ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("cluster")]

SETTINGS = {
    "eureka.server.enable-self-preservation": "false",
    "eureka.server.registry-sync-retries": "3",
    "eureka.server.registry-sync-retry-wait-ms": "300",
    "eureka.server.wait-time-in-ms-when-sync-empty": "0",
    "eureka.server.peer-node-connect-timeout-ms": "300",
    "eureka.server.peer-node-read-timeout-ms": "500",
    "eureka.server.anti-entropy-interval-ms": "2000",
    "eureka.server.anti-entropy-settle-ms": "300",
}
JSON = {"Accept": "application/json", "Content-Type": "application/json"}
TEMPLATE = json.loads((FIXTURES / "register-instance-springcloud-jersey.json").read_text())


def _body(instance_id: str) -> bytes:
    body = json.loads(json.dumps(TEMPLATE))
    body["instance"]["instanceId"] = instance_id
    body["instance"]["app"] = "LOAD"
    return json.dumps(body).encode()


def _view(node: ServerProcess) -> dict[str, str]:
    answer = httpx.get(f"{node.base}/eureka/apps/LOAD", headers=JSON, timeout=5)
    if answer.status_code != 200:
        return {}
    return {i["instanceId"]: i["status"] for i in answer.json()["application"]["instance"]}


def _digest(node: ServerProcess) -> str | None:
    """The registry's content digest; None while the node refuses reads (starting up)."""
    answer = httpx.get(f"{node.base}/eureka/apps", headers=JSON, timeout=5)
    return answer.headers.get("x-eureka-digest") if answer.status_code == 200 else None


def _peer(node: ServerProcess, peer_url: str, field: str) -> int:
    """One figure of the node's replication to `peer_url` (its status page)."""
    peers = httpx.get(f"{node.base}/eureka/status", timeout=5).json()["peers"]
    return int(next(p for p in peers if p["url"] == peer_url)[field])


def _failures(node: ServerProcess, peer_url: str) -> int:
    return _peer(node, peer_url, "consecutive_failures")


class _Load:
    """Registrations on `node` from 8 threads until stopped; the acknowledged ids."""

    def __init__(self, node: ServerProcess, prefix: str, limit: int) -> None:
        self.acknowledged: set[str] = set()
        self.latencies: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next = 0
        self._limit = limit
        self._node = node
        self._prefix = prefix
        self._pool = concurrent.futures.ThreadPoolExecutor(8)
        self._runs = [self._pool.submit(self._run) for _ in range(8)]

    def _take(self) -> int | None:
        with self._lock:
            if self._stop.is_set() or self._next >= self._limit:
                return None
            self._next += 1
            return self._next - 1

    def _run(self) -> None:
        with httpx.Client(base_url=self._node.base, timeout=5) as client:
            while (n := self._take()) is not None:
                instance_id = f"{self._prefix}-{n}"
                started = time.perf_counter()
                answer = client.post("/eureka/apps/LOAD", content=_body(instance_id), headers=JSON)
                elapsed = time.perf_counter() - started
                with self._lock:
                    self.latencies.append(elapsed)
                    if answer.status_code == 204:
                        self.acknowledged.add(instance_id)

    def finish(self) -> set[str]:
        for run in self._runs:
            run.result(timeout=60)
        self._pool.shutdown()
        return self.acknowledged

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)


@pytest.fixture
def pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}/eureka/" for port in ports]
    a, b = (ServerProcess(port=port, settings=SETTINGS, peers=urls) for port in ports)
    try:
        a.start(wait=False)
        b.start(wait=False)
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        for node in (a, b):
            if node.proc is not None and node.proc.poll() is None:
                os.kill(node.proc.pid, signal.SIGCONT)  # a stopped node cannot act on SIGTERM
            node.stop()


def test_a_peer_killed_mid_batch_converges_after_restart_with_nothing_lost(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    load = _Load(a, "kill", 3_000)
    try:
        # Mid-stream: B has taken some batches and more are on their way.
        wait_for(lambda: len(_view(b)) >= 300, timeout=30, interval=0.02)
        b.kill()
        acknowledged = load.finish()
    finally:
        load.stop()
    assert len(acknowledged) == 3_000
    assert set(_view(a)) == acknowledged  # the live node lost nothing either
    # A's batches after the kill failed: B really missed part of the stream.
    wait_for(lambda: _failures(a, f"http://127.0.0.1:{b.port}/eureka/") > 0, timeout=10)

    b.start()
    wait_for(lambda: _digest(b) == _digest(a), timeout=20, interval=0.5)
    assert set(_view(b)) == acknowledged
    assert "internal error" not in a.output() + b.output()


def test_a_hung_peer_does_not_slow_the_node_and_catches_up_after_sigcont(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    assert b.proc is not None
    baseline = _Load(a, "before", 400)
    baseline.finish()
    wait_for(lambda: len(_view(b)) == 400, timeout=10)

    os.kill(b.proc.pid, signal.SIGSTOP)
    try:
        during = _Load(a, "during", 400)
        acknowledged = during.finish()
        reads = []
        for _ in range(50):
            started = time.perf_counter()
            assert httpx.get(f"{a.base}/eureka/apps", headers=JSON, timeout=5).status_code == 200
            reads.append(time.perf_counter() - started)
        # Replication to B times out and backs off; A's own clients never wait for it.
        b_url = f"http://127.0.0.1:{b.port}/eureka/"
        wait_for(lambda: _failures(a, b_url) > 0, timeout=10)
        # Timed-out batches go back to the head of the queue, and sending pauses (backs off).
        wait_for(lambda: _peer(a, b_url, "requeued") > 0, timeout=10)
        wait_for(lambda: _peer(a, b_url, "paused_for_ms") > 0, timeout=10, interval=0.01)
    finally:
        os.kill(b.proc.pid, signal.SIGCONT)
    assert len(acknowledged) == 400

    def p99(samples: list[float]) -> float:
        return sorted(samples)[int(len(samples) * 0.99) - 1]

    print(
        f"registration p99: {p99(baseline.latencies) * 1000:.1f} ms before,"
        f" {p99(during.latencies) * 1000:.1f} ms with the peer stopped;"
        f" GET /apps p99 {p99(reads) * 1000:.1f} ms"
    )
    # "Normal latency": the stopped peer's 500 ms read timeout never shows in A's answers.
    assert p99(during.latencies) < max(0.25, 3 * p99(baseline.latencies))
    assert p99(reads) < 0.25

    wait_for(lambda: _digest(b) == _digest(a), timeout=20, interval=0.5)
    assert set(_view(b)) == set(_view(a)) >= acknowledged
    wait_for(lambda: _failures(a, b_url) == 0, timeout=10)

"""A real network partition: three nodes on hosts of our own, one cut off for longer than a lease.

Each node runs in its own network namespace (tests/faults/netns.py). Clients on node A's side and
on node C's side keep registering and renewing with their own node (tests/faults/partition_driver
.py, inside those hosts). After a warm-up — a full minute of renewals measured, so that leases
can expire at all (§6.11) — C is cut off for 10 s, more than twice the 4 s lease. Then:

* the clients register a new instance every second from just before the cut until after the
  heal, so registrations are acknowledged on both sides of the cut;
* during the cut, each side evicts the other side's instances (the partition is real and
  eviction is live), yet no node ever drops a lease that its own clients kept renewing: no
  renewal is answered 404 on either side;
* after healing, every node ends with the same content digest, and every registration any node
  acknowledged — before, during or after the cut, on either side — is on every node.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import ROOT
from tests.faults.netns import Network, unavailable
from tests.integration.server_process import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("cluster")]

HOSTS = ("a", "b", "c")
PORT = 8761
LEASE_S = 4
CUT_S = 10
SETTINGS = {
    "eureka.server.eviction-interval-timer-in-ms": "500",
    # Clients renew every second: the self-preservation threshold counts them that way.
    "eureka.server.expected-client-renewal-interval-seconds": "1",
    "eureka.server.renewal-threshold-update-interval-ms": "1000",
    # Registrations raise the self-preservation threshold at once (as Java's do), while the
    # renewals it is compared with are last minute's: at 85 % a few registrations during the
    # cut would suspend eviction everywhere. At 50 % eviction stays live, which is the harder
    # case for the clients that keep renewing.
    "eureka.server.renewal-percent-threshold": "0.5",
    "eureka.server.anti-entropy-interval-ms": "2000",
    "eureka.server.anti-entropy-settle-ms": "300",
    "eureka.server.registry-sync-retries": "0",
    "eureka.server.wait-time-in-ms-when-sync-empty": "0",
    "eureka.server.peer-node-connect-timeout-ms": "300",
    "eureka.server.peer-node-read-timeout-ms": "1000",
}
JSON = {"Accept": "application/json"}


class _Nodes:
    def __init__(self, net: Network) -> None:
        self.net = net
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self._files: list[IO[bytes]] = []

    def url(self, host: str) -> str:
        return f"http://{self.net.addresses[host]}:{PORT}/eureka/"

    def start(self) -> None:
        for host in HOSTS:
            args = [sys.executable, "-m", "eureka.cli", "server"]
            args += ["--host", self.net.addresses[host], "--port", str(PORT)]
            args += ["--my-url", self.url(host)]
            for other in HOSTS:
                if other != host:
                    args += ["--peer", self.url(other)]
            for key, value in SETTINGS.items():
                args += ["--set", f"{key}={value}"]
            fd, name = tempfile.mkstemp(prefix=f"eureka-partition-{host}-", suffix=".log")
            os.close(fd)
            self.logs[host] = Path(name)
            log = self.logs[host].open("wb")
            self._files.append(log)
            self.procs[host] = subprocess.Popen(
                self.net.exec_args(host, args), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )
        for host in HOSTS:
            wait_for(functools.partial(self._ready, host), timeout=30)

    def _ready(self, host: str) -> bool:
        proc = self.procs[host]
        if proc.poll() is not None:
            raise AssertionError(f"node {host} exited:\n{self.logs[host].read_text()}")
        try:
            return self.net.http.get(f"{self.url(host)}status").status_code == 200
        except Exception:
            return False

    def status(self, host: str) -> dict[str, Any]:
        return dict(self.net.http.get(f"{self.url(host)}status", headers=JSON).json())

    def ids(self, host: str, app: str) -> set[str]:
        answer = self.net.http.get(f"{self.url(host)}apps/{app}", headers=JSON)
        if answer.status_code == 404:
            return set()
        instances = answer.json()["application"]["instance"]
        return {i["instanceId"] for i in instances}

    def digest(self, host: str) -> str:
        return self.net.http.get(f"{self.url(host)}apps", headers=JSON).headers["x-eureka-digest"]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._files:
            log.close()


class _Driver:
    """One side's clients (partition_driver.py) inside host `host`, talking to its node."""

    def __init__(self, nodes: _Nodes, host: str, initial: int) -> None:
        args = [sys.executable, "-m", "tests.faults.partition_driver", nodes.url(host), host]
        args += [str(initial), str(LEASE_S)]
        self.proc = subprocess.Popen(
            nodes.net.exec_args(host, args), stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def start_registering(self) -> None:
        self.proc.send_signal(signal.SIGUSR2)

    def freeze(self) -> set[str]:
        """Stop registering (renewals go on): the ids acknowledged until now."""
        self.proc.send_signal(signal.SIGUSR1)
        assert self.proc.stdout is not None
        return set(json.loads(self.proc.stdout.readline())["acknowledged"])

    def finish(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=20)
        return dict(json.loads(out.strip().splitlines()[-1]))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def nodes() -> Iterator[_Nodes]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    with Network(HOSTS) as net:
        cluster = _Nodes(net)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()


def test_a_node_cut_off_longer_than_a_lease_loses_nothing_and_converges(nodes: _Nodes) -> None:
    sides = {"a": _Driver(nodes, "a", 10), "c": _Driver(nodes, "c", 10)}
    try:
        # Leases expire only once a full minute of renewals has been measured (§6.11).
        wait_for(
            lambda: all(nodes.status(h)["self_preservation"]["expiration_enabled"] for h in HOSTS),
            timeout=90,
            interval=1.0,
        )
        wait_for(lambda: nodes.ids("a", "PART-C") == nodes.ids("c", "PART-C"), timeout=10)
        c_seen_on_a = len(nodes.ids("a", "PART-C"))

        for driver in sides.values():
            driver.start_registering()  # one more instance a second on each side from now on
        nodes.net.cut("c")
        cut_at = time.monotonic()
        # A evicts C's instances: nobody renews them on A's side of the cut.
        evicted = wait_for(
            lambda: len(nodes.ids("a", "PART-C")) < c_seen_on_a, timeout=CUT_S, interval=0.5
        )
        assert evicted
        time.sleep(max(0.0, CUT_S - (time.monotonic() - cut_at)))
        nodes.net.heal("c")
        time.sleep(3)  # both sides keep registering and renewing across the heal
        acknowledged = {host: driver.freeze() for host, driver in sides.items()}

        def converged() -> bool:
            return len({nodes.digest(h) for h in HOSTS}) == 1

        # Two anti-entropy intervals, plus the time for heartbeats' 404s to re-register.
        wait_for(converged, timeout=15, interval=0.5)
        for host in HOSTS:
            for side, ids in acknowledged.items():
                missing = ids - nodes.ids(host, f"PART-{side.upper()}")
                assert not missing, (
                    f"node {host} lost registrations acknowledged on {side}: {missing}"
                )
        results = {host: driver.finish() for host, driver in sides.items()}
    finally:
        for driver in sides.values():
            driver.kill()

    for host, result in results.items():
        assert result["renewal_404"] == [], f"node {host} dropped leases its clients renewed"
        assert result["failed"] == 0, f"side {host}: requests to its own node failed"
        assert set(result["acknowledged"]) == acknowledged[host]  # nothing registered after
    for host in HOSTS:
        assert "internal error" not in nodes.logs[host].read_text()

"""Three real `eureka server` processes peered on loopback ports (protocol.md §8, §6.12)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.integration.server_process import ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("cluster")]

CLUSTER_SETTINGS = {
    "eureka.server.eviction-interval-timer-in-ms": "300",
    "eureka.server.enable-self-preservation": "false",
    "eureka.server.registry-sync-retries": "3",
    "eureka.server.registry-sync-retry-wait-ms": "200",
    "eureka.server.wait-time-in-ms-when-sync-empty": "1000",
}
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def _body(instance_id: str, *, duration: int = 90, status: str = "UP") -> dict:
    body = json.loads((FIXTURES / "register-instance-springcloud-jersey.json").read_text())
    instance = body["instance"]
    instance["instanceId"] = instance_id
    instance["status"] = status
    instance["leaseInfo"]["durationInSecs"] = duration
    return body


def _view(server: ServerProcess) -> dict[str, str]:
    """instance id → status as this node serves it (empty while it refuses reads)."""
    response = httpx.get(
        f"{server.base}/eureka/apps", headers={"Accept": "application/json"}, timeout=5
    )
    if response.status_code != 200:
        return {}
    return {
        i["instanceId"]: i["status"]
        for a in response.json()["applications"]["application"]
        for i in a["instance"]
    }


def _register(server: ServerProcess, instance_id: str, **kwargs: object) -> None:
    response = httpx.post(
        f"{server.base}/eureka/apps/ORDER-SERVICE",
        json=_body(instance_id, **kwargs),
        headers=JSON,  # type: ignore[arg-type]
    )
    assert response.status_code == 204


@pytest.fixture
def cluster() -> Iterator[list[ServerProcess]]:
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{port}/eureka/" for port in ports]
    # Every node gets the full list, itself included: "is this me" must sort it out.
    nodes = [ServerProcess(port=port, settings=CLUSTER_SETTINGS, peers=urls) for port in ports]
    try:
        for node in nodes:
            node.start(wait=False)
        for node in nodes:
            node.wait_ready()
        for node in nodes:
            wait_for(
                lambda n=node: httpx.get(f"{n.base}/eureka/apps").status_code == 200, timeout=15
            )
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def test_changes_on_any_node_reach_every_node(cluster: list[ServerProcess]) -> None:
    a, b, c = cluster
    _register(a, "i-1", duration=2)
    for node in (b, c):
        wait_for(lambda n=node: _view(n).get("i-1") == "UP", timeout=5)

    # Renewals arriving on B keep the 2-second lease alive on A and C while eviction runs.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert httpx.put(f"{b.base}/eureka/apps/ORDER-SERVICE/i-1").status_code == 200
        time.sleep(0.4)
    for node in (a, c):
        assert _view(node).get("i-1") == "UP"

    assert (
        httpx.put(f"{c.base}/eureka/apps/ORDER-SERVICE/i-1/status?value=OUT_OF_SERVICE").status_code
        == 200
    )
    for node in (a, b):
        wait_for(lambda n=node: _view(n).get("i-1") == "OUT_OF_SERVICE", timeout=5)
    overrides = httpx.get(f"{a.base}/eureka/serverinfo/statusoverrides").json()
    assert overrides == {"i-1": "OUT_OF_SERVICE"}

    assert httpx.delete(f"{b.base}/eureka/apps/ORDER-SERVICE/i-1").status_code == 200
    for node in (a, c):
        wait_for(lambda n=node: "i-1" not in _view(n), timeout=5)

    status = httpx.get(f"{a.base}/eureka/status").json()
    peers = {p["url"] for p in status["peers"]}
    assert peers == {b.url, c.url}, "a node must not replicate to itself"


def test_killed_node_converges_after_restart(cluster: list[ServerProcess]) -> None:
    a, b, c = cluster
    for i in range(10):
        _register(a, f"before-{i}")
    wait_for(lambda: len(_view(c)) == 10, timeout=5)

    c.kill()
    for i in range(20):
        _register(a, f"during-{i}")
    for i in range(0, 10, 2):
        assert httpx.delete(f"{a.base}/eureka/apps/ORDER-SERVICE/before-{i}").status_code == 200
    assert (
        httpx.put(
            f"{b.base}/eureka/apps/ORDER-SERVICE/during-3/status?value=OUT_OF_SERVICE"
        ).status_code
        == 200
    )
    wait_for(lambda: _view(b) == _view(a), timeout=5)

    c.start()
    expected = _view(a)
    assert len(expected) == 25
    wait_for(lambda: _view(c) == expected, timeout=10)
    # Converged through the start-up sync (not only through later repairs).
    assert "start-up sync done copied=25 " in c.output()


def test_unreachable_peer_is_reported_and_the_rest_works() -> None:
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{port}/eureka/" for port in ports]
    a = ServerProcess(port=ports[0], settings=CLUSTER_SETTINGS, peers=urls)
    b = ServerProcess(port=ports[1], settings=CLUSTER_SETTINGS, peers=urls)
    try:
        a.start()
        b.start()
        _register(a, "i-9")
        wait_for(lambda: _view(b).get("i-9") == "UP", timeout=10)
        status = httpx.get(f"{a.base}/eureka/status").json()
        dead = [p for p in status["peers"] if p["url"] == urls[2]]
        assert dead, status["peers"]
        wait_for(
            lambda: (
                next(
                    p
                    for p in httpx.get(f"{a.base}/eureka/status").json()["peers"]
                    if p["url"] == urls[2]
                )["consecutive_failures"]
                > 0
            ),
            timeout=10,
        )
    finally:
        a.stop()
        b.stop()


def test_startup_sync_copies_only_the_peers_local_registry() -> None:
    """A peer serving another region by transparent fallback must not hand us that region's
    instances as if they were its own (Java's sync does; §6.12)."""
    remote = ServerProcess(settings=CLUSTER_SETTINGS)
    a_port, b_port = free_port(), free_port()
    urls = [f"http://127.0.0.1:{a_port}/eureka/", f"http://127.0.0.1:{b_port}/eureka/"]
    a_settings = {
        **CLUSTER_SETTINGS,
        "eureka.server.remote-region-urls-with-name": f"us-west-2;{remote.url}",
        "eureka.server.remote-region-registry-fetch-interval": "1",
    }
    a = ServerProcess(port=a_port, settings=a_settings, peers=urls)
    b = ServerProcess(port=b_port, settings=CLUSTER_SETTINGS, peers=urls)
    try:
        remote.start()
        _register(remote, "west-1")
        a.start()
        _register(a, "local-1")
        # A serves both: its own instance and, by transparent fallback, the remote one.
        wait_for(lambda: set(_view(a)) == {"local-1", "west-1"}, timeout=10)
        b.start()
        wait_for(lambda: _view(b) == {"local-1": "UP"}, timeout=10)
        assert "start-up sync done copied=1 " in b.output()
    finally:
        for node in (b, a, remote):
            node.stop()

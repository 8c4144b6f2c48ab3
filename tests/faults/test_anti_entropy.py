"""Anti-entropy on real processes: replication batches lost on purpose, registries converge.

Node A replicates to node B through `DroppingProxy`, which acknowledges every batch without
delivering it. B's anti-entropy pulls from A directly; A's pulls from B through the proxy (its
reads pass). Nothing here is mocked: two `eureka server` processes, real HTTP.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.faults.proxy import DroppingProxy
from tests.integration.server_process import ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("cluster")]

INTERVAL_MS = 1500
SETTINGS = {
    "eureka.server.enable-self-preservation": "false",
    "eureka.server.registry-sync-retries": "3",
    "eureka.server.registry-sync-retry-wait-ms": "200",
    "eureka.server.wait-time-in-ms-when-sync-empty": "0",
    "eureka.server.anti-entropy-interval-ms": str(INTERVAL_MS),
    "eureka.server.anti-entropy-settle-ms": "300",
}
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def body(app: str, instance_id: str) -> dict[str, object]:
    document = json.loads((FIXTURES / "register-instance-springcloud-jersey.json").read_text())
    instance = document["instance"]
    instance["instanceId"] = instance_id
    instance["app"] = app
    instance["vipAddress"] = app.lower()
    return document


def register(node: ServerProcess, app: str, instance_id: str) -> None:
    reply = httpx.post(f"{node.base}/eureka/apps/{app}", json=body(app, instance_id), headers=JSON)
    assert reply.status_code == 204


def view(node: ServerProcess) -> dict[str, str]:
    reply = httpx.get(f"{node.base}/eureka/apps", headers={"Accept": "application/json"})
    assert reply.status_code == 200
    return {
        f"{a['name']}/{i['instanceId']}": i["status"]
        for a in reply.json()["applications"]["application"]
        for i in a["instance"]
    }


def total_digest(node: ServerProcess) -> str:
    return httpx.get(f"{node.base}/eureka/apps/digests").json()["digest"]  # type: ignore[no-any-return]


def anti_entropy(node: ServerProcess) -> dict[str, dict[str, object]]:
    peers = httpx.get(f"{node.base}/eureka/status").json()["peers"]
    return {p["url"]: p["anti_entropy"] for p in peers}


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[ServerProcess, ServerProcess, DroppingProxy]]:
    a_port, b_port = free_port(), free_port()
    b = ServerProcess(port=b_port, settings=SETTINGS, peers=[f"http://127.0.0.1:{a_port}/eureka/"])
    proxy = DroppingProxy(b_port).start()
    a = ServerProcess(port=a_port, settings=SETTINGS, peers=[proxy.url])
    try:
        proxy.dropping = False
        b.start(wait=False)
        a.start(wait=False)
        for node in (a, b):
            node.wait_ready()
            wait_for(lambda n=node: httpx.get(f"{n.base}/eureka/apps").status_code == 200)
        yield a, b, proxy
    finally:
        a.stop()
        b.stop()
        proxy.stop()


def test_lost_batches_are_repaired_within_two_intervals_and_not_sent_back(
    pair: tuple[ServerProcess, ServerProcess, DroppingProxy],
) -> None:
    a, b, proxy = pair
    proxy.dropping = False
    # Delivered normally first: these two will be cancelled while batches are lost.
    register(a, "BILLING", "billing-doomed-1")
    register(a, "BILLING", "billing-doomed-2")
    wait_for(lambda: len(view(b)) == 2)

    proxy.dropping = True
    for n in range(12):
        register(a, ("ORDERS", "BILLING", "SEARCH")[n % 3], f"lost-{n}")
    for n in (1, 2):
        assert httpx.delete(f"{a.base}/eureka/apps/BILLING/billing-doomed-{n}").status_code == 200
    url = f"{a.base}/eureka/apps/ORDERS/lost-0/status?value=OUT_OF_SERVICE"
    assert httpx.put(url).status_code == 200
    # The fault must really have lost them: 12 registers, 2 cancels, 1 status change.
    wait_for(lambda: proxy.dropped_items >= 15, timeout=2)
    lost_at = time.monotonic()

    expected = view(a)
    assert len(expected) == 12 and expected["ORDERS/lost-0"] == "OUT_OF_SERVICE"
    wait_for(
        lambda: total_digest(b) == total_digest(a), timeout=2 * INTERVAL_MS / 1000, interval=0.02
    )
    converged_after = time.monotonic() - lost_at
    assert converged_after < 2 * INTERVAL_MS / 1000
    assert view(b) == expected

    rounds = anti_entropy(b)[a.url]
    # 12 copies (lost-0 twice if a round fell between its register and its status change).
    adopted = rounds["instances_adopted"]
    assert adopted in (12, 13) and rounds["instances_dropped"] == 2
    assert "differed" in str(rounds["last_difference"])
    a_status = httpx.get(f"{a.base}/eureka/status").json()["registry"]
    assert a_status["operations"]["replicated_registrations"] == 0  # no repair came back to A

    # No churn afterwards: further rounds find the registries equal and change nothing.
    revisions = [
        httpx.get(f"{n.base}/eureka/status").json()["registry"]["revision"] for n in (a, b)
    ]
    time.sleep(2 * INTERVAL_MS / 1000)
    after = [httpx.get(f"{n.base}/eureka/status").json()["registry"]["revision"] for n in (a, b)]
    assert after == revisions
    assert anti_entropy(b)[a.url]["instances_adopted"] == adopted


def test_a_round_between_equal_registries_is_one_request(
    pair: tuple[ServerProcess, ServerProcess, DroppingProxy],
) -> None:
    a, b, proxy = pair
    proxy.dropping = False
    register(a, "ORDERS", "o-1")
    wait_for(lambda: total_digest(b) == total_digest(a))
    wait_for(lambda: (anti_entropy(a)[proxy.url]["rounds_equal"] or 0) >= 1, timeout=5)  # type: ignore[operator]

    before = anti_entropy(a)[proxy.url]
    forwarded = proxy.forwarded
    time.sleep(2.5 * INTERVAL_MS / 1000)
    after = anti_entropy(a)[proxy.url]

    rounds = int(after["rounds"]) - int(before["rounds"])  # type: ignore[call-overload]
    assert rounds >= 2
    assert int(after["rounds_equal"]) - int(before["rounds_equal"]) == rounds  # type: ignore[call-overload]
    # Every request from A to B goes through the proxy: one per round (a 304), nothing else.
    assert abs((proxy.forwarded - forwarded) - rounds) <= 1

"""What hostile bursts leave behind in a real `eureka server` process (RSS from /proc).

A registration bigger than the `registration-max-*` limits is refused (400) before the registry
keeps anything; registrations within them, deleted at once, are released once the delta queue
lets them go, and the heap trim hands the memory back to the OS. XML attacks are refused (400)
without the parser expanding anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.server_process import FAST_SETTINGS, ServerProcess, rss_mb

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("memory")]

SETTINGS = {
    **FAST_SETTINGS,
    "eureka.server.retention-time-in-m-s-in-delta-queue": "1000",
    "eureka.server.heap-trim-interval-ms": "500",
}
JSON_TYPE = {"content-type": "application/json"}


def registration(instance_id: str, metadata_bytes: int) -> bytes:
    metadata = {f"k{n}": "x" * 1000 for n in range(metadata_bytes // 1000)}
    instance = {
        "instanceId": instance_id,
        "hostName": "10.0.0.1",
        "app": "BIG",
        "ipAddr": "10.0.0.1",
        "status": "UP",
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn",
        },
        "metadata": metadata,
    }
    return json.dumps({"instance": instance}).encode()


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    with ServerProcess(settings=SETTINGS) as proc:
        with httpx.Client(base_url=proc.base) as warm:
            for _ in range(50):
                warm.get("/eureka/apps")
        yield proc


def test_registrations_over_the_limits_are_refused_and_leave_no_memory(
    server: ServerProcess,
) -> None:
    baseline = rss_mb(server)
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for n in range(150):
            reply = client.post(
                "/eureka/apps/BIG", content=registration(f"big-{n}", 1_000_000), headers=JSON_TYPE
            )
            assert reply.status_code == 400
            assert b"metadata" in reply.content
        assert client.get("/eureka/apps/BIG").status_code == 404
    assert rss_mb(server) - baseline < 25, (baseline, rss_mb(server))


def test_a_burst_within_the_limits_deleted_at_once_returns_close_to_baseline(
    server: ServerProcess,
) -> None:
    baseline = rss_mb(server)
    peak = baseline
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for n in range(1000):
            body = registration(f"big-{n}", 60_000)
            assert (
                client.post("/eureka/apps/BIG", content=body, headers=JSON_TYPE).status_code == 204
            )
            assert client.delete(f"/eureka/apps/BIG/big-{n}").status_code == 200
            if n % 100 == 0:
                client.get("/eureka/apps/delta")
                peak = max(peak, rss_mb(server))
        # The delta queue lets the deleted instances go after 1 s; the trim runs every 0.5 s.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and rss_mb(server) - baseline > 35:
            client.get("/eureka/apps/delta")
            time.sleep(0.25)
    idle = rss_mb(server)
    assert idle - baseline <= 35, (baseline, peak, idle)


XML_ATTACKS = {
    "billion laughs": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b"]><instance><app>&lol9;</app></instance>",
    "external entity": b'<?xml version="1.0"?><!DOCTYPE i [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<instance><app>X</app><hostName>&x;</hostName></instance>",
    "external DTD": b'<?xml version="1.0"?><!DOCTYPE instance SYSTEM "http://127.0.0.1:9/x.dtd">'
    b"<instance><app>X</app></instance>",
    "parameter entity": b'<?xml version="1.0"?><!DOCTYPE i [<!ENTITY % p SYSTEM "file:///etc/passwd">'
    b" %p;]><instance><app>X</app></instance>",
}


def test_xml_attacks_are_refused_with_400_without_growing_memory(server: ServerProcess) -> None:
    baseline = rss_mb(server)
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for _ in range(50):
            for name, body in XML_ATTACKS.items():
                reply = client.post(
                    "/eureka/apps/X", content=body, headers={"content-type": "application/xml"}
                )
                assert reply.status_code == 400, name
                assert b"passwd" not in reply.content and b"root:" not in reply.content
        assert client.get("/eureka/apps/X").status_code == 404
    assert rss_mb(server) - baseline < 10

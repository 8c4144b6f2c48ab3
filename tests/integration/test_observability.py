"""Metrics and health of real server processes, over HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.server_process import ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("observability")]

REGISTRATION = {
    "instance": {
        "instanceId": "obs-1",
        "hostName": "10.0.0.7",
        "app": "OBSERVED",
        "ipAddr": "10.0.0.7",
        "status": "UP",
        "port": {"$": 8080, "@enabled": "true"},
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn",
        },
    }
}


def _samples(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{base}/metrics")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_of_a_running_node() -> None:
    with ServerProcess() as server:
        url = f"{server.base}/eureka/apps/OBSERVED"
        assert httpx.post(url, json=REGISTRATION).status_code == 204
        for _ in range(5):
            assert httpx.put(f"{url}/obs-1").status_code == 200
        httpx.get(f"{server.base}/eureka/apps", headers={"Accept": "application/json"})
        samples = _samples(server.base)
        assert samples[("eureka_instances", (("application", "OBSERVED"), ("status", "UP")))] == 1
        assert samples[("eureka_renewals_total", (("origin", "client"),))] == 5
        renew = (("code", "200"), ("endpoint", "/apps/{app}/{id}"), ("method", "PUT"))
        assert samples[("eureka_http_requests_total", renew)] == 5
        assert samples[("eureka_response_cache_misses_total", ())] >= 1
        # The process collectors of prometheus_client come along.
        assert samples[("process_resident_memory_bytes", ())] > 0


def test_readiness_follows_the_start_up_sync_and_its_empty_window() -> None:
    dead_peer = f"http://127.0.0.1:{free_port()}/eureka/"
    settings = {
        "eureka.server.number-registry-sync-retries": "2",
        "eureka.server.registry-sync-retry-wait-ms": "300",
        "eureka.server.wait-time-in-ms-when-sync-empty": "2500",
        # Netflix's 0, not Spring's 1: an empty sync then refuses reads for the window.
        "eureka.server.default-open-for-traffic-count": "0",
        "eureka.server.enable-self-preservation": "false",
    }
    server = ServerProcess(settings=settings, peers=[dead_peer])
    try:
        server.start(wait=False)
        # While the node copies (or fails to copy) its peer's registry it is alive, not ready.
        wait_for(lambda: _code(server, "/actuator/health/liveness") == 200, timeout=20)
        readiness = httpx.get(f"{server.base}/actuator/health/readiness")
        assert readiness.status_code == 503
        assert json.loads(readiness.text)["status"] == "OUT_OF_SERVICE"
        # No peer answered: reads stay refused for the empty-sync window, then the node is ready.
        wait_for(lambda: "reached no peer" in _reason(server), timeout=20)
        assert httpx.get(f"{server.base}/eureka/apps").status_code == 403
        wait_for(lambda: _code(server, "/actuator/health/readiness") == 200, timeout=20)
        assert httpx.get(f"{server.base}/eureka/apps").status_code == 200
        assert _code(server, "/actuator/health") == 200
        samples = _samples(server.base)
        assert samples[("eureka_startup_sync_peers_unreachable", ())] == 1
        assert samples[("eureka_node_ready", ())] == 1
        status = httpx.get(f"{server.base}/eureka/status").json()
        assert status["startup_sync"]["answered"] == 0
        assert status["peers"][0]["url"] == dead_peer
        # A replicated registration fails against the dead peer: it shows as unreachable.
        url = f"{server.base}/eureka/apps/OBSERVED"
        assert httpx.post(url, json=REGISTRATION).status_code == 204
        peer = wait_for(lambda: _failing_peer(server), timeout=10)
        assert peer["state"]["name"] == "unreachable"
        assert peer["last_error"] and peer["last_failure_ms"] >= peer["state"]["since_ms"]
        state = (("peer", dead_peer), ("state", "unreachable"))
        assert _samples(server.base)[("eureka_peer_state", state)] == 1
    finally:
        server.stop()


def _code(server: ServerProcess, path: str) -> int:
    try:
        return httpx.get(f"{server.base}{path}", timeout=1).status_code
    except httpx.HTTPError:
        return 0


def _failing_peer(server: ServerProcess) -> dict[str, Any] | None:
    peers = httpx.get(f"{server.base}/eureka/status").json()["peers"]
    return next((p for p in peers if p["consecutive_failures"] > 0), None)


def _reason(server: ServerProcess) -> str:
    body = httpx.get(f"{server.base}/actuator/health/readiness").json()
    return str(body.get("details", {}).get("reason", ""))


def _gc(base: str) -> dict[str, Any]:
    gc_stats: dict[str, Any] = httpx.get(f"{base}/eureka/status").json()["gc"]
    return gc_stats


def test_the_node_freezes_what_survives_full_collections() -> None:
    from bench.serving import populate  # the batch endpoint: thousands of registrations fast

    with ServerProcess() as server:
        at_start = _gc(server.base)
        assert at_start["freezing"] and at_start["frozen_objects"] > 10_000
        populate(server.base, 0, 20_000, 200)
        # Enough long-lived objects arrived for CPython to run full collections, and what
        # survived them (the registrations) left the collector's scans.
        after = wait_for(lambda: (g := _gc(server.base))["full_collections"] >= 1 and g, 10)
        assert after["frozen_objects"] > at_start["frozen_objects"] + 20_000
        assert after["longest_full_pause_ms"] > 0
        samples = _samples(server.base)
        # Frozen objects are still freed by reference counting: the count moves, the
        # registrations stay.
        assert samples[("eureka_gc_frozen_objects", ())] > at_start["frozen_objects"] + 20_000


def test_freezing_can_be_switched_off() -> None:
    with ServerProcess(settings={"eureka.server.gc-freeze": "false"}) as server:
        stats = _gc(server.base)
        assert not stats["freezing"] and "frozen_objects" not in stats  # 0: omitted

"""What a real node logs: the operator lines, in one format for every line (ours and granian's)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.integration.server_process import FAST_SETTINGS, ServerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("server-logs")]

INSTANCE = {
    "instance": {
        "instanceId": "log-1",
        "hostName": "127.0.0.1",
        "app": "LOGGED",
        "ipAddr": "127.0.0.1",
        "status": "UP",
        "port": {"$": 8080, "@enabled": "true"},
        "leaseInfo": {"durationInSecs": 1},
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn",
        },
    }
}


def _exercise(server: ServerProcess) -> None:
    apps = f"{server.base}/eureka/apps"
    assert httpx.post(f"{apps}/LOGGED", json=INSTANCE).status_code == 204
    for _ in range(3):
        assert httpx.put(f"{apps}/LOGGED/log-1").status_code == 200
    assert httpx.put(f"{apps}/LOGGED/log-1/status?value=OUT_OF_SERVICE").status_code == 200
    assert httpx.delete(f"{apps}/LOGGED/log-1/status?value=UP").status_code == 200
    assert httpx.delete(f"{apps}/LOGGED/log-1").status_code == 200
    # A second instance left to expire: its 1 s lease is evicted by the 500 ms timer.
    expiring = json.loads(json.dumps(INSTANCE))
    expiring["instance"]["instanceId"] = "log-2"
    assert httpx.post(f"{apps}/LOGGED", json=expiring).status_code == 204
    wait_for(lambda: httpx.get(f"{apps}/LOGGED/log-2").status_code == 404, timeout=10)


def test_json_logs_are_one_object_per_line_for_every_logger() -> None:
    settings = {**FAST_SETTINGS, "eureka.server.log-format": "json"}
    server = ServerProcess(settings=settings).start()
    try:
        _exercise(server)
        wait_for(lambda: '"evicted"' in server.output())
    finally:
        server.stop()
    lines = [line for line in server.output().splitlines() if line.strip()]
    documents = [json.loads(line) for line in lines]  # every line parses
    assert all(set(d) >= {"time", "level", "logger", "message"} for d in documents)
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["time"]) for d in documents
    )
    # The HTTP layer's own lines too (granian's under granian, ours under the native layer).
    assert any(d["logger"] in ("granian", "eureka.server.http") for d in documents)
    assert not any("experimental" in d["message"].lower() for d in documents)
    events = [
        (d["message"], d.get("instance"), d.get("status"), d.get("replication"))
        for d in documents
        if d.get("app") == "LOGGED"
    ]
    assert events == [
        ("registered", "log-1", "UP", False),
        ("status override set", "log-1", "OUT_OF_SERVICE", False),
        ("status override removed", "log-1", "UP", False),
        ("cancelled", "log-1", None, False),
        ("registered", "log-2", "UP", False),
        ("evicted", "log-2", "UP", False),
    ]  # three renewals, not one line


def test_text_logs_carry_a_timestamp_and_greppable_fields() -> None:
    server = ServerProcess().start()
    try:
        apps = f"{server.base}/eureka/apps"
        assert httpx.post(f"{apps}/LOGGED", json=INSTANCE).status_code == 204
        wait_for(lambda: "registered app=LOGGED" in server.output())
    finally:
        server.stop()
    lines = [line for line in server.output().splitlines() if line.strip()]
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+: "
    assert all(re.match(stamp, line) for line in lines), lines
    assert any(
        line.endswith("registered app=LOGGED instance=log-1 status=UP replication=false")
        for line in lines
    )
    assert not any("experimental" in line.lower() for line in lines)

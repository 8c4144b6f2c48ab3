"""Unmodified third-party Eureka clients against a real `eureka server` process.

py-eureka-client (PyPI; reads our XML) and eureka-js-client (npm; reads our JSON) each register,
heartbeat past twice their lease, fetch the registry in full, learn about a new instance and a
cancellation through the delta path, live through a status override and its removal, and stop.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.integration.client_driver import DriverProcess
from tests.integration.server_process import ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("third-party")]

HERE = Path(__file__).parent
JS_DIR = HERE / "js"
OTHER_ID = "10.0.1.13:order-service:8080"
LEASE_SECONDS = 2


def _server_status(server: ServerProcess, app: str, instance_id: str) -> str | None:
    response = httpx.get(
        f"{server.base}/eureka/apps", headers={"Accept": "application/json"}, timeout=5
    )
    for application in response.json()["applications"]["application"]:
        if application["name"] == app:
            for instance in application["instance"]:
                if instance.get("instanceId") == instance_id:
                    return str(instance["status"])
    return None


def _ids(snapshot: dict[str, Any], app: str) -> dict[str, str]:
    return {i["id"]: i["status"] for i in snapshot["apps"].get(app, [])}


def _start_py_client(server: ServerProcess, app: str, instance_id: str) -> DriverProcess:
    return DriverProcess(
        [sys.executable, str(HERE / "pyclient_driver.py"), server.url, app, instance_id, "9001"]
    )


def _start_js_client(server: ServerProcess, app: str, instance_id: str) -> DriverProcess:
    options = {
        "app": app,
        "instanceId": instance_id,
        "port": 9002,
        "serverPort": server.port,
        "durationInSecs": LEASE_SECONDS,
    }
    return DriverProcess(["node", str(JS_DIR / "driver.js"), json.dumps(options)])


def _js_available() -> bool:
    return (
        shutil.which("node") is not None and (JS_DIR / "node_modules" / "eureka-js-client").is_dir()
    )


CLIENTS: list[tuple[str, Callable[[ServerProcess, str, str], DriverProcess]]] = [
    ("py-eureka-client", _start_py_client),
    ("eureka-js-client", _start_js_client),
]


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    settings = {
        "eureka.server.eviction-interval-timer-in-ms": "300",
        "eureka.server.enable-self-preservation": "false",
    }
    with ServerProcess(port=free_port(), settings=settings) as proc:
        yield proc


@pytest.mark.parametrize(("name", "start"), CLIENTS, ids=[c[0] for c in CLIENTS])
def test_third_party_client_lifecycle(
    server: ServerProcess,
    name: str,
    start: Callable[[ServerProcess, str, str], DriverProcess],
) -> None:
    if name == "eureka-js-client" and not _js_available():
        pytest.fail("eureka-js-client is not installed: run `make js-deps` (needs node and npm)")
    app, instance_id = (
        ("PYCLIENT", "pyclient-1") if name.startswith("py") else ("JSCLIENT", "jsclient-1")
    )
    # ORDER-SERVICE exists before the client starts: py-eureka-client can only learn about a new
    # *application* by a full fetch (its get_application never returns None, so its delta merge
    # never adds an app), but it learns about new *instances* by delta, which is what we test.
    base_body = json.loads((FIXTURES / "register-instance-springcloud-jersey.json").read_text())
    base_body["instance"].update(
        instanceId="10.0.1.12:order-service:8080", hostName="10.0.1.12", ipAddr="10.0.1.12"
    )
    assert httpx.post(f"{server.base}/eureka/apps/ORDER-SERVICE", json=base_body).status_code == 204
    driver = start(server, app, instance_id)
    try:
        # Registered and fetched in full.
        wait_for(lambda: _server_status(server, app, instance_id) == "UP", timeout=15)
        first = driver.wait_until(lambda s: s["full"] >= 1 and app in s["apps"])
        full_fetches = first["full"]

        # Heartbeats keep the lease alive well past twice its duration, with eviction running.
        deadline = time.monotonic() + 2.5 * LEASE_SECONDS
        while time.monotonic() < deadline:
            assert _server_status(server, app, instance_id) == "UP"
            time.sleep(0.25)

        # A new instance arrives through the delta path, not a full fetch.
        body = (FIXTURES / "register-instance-springcloud-jersey.json").read_bytes()
        registered = httpx.post(
            f"{server.base}/eureka/apps/ORDER-SERVICE",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert registered.status_code == 204
        seen = driver.wait_until(lambda s: OTHER_ID in _ids(s, "ORDER-SERVICE"))
        assert seen["delta"] >= 1
        assert seen["full"] == full_fetches, "learned about the new instance by a full fetch"

        # ... and so does its cancellation.
        assert (
            httpx.delete(f"{server.base}/eureka/apps/ORDER-SERVICE/{OTHER_ID}").status_code == 200
        )
        gone = driver.wait_until(lambda s: OTHER_ID not in _ids(s, "ORDER-SERVICE"))
        assert gone["full"] == full_fetches, "learned about the cancellation by a full fetch"

        # A status override holds across the client's heartbeats and reaches its view.
        own = f"{server.base}/eureka/apps/{app}/{instance_id}"
        assert httpx.put(f"{own}/status?value=OUT_OF_SERVICE").status_code == 200
        # (eureka-js-client filters non-UP instances on full fetches and ADDED entries only; a
        # MODIFIED entry replaces the cached instance whatever its status.)
        driver.wait_until(lambda s: _ids(s, app).get(instance_id) == "OUT_OF_SERVICE")
        time.sleep(2 * 1.0)  # two heartbeat intervals
        assert _server_status(server, app, instance_id) == "OUT_OF_SERVICE"

        # Removing it: the next heartbeat gets 404, the client re-registers, and it is UP again.
        assert httpx.delete(f"{own}/status").status_code == 200
        wait_for(lambda: _server_status(server, app, instance_id) == "UP", timeout=15)
        if name == "py-eureka-client":
            driver.wait_until(lambda s: _ids(s, app).get(instance_id) == "UP")
        # eureka-js-client ignores an ADDED entry for an instance it already caches (its
        # addInstance returns early), so its own view keeps UNKNOWN until a full fetch; Java's
        # server sends ADDED for every registration too (§6.2), so this is the client's limit.

        # Clean stop deregisters.
        driver.stop()
        assert driver.proc.returncode == 0, driver.stderr[-2000:]
        wait_for(lambda: _server_status(server, app, instance_id) is None, timeout=10)
    finally:
        driver.kill()

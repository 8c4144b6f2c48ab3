"""Basic auth on real `eureka server` processes: our clients, third-party clients and peers.

Every client sends its credentials the way it documents (user:password@ in the service URL); the
peers send theirs from the peer URLs, as Java peers do. Nothing here is mocked.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eureka.client import DiscoveryClient, load_config
from eureka.server.auth import encode_password
from tests.integration.client_driver import DriverProcess
from tests.integration.server_process import FAST_SETTINGS, ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("auth")]

HERE = Path(__file__).parent
PEER_PW, APP_PW, ADMIN_PW = "peer-pw-8d1", "app-pw-77c", "admin-pw-3f0"
AUTH_SETTINGS = {
    **FAST_SETTINGS,
    "eureka.server.auth.users.peer.password": encode_password(PEER_PW, "bcrypt"),
    "eureka.server.auth.users.peer.roles": "PEER",
    "eureka.server.auth.users.app.password": encode_password(APP_PW, "sha256"),
    "eureka.server.auth.users.app.roles": "CLIENT",
    "eureka.server.auth.users.admin.password": encode_password(ADMIN_PW, "pbkdf2"),
    "eureka.server.auth.users.admin.roles": "ADMIN",
}
JSON = {"Accept": "application/json"}


def with_credentials(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{user}:{password}@", 1)


def instances(server: ServerProcess) -> dict[str, str]:
    reply = httpx.get(f"{server.base}/eureka/apps", headers=JSON, timeout=5)
    if reply.status_code != 200:
        return {}
    return {
        i["instanceId"]: i["status"]
        for a in reply.json()["applications"]["application"]
        for i in a["instance"]
    }


def client_config(url: str, app: str, port: int):  # type: ignore[no-untyped-def]
    return load_config(
        env={},
        client={"service_url": {"defaultZone": url}},
        instance={
            "appname": app,
            "hostname": "127.0.0.1",
            "ip_address": "127.0.0.1",
            "non_secure_port": port,
        },
    )


@pytest.fixture(scope="module")
def secured() -> Iterator[ServerProcess]:
    with ServerProcess(settings=AUTH_SETTINGS) as proc:
        yield proc


def test_our_client_with_credentials_in_its_url_registers_renews_and_fetches(
    secured: ServerProcess,
) -> None:
    url = with_credentials(secured.url, "app", APP_PW)
    with DiscoveryClient(client_config(url, "ours", 9101)) as client:
        assert client.own is not None
        own = client.own.id
        assert instances(secured).get(own) == "UP"
        renewed = client.renew()
        assert renewed.ok and renewed.status == 200
        client.refresh()
        assert client.get_instance(own) is not None
        assert client.stats().registration_failures == 0
    wait_for(lambda: own not in instances(secured))


def test_our_client_without_credentials_cannot_register(secured: ServerProcess) -> None:
    client = DiscoveryClient(client_config(secured.url, "anonymous", 9102))
    try:
        client.start()
        assert client.own is not None
        assert client.own.id not in instances(secured)
        assert client.stats().registration_failures >= 1
        assert len(client.applications().applications_by_name) >= 0  # reads stay open
    finally:
        client.close()
    status = httpx.get(f"{secured.base}/eureka/status").json()["auth"]
    assert status["enabled"] is True
    assert status["refused"].get("missing_credentials", 0) >= 1
    log = secured.output()
    assert "missing_credentials" in log
    for secret in (PEER_PW, APP_PW, ADMIN_PW):
        assert secret not in log


def test_admin_endpoints_need_the_admin_credential(secured: ServerProcess) -> None:
    url = with_credentials(secured.url, "app", APP_PW)
    with DiscoveryClient(client_config(url, "overridden", 9103)) as client:
        assert client.own is not None
        target = f"{secured.base}/eureka/apps/OVERRIDDEN/{client.own.id}/status"
        params = {"value": "OUT_OF_SERVICE"}
        assert httpx.put(target, params=params, auth=("app", APP_PW)).status_code == 403
        assert httpx.put(target, params=params).status_code == 401
        assert instances(secured)[client.own.id] == "UP"
        assert httpx.put(target, params=params, auth=("admin", ADMIN_PW)).status_code == 200
        assert instances(secured)[client.own.id] == "OUT_OF_SERVICE"


def _js_available() -> bool:
    js = HERE / "js" / "node_modules" / "eureka-js-client"
    return shutil.which("node") is not None and js.is_dir()


@pytest.mark.parametrize("name", ["py-eureka-client", "eureka-js-client"])
def test_third_party_clients_with_credentials_in_their_urls(
    secured: ServerProcess, name: str
) -> None:
    app, instance_id = ("PYAUTH", "pyauth-1") if name.startswith("py") else ("JSAUTH", "jsauth-1")
    if name == "py-eureka-client":
        url = with_credentials(secured.url, "app", APP_PW)
        args = [sys.executable, str(HERE / "pyclient_driver.py"), url, app, instance_id, "9104"]
    else:
        if not _js_available():
            pytest.fail("eureka-js-client is not installed: run `make js-deps` (needs node)")
        options = {
            "app": app,
            "instanceId": instance_id,
            "port": 9105,
            "serviceUrl": with_credentials(secured.url, "app", APP_PW) + "apps/",
            "durationInSecs": 2,
        }
        args = ["node", str(HERE / "js" / "driver.js"), json.dumps(options)]
    driver = DriverProcess(args)
    try:
        wait_for(lambda: instances(secured).get(instance_id) == "UP", timeout=15)
        driver.wait_until(lambda s: app in s["apps"])
        # Heartbeats (authenticated) keep the 2-second lease alive past twice its length.
        deadline = time.monotonic() + 4.5
        while time.monotonic() < deadline:
            assert instances(secured).get(instance_id) == "UP"
            time.sleep(0.25)
        driver.stop()
        assert driver.proc.returncode == 0, driver.stderr[-2000:]
        wait_for(lambda: instance_id not in instances(secured), timeout=10)
    finally:
        driver.kill()


CLUSTER = {
    **AUTH_SETTINGS,
    "eureka.server.registry-sync-retries": "3",
    "eureka.server.registry-sync-retry-wait-ms": "200",
    "eureka.server.wait-time-in-ms-when-sync-empty": "1000",
}


def _register(server: ServerProcess, instance_id: str, auth: tuple[str, str]) -> int:
    body = {
        "instance": {
            "instanceId": instance_id,
            "hostName": "127.0.0.1",
            "app": "ORDERS",
            "ipAddr": "127.0.0.1",
            "status": "UP",
            "port": {"$": 8080, "@enabled": "true"},
            "dataCenterInfo": {
                "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                "name": "MyOwn",
            },
        }
    }
    return httpx.post(f"{server.base}/eureka/apps/ORDERS", json=body, auth=auth).status_code


def test_peers_replicate_and_sync_with_the_peer_credential_and_refuse_impostors() -> None:
    ports = [free_port() for _ in range(3)]
    peer_urls = [
        with_credentials(f"http://127.0.0.1:{port}/eureka/", "peer", PEER_PW) for port in ports
    ]
    a, b = (ServerProcess(port=p, settings=CLUSTER, peers=peer_urls[:2]) for p in ports[:2])
    late = ServerProcess(port=ports[2], settings=CLUSTER, peers=peer_urls)
    try:
        a.start(wait=False)
        b.start(wait=False)
        a.wait_ready()
        b.wait_ready()
        assert _register(a, "i-1", ("app", APP_PW)) == 204
        wait_for(lambda: instances(b).get("i-1") == "UP", timeout=10)

        # An impostor with the replication header or the batch endpoint changes nothing on B.
        before = httpx.get(f"{b.base}/eureka/apps", headers=JSON).content
        replicated = {"x-netflix-discovery-replication": "true"}
        target = f"{b.base}/eureka/apps/ORDERS/i-1"
        assert httpx.delete(target, headers=replicated).status_code == 401
        assert httpx.delete(target, headers=replicated, auth=("app", APP_PW)).status_code == 403
        batch = {"replicationList": [{"appName": "ORDERS", "id": "i-1", "action": "Cancel"}]}
        batch_url = f"{b.base}/eureka/peerreplication/batch/"
        assert httpx.post(batch_url, json=batch).status_code == 401
        assert httpx.post(batch_url, json=batch, auth=("admin", ADMIN_PW)).status_code == 403
        assert httpx.get(f"{b.base}/eureka/apps", headers=JSON).content == before

        # A node started later copies the registry from its peers with the peer credential.
        late.start()
        wait_for(lambda: instances(late).get("i-1") == "UP", timeout=10)
        sync = httpx.get(f"{late.base}/eureka/status").json()["startup_sync"]
        assert sync["copied"] >= 1 and sync["unreachable"] == []

        # Peer URLs are shown without their password.
        peers = httpx.get(f"{a.base}/eureka/status").json()["peers"]
        assert [p["url"] for p in peers] == [f"http://peer:***@127.0.0.1:{ports[1]}/eureka/"]
        for node in (a, b, late):
            assert PEER_PW not in node.output()
    finally:
        for node in (a, b, late):
            node.stop()


def test_a_peer_with_the_wrong_credential_is_refused_and_says_why() -> None:
    ports = [free_port() for _ in range(2)]
    good = with_credentials(f"http://127.0.0.1:{ports[0]}/eureka/", "peer", PEER_PW)
    bad = with_credentials(f"http://127.0.0.1:{ports[1]}/eureka/", "peer", "not-the-password")
    # b pulls from a with the good credential, by its start-up sync and by anti-entropy, and
    # either would rightly copy i-9: this test is about what a pushes with the bad one. So
    # anti-entropy is off, and i-9 is registered only once b's sync is over.
    settings = {**CLUSTER, "eureka.server.anti-entropy-interval-ms": "0"}
    a = ServerProcess(port=ports[0], settings=settings, peers=[good, bad])
    b = ServerProcess(port=ports[1], settings=settings, peers=[good])
    try:
        b.start()
        a.start()
        wait_for(lambda: httpx.get(f"{b.base}/eureka/status").json().get("startup_sync"))
        assert _register(a, "i-9", ("app", APP_PW)) == 204
        wait_for(
            lambda: (
                httpx.get(f"{a.base}/eureka/status").json()["peers"][0]["last_error"] == "HTTP 401"
            ),
            timeout=10,
        )
        assert "i-9" not in instances(b)
        refused = httpx.get(f"{b.base}/eureka/status").json()["auth"]["refused"]
        assert refused.get("wrong_password", 0) >= 1
        assert "not-the-password" not in a.output() + b.output()
    finally:
        a.stop()
        b.stop()

"""HTTPS on real processes: the node serves `server.ssl.certificate`; our client, peers (batches
and the start-up sync) and remote-region fetchers verify it against `eureka.client.tls.trust-store`.

The certificates are made in the test by trustme (a throw-away CA); nothing is mocked.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from eureka.client import DiscoveryClient, load_config
from tests.integration.server_process import FAST_SETTINGS, ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("tls")]

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    where = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {"ca": where / "ca.pem", "chain": where / "chain.pem", "key": where / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    with paths["chain"].open("wb") as chain:
        for blob in cert.cert_chain_pems:
            chain.write(blob.bytes())
    return {name: str(path) for name, path in paths.items()}


class HttpsServer(ServerProcess):
    def __init__(self, ca: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ca_file = ca
        # What httpx verifies the node with: the test CA only.
        self.ca = ssl.create_default_context(cafile=ca)

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/eureka/status", verify=self.ca).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.output()}")


def tls_settings(pki: dict[str, str], *, trust: bool = True) -> dict[str, str]:
    settings = {
        **FAST_SETTINGS,
        "server.ssl.certificate": pki["chain"],
        "server.ssl.certificate-private-key": pki["key"],
        "eureka.server.registry-sync-retries": "3",
        "eureka.server.registry-sync-retry-wait-ms": "200",
    }
    if trust:
        settings["eureka.client.tls.trust-store"] = pki["ca"]
    return settings


def instances(server: HttpsServer, query: str = "") -> dict[str, str]:
    reply = httpx.get(f"{server.base}/eureka/apps{query}", headers=JSON, verify=server.ca)
    if reply.status_code != 200:
        return {}
    return {
        i["instanceId"]: i["status"]
        for a in reply.json()["applications"]["application"]
        for i in a["instance"]
    }


def register(server: HttpsServer, instance_id: str, app: str = "ORDERS") -> None:
    body = {
        "instance": {
            "instanceId": instance_id,
            "hostName": "127.0.0.1",
            "app": app,
            "ipAddr": "127.0.0.1",
            "status": "UP",
            "dataCenterInfo": {
                "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                "name": "MyOwn",
            },
        }
    }
    reply = httpx.post(f"{server.base}/eureka/apps/{app}", json=body, verify=server.ca)
    assert reply.status_code == 204


@pytest.fixture(scope="module")
def node(pki: dict[str, str]) -> Iterator[HttpsServer]:
    with HttpsServer(pki["ca"], settings=tls_settings(pki)) as server:
        yield server


def test_the_node_serves_https_verified_by_the_test_ca(node: HttpsServer) -> None:
    assert httpx.get(f"{node.base}/eureka/apps", verify=node.ca).status_code == 200
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{node.base}/eureka/apps")  # the system CAs do not know the test CA
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{node.port}/eureka/apps", timeout=2)  # no plain HTTP


def test_our_client_verifies_the_node_with_the_trust_store(node: HttpsServer) -> None:
    def config(trust_store: str | None):  # type: ignore[no-untyped-def]
        return load_config(
            env={},
            client={"service_url": {"defaultZone": node.url}, "tls_trust_store": trust_store},
            instance={"appname": "tls-client", "hostname": "127.0.0.1", "ip_address": "127.0.0.1"},
        )

    with DiscoveryClient(config(node.ca_file)) as client:
        assert client.own is not None
        assert instances(node).get(client.own.id) == "UP"
        assert client.refresh().ok
    untrusting = DiscoveryClient(config(None))
    try:
        untrusting.start()
        assert untrusting.stats().registration_failures >= 1
        assert untrusting.stats().fetch_failures >= 1
    finally:
        untrusting.close()


def test_peers_replicate_and_sync_over_verified_https(pki: dict[str, str]) -> None:
    ports = [free_port() for _ in range(3)]
    urls = [f"https://127.0.0.1:{port}/eureka/" for port in ports]
    a, b = (
        HttpsServer(pki["ca"], port=p, settings=tls_settings(pki), peers=urls[:2])
        for p in ports[:2]
    )
    late = HttpsServer(pki["ca"], port=ports[2], settings=tls_settings(pki), peers=urls)
    try:
        a.start(wait=False)
        b.start(wait=False)
        a.wait_ready()
        b.wait_ready()
        register(a, "i-1")
        wait_for(lambda: instances(b).get("i-1") == "UP", timeout=10)
        late.start()
        wait_for(lambda: instances(late).get("i-1") == "UP", timeout=10)
        sync = httpx.get(f"{late.base}/eureka/status", verify=late.ca).json()["startup_sync"]
        assert sync["copied"] >= 1 and sync["unreachable"] == []
    finally:
        for server in (a, b, late):
            server.stop()


def test_a_peer_without_the_trust_store_refuses_the_unknown_certificate(
    pki: dict[str, str],
) -> None:
    ports = [free_port() for _ in range(2)]
    urls = [f"https://127.0.0.1:{port}/eureka/" for port in ports]
    trusting = HttpsServer(pki["ca"], port=ports[1], settings=tls_settings(pki), peers=urls)
    untrusting = HttpsServer(
        pki["ca"], port=ports[0], settings=tls_settings(pki, trust=False), peers=urls
    )
    try:
        trusting.start()
        untrusting.start()
        register(untrusting, "i-2")

        def last_error() -> str | None:
            status = httpx.get(f"{untrusting.base}/eureka/status", verify=untrusting.ca).json()
            return status["peers"][0]["last_error"] if status["peers"] else None

        error = wait_for(last_error, timeout=10)
        assert "ConnectError" in error and "CERTIFICATE_VERIFY_FAILED" in error
        assert "i-2" not in instances(trusting)
    finally:
        trusting.stop()
        untrusting.stop()


def test_remote_regions_are_fetched_over_verified_https(pki: dict[str, str]) -> None:
    with HttpsServer(pki["ca"], settings=tls_settings(pki)) as west:
        register(west, "w-1", app="WEST-APP")
        settings = {
            **tls_settings(pki),
            "eureka.server.remote-region-urls-with-name.us-west-2": west.url,
            "eureka.server.remote-region-registry-fetch-interval": "1",
        }
        with HttpsServer(pki["ca"], settings=settings) as east:
            wait_for(lambda: "w-1" in instances(east, "?regions=us-west-2"), timeout=10)
            regions = httpx.get(f"{east.base}/eureka/status", verify=east.ca).json()
            region = regions["remote_regions"]["us-west-2"]
            assert region["ready"] is True and region["last_error"] is None


def test_a_missing_certificate_file_stops_the_node_with_a_clear_message(
    pki: dict[str, str], tmp_path: Path
) -> None:
    settings = {**tls_settings(pki), "server.ssl.certificate": str(tmp_path / "missing.pem")}
    server = HttpsServer(pki["ca"], settings=settings)
    with pytest.raises(RuntimeError, match=r"missing\.pem does not exist"):
        server.start()
    server.stop()

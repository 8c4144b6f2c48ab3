"""Both façades fed with exchanges recorded from a real Java Eureka server (fixtures/java/http).

Exchange 27/28 is `GET /apps` (JSON/XML); 39/40 the `GET /apps/delta` after further changes
(an override removed, an instance cancelled), both from the same server; 51 is the registry
after those changes. The delta also carries DELETED entries of applications the full fetch never
showed — exactly the case where Java's adoption quirk would import ghosts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from eureka.client import AsyncDiscoveryClient, DiscoveryClient, EurekaConfig, FetchKind
from eureka.client.config import ClientConfig
from eureka.client.messages import Response
from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from tests.conftest import JAVA_HTTP

EXCHANGES = {
    "json": ("27-get-apps-json.resp.json", "39-get-delta-json-after-changes.resp.json"),
    "xml": ("28-get-apps-xml.resp.xml", "40-get-delta-xml-after-changes.resp.xml"),
}


class Replay:
    """Answers `apps/` and `apps/delta` with recorded bodies, as the Java server sent them."""

    def __init__(self, full: Path, delta: Path) -> None:
        kind = "application/xml" if full.suffix == ".xml" else "application/json"
        self.headers = {"content-type": kind}
        self.bodies = {"apps/": full.read_bytes(), "apps/delta": delta.read_bytes()}
        self.paths: list[str] = []

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        self.paths.append(path)
        return Response(200, self.headers, self.bodies[path])

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


class AsyncReplay(Replay):
    async def request(  # type: ignore[override]
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        return Replay.request(self, method, path)


def expected_after() -> dict[tuple[str, str], str]:
    registry = json_codec.decode_applications(
        (JAVA_HTTP / "51-rootmounted-get-apps-identity.resp.json").read_bytes()
    )
    return {(i.app, i.id): i.status.value for i in registry.iter_instances()}


def held(client: DiscoveryClient | AsyncDiscoveryClient) -> dict[tuple[str, str], str]:
    return {(i.app, i.id): i.status.value for i in client.applications().iter_instances()}


CONFIG = EurekaConfig(ClientConfig(register_with_eureka=False))


@pytest.mark.parametrize("fmt", sorted(EXCHANGES))
def test_sync_client_merges_the_java_servers_delta(fmt: str) -> None:
    full, delta = (JAVA_HTTP / name for name in EXCHANGES[fmt])
    replay = Replay(full, delta)
    with DiscoveryClient(CONFIG, transport=replay, clock=ManualClock()) as client:
        result = client.refresh()
        assert result.ok and result.kind is FetchKind.DELTA and not result.reconciled
        assert held(client) == expected_after()
        assert client.stats().reconcile_hash == "STARTING_1_UP_2_"
        assert "PYAPP" not in client.applications().applications_by_name  # no ghost
    assert replay.paths == ["apps/", "apps/delta"]


@pytest.mark.parametrize("fmt", sorted(EXCHANGES))
async def test_async_client_merges_the_java_servers_delta(fmt: str) -> None:
    full, delta = (JAVA_HTTP / name for name in EXCHANGES[fmt])
    replay = AsyncReplay(full, delta)
    async with AsyncDiscoveryClient(CONFIG, transport=replay, clock=ManualClock()) as client:
        result = await client.refresh()
        assert result.ok and result.kind is FetchKind.DELTA and not result.reconciled
        assert held(client) == expected_after()
        assert [i.id for i in client.get_instances_by_vip("order-service")] == [
            "10.0.1.13:order-service:8080"
        ]

"""Our discovery clients against a real `eureka server` process over HTTP (nothing mocked)."""

from __future__ import annotations

import httpx
import pytest

from eureka.client import (
    AsyncDiscoveryClient,
    DiscoveryClient,
    FetchKind,
    StatusChange,
    load_config,
)
from eureka.client.config import EurekaConfig
from eureka.model import InstanceStatus
from tests.integration.server_process import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("client")]


def config_for(server: ServerProcess, app: str, port: int, **client: object) -> EurekaConfig:
    # These tests pin the Java-compatible polling path (full, then deltas), which our server
    # would otherwise replace by the watch; the watch is tested in test_client_watch.py.
    return load_config(
        env={},
        client={"service_url": {"defaultZone": server.url}, "watch_enabled": False, **client},
        instance={
            "appname": app,
            "hostname": "127.0.0.1",
            "ip_address": "127.0.0.1",
            "non_secure_port": port,
        },
    )


def server_status(server: ServerProcess, app: str, instance_id: str) -> int:
    return httpx.get(
        f"{server.url}apps/{app}/{instance_id}", headers={"Accept": "application/json"}
    ).status_code


async def test_async_clients_see_each_other_through_full_and_delta_fetches(
    server: ServerProcess,
) -> None:
    async with (
        AsyncDiscoveryClient(config_for(server, "alpha", 9001)) as alpha,
        AsyncDiscoveryClient(config_for(server, "beta", 9002)) as beta,
    ):
        assert alpha.own is not None and beta.own is not None
        assert server_status(server, "ALPHA", alpha.own.id) == 200
        # alpha fetched an empty registry at start, so this fetch is full again (§10.2).
        result = await alpha.refresh()
        assert result.ok and result.kind is FetchKind.FULL
        assert [i.id for i in alpha.get_instances_by_vip("beta")] == [beta.own.id]

        # DOWN, because a registration cannot move an UP instance to OUT_OF_SERVICE (§6.3).
        beta.set_status(InstanceStatus.DOWN)
        assert await beta.replicate() is True  # publishes the change by re-registration
        result = await alpha.refresh()
        assert result.ok and result.kind is FetchKind.DELTA and not result.reconciled
        seen = alpha.get_application("beta")
        assert seen is not None
        assert seen.instances_by_id[beta.own.id].status is InstanceStatus.DOWN
        assert alpha.get_instances("beta") == []  # filtered: not UP
        assert alpha.stats().reconcile_mismatches == 0
        # An admin override of alpha itself arrives by delta as a StatusChange of the own instance.
        httpx.put(
            f"{server.url}apps/ALPHA/{alpha.own.id}/status", params={"value": "OUT_OF_SERVICE"}
        )
        result = await alpha.refresh()
        assert result.kind is FetchKind.DELTA and not result.reconciled
        assert StatusChange(InstanceStatus.UP, InstanceStatus.OUT_OF_SERVICE) in result.events
        beta_id = beta.own.id
    assert server_status(server, "BETA", beta_id) == 404  # cancelled on shutdown


async def test_heartbeat_404_reregisters_with_the_real_server(server: ServerProcess) -> None:
    async with AsyncDiscoveryClient(config_for(server, "gamma", 9003)) as client:
        assert client.own is not None
        httpx.delete(f"{server.url}apps/GAMMA/{client.own.id}")
        result = await client.renew()
        assert result.ok and result.reregistered and result.status == 404
        assert server_status(server, "GAMMA", client.own.id) == 200


def test_sync_client_registers_fetches_and_cancels(server: ServerProcess) -> None:
    with (
        DiscoveryClient(config_for(server, "delta-app", 9004)) as first,
        DiscoveryClient(config_for(server, "epsilon", 9005)) as second,
    ):
        assert first.own is not None and second.own is not None
        assert first.refresh().kind is FetchKind.FULL  # its start-up fetch saw an empty registry
        result = first.refresh()
        assert result.ok and result.kind is FetchKind.DELTA
        assert first.next_server("epsilon").id == second.own.id
        assert first.stats().reconcile_hash == "UP_2_"
        first_id = first.own.id
    assert server_status(server, "DELTA-APP", first_id) == 404


def test_basic_auth_service_url_is_accepted(server: ServerProcess) -> None:
    config = config_for(server, "zeta", 9006)
    config.client.service_url = {"defaultZone": server.url.replace("http://", "http://u:p@")}
    with DiscoveryClient(config) as client:
        assert client.stats().registrations == 1
        assert client.stats().full_fetches == 1

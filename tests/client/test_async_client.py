"""`AsyncDiscoveryClient` against the in-memory server (the transport seam), manual clock."""

from __future__ import annotations

import asyncio
import random

import pytest

from eureka.client import (
    AsyncDiscoveryClient,
    CacheRefreshed,
    ClientStartError,
    EurekaConfig,
    NoInstanceAvailable,
    StatusChange,
)
from eureka.client.config import ClientConfig
from eureka.client.events import Event
from eureka.clock import ManualClock, SystemClock
from eureka.codec import json as json_codec
from eureka.model import InstanceStatus
from tests.client.fakes import AsyncFake, FakeEurekaServer, make_instance, make_registry

UP, DOWN = InstanceStatus.UP, InstanceStatus.DOWN


def peers(n: int = 4) -> FakeEurekaServer:
    server = FakeEurekaServer()
    for i in range(n):
        server.add(make_instance("order-service", i))
    server.forget_delta()
    return server


def client_for(
    server: FakeEurekaServer, clock: ManualClock | None = None, **client: object
) -> AsyncDiscoveryClient:
    config = EurekaConfig(ClientConfig(**client))  # type: ignore[arg-type]
    return AsyncDiscoveryClient(
        config,
        transport=AsyncFake(server),
        instance=make_instance("me", 900),
        clock=clock or ManualClock(),
        rng=random.Random(0),
    )


async def test_start_fetches_then_registers_and_answers_queries() -> None:
    server = peers()
    client = client_for(server)
    await client.start(background=False)
    assert server.paths() == ["GET apps/", "POST apps/ME"]
    assert len(client.get_instances_by_vip("order-service")) == 4
    assert client.get_application("order-service") is not None
    assert client.get_instance(make_instance("order-service", 2).id) is not None
    assert client.next_server("ORDER-SERVICE").app == "ORDER-SERVICE"
    with pytest.raises(NoInstanceAvailable):
        client.next_server("nobody")
    stats = client.stats()
    assert (stats.full_fetches, stats.registrations, stats.registry_size) == (1, 1, 4)
    await client.stop()


async def test_periodic_jobs_run_when_due() -> None:
    server, clock = peers(), ManualClock()
    client = client_for(server, clock)
    await client.start(background=False)
    server.requests.clear()
    clock.advance(30)
    assert sorted(await client.run_due_jobs()) == ["cache-refresh", "heartbeat"]
    assert sorted(server.paths()) == ["GET apps/delta", "PUT apps/ME/" + client.own.id]  # type: ignore[union-attr]
    clock.advance(10)
    assert await client.run_due_jobs() == ["instance-info-replicator"]  # 40 s initial delay
    await client.stop()


async def test_heartbeat_404_reregisters() -> None:
    server, clock = peers(), ManualClock()
    client = client_for(server, clock)
    await client.start(background=False)
    server.instances.pop(("ME", client.own.id))  # type: ignore[union-attr]
    result = await client.renew()
    assert result.ok and result.reregistered
    assert ("ME", client.own.id) in server.instances  # type: ignore[union-attr]
    await client.stop()


async def test_set_status_publishes_on_demand_with_rate_limit() -> None:
    server, clock = peers(), ManualClock()
    client = client_for(server, clock)
    await client.start(background=False)
    posts = lambda: [r for r in server.requests if r.method == "POST"]  # noqa: E731
    for status in (DOWN, UP, DOWN):
        client.set_status(status)
        await client.run_due_jobs()
    # Burst 2: the first two changes went out at once, the third waits for the periodic run.
    assert [json_codec.decode_instance(r.body or b"").status for r in posts()[1:]] == [DOWN, UP]
    clock.advance(30)
    await client.run_due_jobs()
    assert json_codec.decode_instance(posts()[-1].body or b"").status is DOWN
    await client.stop()


async def test_health_check_decides_the_own_status() -> None:
    server, clock = peers(), ManualClock()
    client = client_for(server, clock)
    answers = iter([False, RuntimeError("boom")])

    async def check() -> bool:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client.health_check = check
    await client.start(background=False)
    await client.replicate()
    assert server.instances[("ME", client.own.id)].status is DOWN  # type: ignore[union-attr]
    client.set_status(UP)
    await client.replicate()  # the check raises: reported DOWN, as Java does
    assert client.own.status is DOWN  # type: ignore[union-attr]
    await client.stop()


async def test_listeners_hear_refreshes_and_own_status_changes() -> None:
    server, clock = peers(), ManualClock()
    client = client_for(server, clock)
    events: list[Event] = []
    client.add_listener(events.append)
    client.add_listener(lambda e: 1 / 0)  # a failing listener does not disturb the others
    await client.start(background=False)
    await client.refresh()
    assert [type(e) for e in events] == [CacheRefreshed, CacheRefreshed, StatusChange]
    assert events[-1] == StatusChange(InstanceStatus.UNKNOWN, UP)
    await client.stop()


async def test_backup_registry_is_used_when_the_first_fetch_fails() -> None:
    server = peers()
    server.failures = 1
    config = EurekaConfig(ClientConfig(register_with_eureka=False))
    client = AsyncDiscoveryClient(
        config,
        transport=AsyncFake(server),
        clock=ManualClock(),
        backup_registry=lambda: make_registry(3, apps=1),
    )
    await client.start(background=False)
    assert len(client.get_instances("app-0")) == 3
    assert server.paths() == ["GET apps/"]
    await client.stop()
    assert server.paths() == ["GET apps/"]  # not registered: nothing to cancel


async def test_enforced_init_failures_raise() -> None:
    server = peers()
    server.failures = 1
    client = client_for(server, should_enforce_fetch_registry_at_init=True)
    with pytest.raises(ClientStartError):
        await client.start(background=False)
    server.status_for["POST apps/ME"] = 500
    client = client_for(server, should_enforce_registration_at_init=True)
    with pytest.raises(ClientStartError):
        await client.start(background=False)


async def test_failed_initial_registration_is_retried_by_the_replicator() -> None:
    server, clock = peers(), ManualClock()
    server.status_for["POST apps/ME"] = 500
    client = client_for(server, clock)
    await client.start(background=False)
    del server.status_for["POST apps/ME"]
    clock.advance(40)
    await client.run_due_jobs()
    assert ("ME", client.own.id) in server.instances  # type: ignore[union-attr]
    await client.stop()


async def test_timeouts_back_off_the_refresh_and_success_resets_it() -> None:
    server, clock = peers(), ManualClock()
    client = client_for(server, clock, register_with_eureka=False)
    await client.start(background=False)
    slow = {"on": True}

    def slow_delta(request: object) -> None:
        if slow["on"] and getattr(request, "path", "") == "apps/delta":
            clock.advance(45)  # longer than the 30 s interval

    server.on_request = slow_delta
    delays = []
    for _ in range(3):
        clock.advance(client.stats().refresh_delay_seconds or 0)
        await client.run_due_jobs()
        delays.append(client.stats().refresh_delay_seconds)
    assert delays == [60, 120, 240]
    slow["on"] = False
    clock.advance(240)
    await client.run_due_jobs()
    assert client.stats().refresh_delay_seconds == 30
    await client.stop()


async def test_stop_goes_down_and_cancels() -> None:
    server = peers()
    async with client_for(server) as client:
        await asyncio.sleep(0)
    assert server.paths()[-1] == f"DELETE apps/ME/{client.own.id}"  # type: ignore[union-attr]
    assert client.own.status is DOWN  # type: ignore[union-attr]
    assert ("ME", client.own.id) not in server.instances  # type: ignore[union-attr]


async def test_background_tasks_run_in_the_callers_loop() -> None:
    server = peers()
    refreshed = asyncio.Event()
    count = 0

    def on_event(event: Event) -> None:
        nonlocal count
        if isinstance(event, CacheRefreshed):
            count += 1
            if count >= 3:
                refreshed.set()

    config = EurekaConfig(ClientConfig(registry_fetch_interval_seconds=0.01))
    client = AsyncDiscoveryClient(
        config, transport=AsyncFake(server), instance=make_instance("me", 1), clock=SystemClock()
    )
    client.add_listener(on_event)
    await client.start()
    await asyncio.wait_for(refreshed.wait(), timeout=5)
    assert client.stats().delta_fetches >= 2
    await client.stop()

"""The watch in both façades: its own task or thread, held requests, stop, subscriptions, events.

The in-memory server holds long-polls for real here (`hold=True`: a blocked thread, or a task
polling it), so every wait below is bounded and on a condition; the schedule runs on a manual
clock, so no periodic job interferes unless a test advances it.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable

import httpx

from eureka.client import AsyncDiscoveryClient, DiscoveryClient, EurekaConfig
from eureka.client.config import ClientConfig
from eureka.client.events import CacheRefreshed, Event, InstanceAdded, InstanceRemoved
from eureka.client.integrations.httpx_transport import AsyncEurekaTransport, EurekaTransport
from eureka.clock import ManualClock
from tests.client.fakes import FEATURES, AsyncFake, FakeEurekaServer, make_instance

BOUND = 5.0  # seconds: every wait on a condition gives up after this


def contract_server(*, hold: bool = True) -> FakeEurekaServer:
    server = FakeEurekaServer(features=FEATURES)
    for i in range(4):
        server.add(make_instance(f"app-{i % 2}", i))
    server.forget_delta()
    server.hold = hold
    return server


def config(**client: object) -> EurekaConfig:
    return EurekaConfig(ClientConfig(**client))  # type: ignore[arg-type]


def wait_until(predicate: Callable[[], object], timeout: float = BOUND) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.002)


async def eventually(predicate: Callable[[], object], timeout: float = BOUND) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.002)


def async_client(
    server: FakeEurekaServer, clock: ManualClock, **client: object
) -> AsyncDiscoveryClient:
    return AsyncDiscoveryClient(
        config(**client),
        transport=AsyncFake(server),
        instance=make_instance("me", 900),
        clock=clock,
        rng=random.Random(0),
    )


def sync_client(server: FakeEurekaServer, clock: ManualClock, **client: object) -> DiscoveryClient:
    return DiscoveryClient(
        config(**client),
        transport=server,
        instance=make_instance("me", 900),
        clock=clock,
        rng=random.Random(0),
    )


def long_polls(server: FakeEurekaServer) -> list[dict[str, str]]:
    return [dict(r.params) for r in server.requests if r.long_poll]


# ---- async --------------------------------------------------------------------------------------


async def test_async_watch_task_applies_a_change_as_soon_as_the_server_answers() -> None:
    server, clock = contract_server(), ManualClock()
    client = async_client(server, clock)
    newcomer = make_instance("app-1", 50)
    added = asyncio.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, InstanceAdded) and event.instance.id == newcomer.id:
            added.set()

    client.add_listener(on_event, instance_events=True)
    await client.start()
    await eventually(lambda: server.holding == 1)
    server.add(newcomer)
    await asyncio.wait_for(added.wait(), BOUND)
    assert client.get_instance(newcomer.id) is not None
    stats = client.stats()
    assert stats.watch.watching and stats.watch.changes == 2  # ME's registration, the newcomer
    assert stats.full_fetches == 1 and stats.delta_fetches == 0
    await client.stop()


async def test_async_stop_cancels_the_held_request() -> None:
    server, clock = contract_server(), ManualClock()
    transport = AsyncFake(server)
    client = AsyncDiscoveryClient(
        config(register_with_eureka=False), transport=transport, clock=clock
    )
    await client.start()
    await eventually(lambda: server.holding == 1)
    started = time.monotonic()
    await client.stop()
    assert time.monotonic() - started < 1.0  # not the 30 s the server would hold it
    assert transport.cancelled == 1 and server.holding == 0


async def test_the_refresh_job_does_not_poll_while_the_watch_works() -> None:
    server, clock = contract_server(), ManualClock()
    client = async_client(server, clock)
    await client.start()
    await eventually(lambda: server.holding == 1)
    before = len(server.requests)
    clock.advance(30)
    assert "cache-refresh" in await client.run_due_jobs()
    assert [r.path for r in server.requests[before:]] == [f"apps/ME/{client.own.id}"]  # type: ignore[union-attr]
    await client.stop()


async def test_async_subscription_restarts_the_held_watch_with_the_new_subset() -> None:
    server, clock = contract_server(), ManualClock()
    client = async_client(server, clock, watch_subset=True, register_with_eureka=False)
    await client.start()
    await eventually(lambda: server.holding == 1)
    assert long_polls(server)[-1]["apps"] == "ME"  # the own application only, so far
    assert client.get_application("app-1") is None

    assert await client.watch_application("app-1")

    await eventually(lambda: len(long_polls(server)) == 2 and server.holding == 1)
    assert long_polls(server)[-1]["apps"] == "APP-1,ME"
    assert len(client.get_instances("app-1")) == 2
    server.add(make_instance("app-1", 60))
    await eventually(lambda: len(client.get_instances("app-1")) == 3)
    await client.stop()


async def test_the_async_httpx_transport_subscribes_to_an_application_it_has_not_seen() -> None:
    server, clock = contract_server(hold=False), ManualClock()
    client = async_client(server, clock, watch_subset=True, register_with_eureka=False)
    await client.start(background=False)
    seen: list[str] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host}:{request.url.port}")
        return httpx.Response(200)

    inner = httpx.MockTransport(upstream)
    async with httpx.AsyncClient(transport=AsyncEurekaTransport(client, inner)) as http:
        await http.get("http://app-0/orders")
        await http.get("http://example.org/")
    app_0 = {f"{i.host_name}:{i.port}" for i in client.get_instances("app-0")}
    assert seen[0] in app_0 and seen[1] == "example.org:None"
    assert client.stats().watch.subset == ("APP-0", "ME")
    await client.stop()


async def test_async_listeners_hear_instance_events_only_if_they_ask() -> None:
    server, clock = contract_server(hold=False), ManualClock()
    client = async_client(server, clock, register_with_eureka=False)
    plain: list[Event] = []
    detailed: list[Event] = []
    client.add_listener(plain.append)
    client.add_listener(detailed.append, instance_events=True)
    await client.start(background=False)
    server.delete("APP-0", make_instance("app-0", 0).id)
    await client.watch_once()
    assert {type(e) for e in plain} == {CacheRefreshed}
    assert [type(e) for e in detailed].count(InstanceAdded) == 4
    assert [type(e) for e in detailed].count(InstanceRemoved) == 1
    await client.stop()


async def test_async_client_against_a_java_server_polls_legacy_deltas_without_a_watch() -> None:
    server, clock = FakeEurekaServer(), ManualClock()
    server.add(make_instance("app-0", 1))
    client = async_client(server, clock)
    await client.start()
    clock.advance(30)
    await client.run_due_jobs()
    assert client._watcher is None  # type: ignore[attr-defined]
    assert server.paths()[:3] == ["GET apps/", "POST apps/ME", "GET apps/delta"]
    assert not client.stats().watch.watching
    await client.stop()


async def test_a_watch_that_keeps_failing_hands_over_to_the_refresh_job() -> None:
    server, clock = contract_server(hold=False), ManualClock()
    client = async_client(server, clock, watch_fallback_after_failures=2)
    await client.start(background=False)
    server.status_for["GET apps/delta"] = 502  # a proxy that cuts held requests
    for _ in range(2):
        assert not (await client.watch_once()).ok
    assert not client.stats().watch.watching
    del server.status_for["GET apps/delta"]
    clock.advance(30)
    before = len(server.requests)
    await client.run_due_jobs()
    polls = [r for r in server.requests[before:] if r.path == "apps/delta"]
    assert len(polls) == 1 and "wait" not in polls[0].params and "since" in polls[0].params
    await client.stop()


# ---- sync ---------------------------------------------------------------------------------------


def test_sync_watch_thread_applies_changes_and_close_interrupts_the_hold() -> None:
    server, clock = contract_server(), ManualClock()
    newcomer = make_instance("app-0", 70)
    added = threading.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, InstanceAdded) and event.instance.id == newcomer.id:
            added.set()

    client = sync_client(server, clock)
    client.add_listener(on_event, instance_events=True)
    client.start()
    wait_until(lambda: server.holding == 1)
    threads = {t.name for t in threading.enumerate()}
    assert {"eureka-watch", "eureka-discovery-client"} <= threads
    server.add(newcomer)
    assert added.wait(BOUND)
    assert client.get_instance(newcomer.id) is not None
    wait_until(lambda: server.holding == 1)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1.0  # the hold was interrupted, not waited out
    assert server.holding == 0
    assert "eureka-watch" not in {t.name for t in threading.enumerate()}


def test_sync_heartbeats_are_not_held_up_by_the_watch() -> None:
    server, clock = contract_server(), ManualClock()
    client = sync_client(server, clock)
    client.start(background=False)
    client.watch_once()  # brings the own registration: the next round has nothing to answer
    watcher = threading.Thread(target=client.watch_once)
    watcher.start()
    wait_until(lambda: server.holding == 1)
    clock.advance(30)
    assert sorted(client.run_due_jobs()) == ["cache-refresh", "heartbeat"]  # while it is held
    assert client.stats().heartbeats == 1
    server.add(make_instance("app-0", 71))
    watcher.join(BOUND)
    assert not watcher.is_alive()
    client.close()


def test_sync_subscription_interrupts_the_held_watch_and_widens_it() -> None:
    server, clock = contract_server(), ManualClock()
    client = sync_client(server, clock, watch_applications=["app-0"], register_with_eureka=False)
    client.start()
    wait_until(lambda: server.holding == 1)
    assert long_polls(server)[-1]["apps"] == "APP-0,ME"  # the own application is always in
    assert client.watch_application("APP-1")
    wait_until(lambda: len(long_polls(server)) == 2 and server.holding == 1)
    assert long_polls(server)[-1]["apps"] == "APP-0,APP-1,ME"
    server.add(make_instance("app-1", 72))
    wait_until(lambda: len(client.get_instances("app-1")) == 3)
    client.close()


def test_the_httpx_transport_subscribes_once_and_lets_unknown_hosts_through() -> None:
    server, clock = contract_server(hold=False), ManualClock()
    client = sync_client(server, clock, watch_subset=True, register_with_eureka=False)
    client.start(background=False)
    seen: list[str] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host}:{request.url.port}")
        return httpx.Response(200)

    with httpx.Client(transport=EurekaTransport(client, httpx.MockTransport(upstream))) as http:
        http.get("http://APP-1/x")
        http.get("http://APP-1/y")  # known now: no second subscription
        http.get("http://not-a-service/")
        http.get("http://not-a-service/")  # its 404 is remembered
        http.get("http://127.0.0.1:9/")  # an address is never a service name
    lookups = [r.path for r in server.requests if r.path.startswith("apps/") and len(r.path) > 5]
    assert lookups == ["apps/APP-1", "apps/NOT-A-SERVICE"]
    app_1 = {f"{i.host_name}:{i.port}" for i in client.get_instances("app-1")}
    assert seen[0] in app_1 and seen[1] in app_1
    assert seen[2:] == ["not-a-service:None", "not-a-service:None", "127.0.0.1:9"]
    client.close()

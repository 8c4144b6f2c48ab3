"""httpx transport resolving service names, and the Starlette/FastAPI lifespan."""

from __future__ import annotations

import random
import threading
import warnings

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from eureka.client import AsyncDiscoveryClient, DiscoveryClient, EurekaConfig
from eureka.client.config import ClientConfig
from eureka.client.integrations.httpx_transport import (
    AsyncEurekaTransport,
    EurekaTransport,
    NotRegistered,
)
from eureka.client.integrations.starlette import eureka_lifespan
from eureka.clock import ManualClock
from eureka.model import InstanceStatus
from tests.client.fakes import AsyncFake, FakeEurekaServer, make_instance

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its test client; httpx is what this project pins.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def registry_of(*statuses: InstanceStatus) -> FakeEurekaServer:
    server = FakeEurekaServer()
    for n, status in enumerate(statuses):
        server.add(make_instance("order-service", n + 1, status=status, vip="orders"))
    return server


def started(server: FakeEurekaServer) -> DiscoveryClient:
    client = DiscoveryClient(
        EurekaConfig(ClientConfig(register_with_eureka=False)),
        transport=server,
        clock=ManualClock(),
        rng=random.Random(0),
    )
    client.start(background=False)
    return client


class Upstream:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.host in self.refuse:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, text=f"{request.url.host}:{request.url.port}{request.url.path}")


def test_service_name_resolves_round_robin_to_up_instances() -> None:
    server = registry_of(InstanceStatus.UP, InstanceStatus.UP, InstanceStatus.DOWN)
    upstream = Upstream()
    http = httpx.Client(transport=EurekaTransport(started(server), httpx.MockTransport(upstream)))
    bodies = [http.get("http://order-service/orders/42").text for _ in range(4)]
    up_hosts = {f"{make_instance('order-service', n).host_name}:{8000 + n}" for n in (1, 2)}
    assert {b.rsplit("/orders", 1)[0] for b in bodies} == up_hosts
    assert bodies[0] != bodies[1] and bodies[0] == bodies[2]  # alternating
    assert upstream.seen[0].headers["host"] in up_hosts
    # A VIP works as well as the app name.
    assert http.get("http://ORDERS/x").text.endswith("/x")


def test_connection_failure_moves_to_another_instance() -> None:
    server = registry_of(InstanceStatus.UP, InstanceStatus.UP)
    dead = make_instance("order-service", 1).host_name or ""
    upstream = Upstream(refuse={dead})
    http = httpx.Client(transport=EurekaTransport(started(server), httpx.MockTransport(upstream)))
    for _ in range(3):
        response = http.post("http://order-service/orders", content=b"payload")
        assert response.status_code == 200 and dead not in response.text
    assert all(r.content == b"payload" for r in upstream.seen)


def test_unknown_hosts_pass_through_and_known_apps_without_up_instances_fail() -> None:
    server = registry_of(InstanceStatus.DOWN)
    upstream = Upstream()
    http = httpx.Client(transport=EurekaTransport(started(server), httpx.MockTransport(upstream)))
    assert http.get("http://example.org/a").text == "example.org:None/a"
    with pytest.raises(httpx.ConnectError, match="no UP instance"):
        http.get("http://order-service/a")


def test_a_service_name_the_registry_does_not_list_says_so_instead_of_a_dns_error() -> None:
    server = registry_of(InstanceStatus.UP)
    # What the network does with an unknown one-label name, and with an unreachable host.
    upstream = Upstream(refuse={"payment-service", "db.internal"})
    http = httpx.Client(transport=EurekaTransport(started(server), httpx.MockTransport(upstream)))
    with pytest.raises(NotRegistered, match="payment-service is not registered in Eureka yet"):
        http.get("http://payment-service/pay")
    # An ordinary host keeps its own error; NotRegistered is still a ConnectError for callers.
    with pytest.raises(httpx.ConnectError) as ordinary:
        http.get("http://db.internal/x")
    assert not isinstance(ordinary.value, NotRegistered)
    assert issubclass(NotRegistered, httpx.ConnectError)


async def test_the_async_transport_says_not_registered_too() -> None:
    fake = AsyncFake(registry_of(InstanceStatus.UP))
    client = AsyncDiscoveryClient(
        EurekaConfig(ClientConfig(register_with_eureka=False)),
        transport=fake,
        clock=ManualClock(),
        rng=random.Random(0),
    )
    await client.start(background=False)
    upstream = Upstream(refuse={"payment-service"})

    async def handler(request: httpx.Request) -> httpx.Response:
        return upstream(request)

    transport = AsyncEurekaTransport(client, httpx.MockTransport(handler))
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(NotRegistered, match="not registered in Eureka yet"):
            await http.get("http://payment-service/pay")
    await client.stop()


def test_every_instance_refusing_raises_the_connect_error() -> None:
    server = registry_of(InstanceStatus.UP, InstanceStatus.UP)
    hosts = {make_instance("order-service", n).host_name or "" for n in (1, 2)}
    http = httpx.Client(
        transport=EurekaTransport(started(server), httpx.MockTransport(Upstream(refuse=hosts)))
    )
    with pytest.raises(httpx.ConnectError):
        http.get("http://order-service/a")


async def test_async_transport_resolves_and_retries() -> None:
    server = registry_of(InstanceStatus.UP, InstanceStatus.UP)
    client = AsyncDiscoveryClient(
        EurekaConfig(ClientConfig(register_with_eureka=False)),
        transport=AsyncFake(server),
        clock=ManualClock(),
    )
    await client.start(background=False)
    dead = make_instance("order-service", 2).host_name or ""
    upstream = Upstream(refuse={dead})
    async with httpx.AsyncClient(
        transport=AsyncEurekaTransport(client, httpx.MockTransport(upstream))
    ) as http:
        for _ in range(3):
            response = await http.get("http://order-service/z")
            assert response.status_code == 200 and dead not in response.text
    await client.stop()


def test_lifespan_registers_after_startup_and_deregisters_on_shutdown() -> None:
    server = registry_of(InstanceStatus.UP)
    registered = threading.Event()
    server.on_request = lambda request: registered.set() if request.method == "POST" else None
    me = make_instance("me", 77)
    client = AsyncDiscoveryClient(transport=AsyncFake(server), instance=me)

    async def where(request: Request) -> JSONResponse:
        eureka = request.state.eureka
        return JSONResponse({"next": eureka.next_server("orders").id})

    app = Starlette(routes=[Route("/where", where)], lifespan=eureka_lifespan(client=client))
    with TestClient(app) as http:
        assert server.paths()[0] == "GET apps/"  # fetched before serving
        assert registered.wait(5)
        assert http.get("/where").json() == {"next": make_instance("order-service", 1).id}
        assert app.state.eureka is client
    assert server.paths()[-1] == f"DELETE apps/ME/{me.id}"

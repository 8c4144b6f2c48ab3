"""Client scenarios against real `eureka server` processes over real HTTP (nothing mocked).

Deltas and reconciles, outages and back-off, several servers, the Starlette/FastAPI lifespan in a
real uvicorn server, the blocking client in a plain script, and the httpx transport reaching a real
HTTP service by its application name. Intervals are a fraction of a second so that each scenario
takes about a second; every wait polls a condition with a deadline, and every process started here
is stopped by its PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from eureka.client import (
    AsyncDiscoveryClient,
    DiscoveryClient,
    FetchKind,
    load_config,
)
from eureka.client.config import EurekaConfig
from eureka.client.integrations.httpx_transport import AsyncEurekaTransport, EurekaTransport
from eureka.client.integrations.starlette import eureka_lifespan
from eureka.client.state import FullFetchReason
from eureka.client.transport import HttpxAsyncTransport
from tests.integration.server_process import FAST_SETTINGS, ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("client-scenarios")]

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
JSON = {"Accept": "application/json"}
FETCH_INTERVAL = 0.2  # seconds; the client's refresh job (a float is allowed, Java takes an int)


# ---- helpers ------------------------------------------------------------------------------------


def config_for(
    urls: str | list[str], app: str, port: int, *, renew_every: int = 1, **client: object
) -> EurekaConfig:
    """A client of `urls` with fast jobs; it registers `app` at 127.0.0.1:`port` unless told not to.

    Heartbeats cannot go below 1 s: `lease-renewal-interval-in-seconds` is an integer on the wire.
    These scenarios are about the Java-compatible polling path (deltas, reconciles, the refresh
    job's back-off), which our server would otherwise replace by the watch: they turn it off.
    The watch's own scenarios are in test_client_watch.py.
    """
    service_url = urls if isinstance(urls, str) else ",".join(urls)
    return load_config(
        env={},
        client={
            "service_url": {"defaultZone": service_url},
            "registry_fetch_interval_seconds": FETCH_INTERVAL,
            "eureka_server_connect_timeout_seconds": 1,
            "eureka_server_read_timeout_seconds": 2,
            "watch_enabled": False,
            **client,
        },
        instance={
            "appname": app,
            "instance_id": f"{app}-{port}",
            "hostname": "127.0.0.1",
            "ip_address": "127.0.0.1",
            "non_secure_port": port,
            "lease_renewal_interval_in_seconds": renew_every,
        },
    )


def register_raw(server: ServerProcess, app: str, instance_id: str, port: int) -> None:
    """Register an instance the way any other Eureka client would, by a plain POST."""
    body = {
        "instance": {
            "instanceId": instance_id,
            "hostName": "127.0.0.1",
            "app": app.upper(),
            "ipAddr": "127.0.0.1",
            "status": "UP",
            "port": {"$": port, "@enabled": "true"},
            "securePort": {"$": 443, "@enabled": "false"},
            "vipAddress": app.lower(),
            "dataCenterInfo": {
                "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                "name": "MyOwn",
            },
            "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90},
        }
    }
    reply = httpx.post(f"{server.url}apps/{app.upper()}", json=body)
    assert reply.status_code == 204, reply.text


def on_server(server: ServerProcess, app: str, instance_id: str) -> int:
    return httpx.get(f"{server.url}apps/{app.upper()}/{instance_id}", headers=JSON).status_code


def ids(instances: list[Any]) -> set[str]:
    return {i.instance_id for i in instances}


async def eventually(predicate: Callable[[], T], timeout: float = 10.0) -> T:
    """`wait_for` for async tests: polls without blocking the event loop the client runs in."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value: {value!r})")
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def stopped_on_exit(*servers: ServerProcess) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers:
            server.stop()
            if server.log_path is not None:
                server.log_path.unlink(missing_ok=True)


# ---- 1. deltas ----------------------------------------------------------------------------------


async def test_new_instance_and_its_cancellation_arrive_by_delta(server: ServerProcess) -> None:
    async with AsyncDiscoveryClient(config_for(server.url, "watcher", 9100)) as client:
        # Until the client sees its own instance its registry is empty, and an empty registry is
        # always fetched in full (§10.2); from then on every refresh is a delta.
        await eventually(lambda: client.get_instances("watcher"))
        settled = client.stats()

        register_raw(server, "STOCK", "stock-1", 9101)
        await eventually(lambda: ids(client.get_instances("stock")) == {"stock-1"})
        added = client.stats()
        assert added.full_fetches == settled.full_fetches  # no extra full fetch
        assert added.delta_fetches > settled.delta_fetches
        assert added.reconcile_mismatches == 0
        assert added.reconcile_hash == "UP_2_"

        assert httpx.delete(f"{server.url}apps/STOCK/stock-1").status_code == 200
        await eventually(lambda: client.get_application("stock") is None)
        cancelled = client.stats()
        assert cancelled.full_fetches == settled.full_fetches
        assert cancelled.delta_fetches > added.delta_fetches
        assert cancelled.reconcile_mismatches == 0
        assert cancelled.reconcile_hash == "UP_1_"
        assert cancelled.fetch_failures == 0


async def test_changes_older_than_the_delta_window_are_repaired_by_a_full_fetch() -> None:
    settings = {
        **FAST_SETTINGS,
        "eureka.server.retention-time-in-m-s-in-delta-queue": "500",
        "eureka.server.delta-retention-timer-interval-in-ms": "200",
    }
    with ServerProcess(settings=settings) as server:
        register_raw(server, "STOCK", "stock-1", 9111)
        # A long interval: this test decides when the client fetches.
        config = config_for(
            server.url,
            "reader",
            9110,
            register_with_eureka=False,
            registry_fetch_interval_seconds=60,
        )
        async with AsyncDiscoveryClient(config) as client:
            assert client.stats().full_fetches == 1

            # Within the window, the change arrives by delta and the hashes agree.
            register_raw(server, "STOCK", "stock-2", 9112)
            within = await client.refresh()
            assert within.kind is FetchKind.DELTA and not within.reconciled
            assert ids(client.get_instances("stock")) == {"stock-1", "stock-2"}

            # Outside it: the server's delta no longer mentions stock-3, the client's hash
            # (UP_2_) disagrees with the server's (UP_3_), so it fetches everything.
            register_raw(server, "STOCK", "stock-3", 9113)
            # Not polled: a delta read now would be cached, and a cached delta outlives the
            # retention timer until the next change (as in Java), so wait out retention plus two
            # timer periods, with room to spare.
            await asyncio.sleep(0.5 + 2 * 0.2 + 0.6)
            assert not delta_mentions(server, "stock-3")
            late = await client.refresh()
            assert late.kind is FetchKind.FULL and late.reconciled
            assert late.full_reason == FullFetchReason.RECONCILE
            assert ids(client.get_instances("stock")) == {"stock-1", "stock-2", "stock-3"}
            stats = client.stats()
            assert stats.reconcile_mismatches == 1
            assert (stats.full_fetches, stats.delta_fetches) == (2, 2)
            assert stats.reconcile_hash == "UP_3_"


def delta_mentions(server: ServerProcess, instance_id: str) -> bool:
    # XML: a response-cache key of its own, so this look cannot hand the JSON client a payload.
    reply = httpx.get(f"{server.url}apps/delta", headers={"Accept": "application/xml"})
    assert reply.status_code == 200
    return f"<instanceId>{instance_id}</instanceId>" in reply.text


# ---- 2. outages ---------------------------------------------------------------------------------


async def test_stopped_server_keeps_the_last_registry_and_recovers_on_restart() -> None:
    port = free_port()
    server = ServerProcess(port=port).start()
    with stopped_on_exit(server):
        register_raw(server, "STOCK", "stock-1", 9121)
        async with AsyncDiscoveryClient(config_for(server.url, "watcher", 9120)) as client:
            await eventually(lambda: client.stats().delta_fetches >= 1)
            before = client.stats()
            assert before.registry_size == 2

            server.stop()
            # Connection refused: every fetch and heartbeat fails fast, and the client keeps
            # answering from the registry it last fetched.
            await eventually(lambda: client.stats().fetch_failures >= 3)
            await eventually(lambda: client.stats().heartbeat_failures >= 1, timeout=5)
            assert ids(client.get_instances("stock")) == {"stock-1"}
            assert client.next_server("watcher").instance_id == "watcher-9120"
            down = client.stats()
            assert down.full_fetches == before.full_fetches
            # Failures do not back off (§10.7: only jobs that outlive their interval do).
            assert down.refresh_delay_seconds == FETCH_INTERVAL

            # Back on the same port with an empty registry: the heartbeat's 404 re-registers,
            # and the delta, which cannot say that stock-1 is gone, fails the hash check.
            if server.log_path is not None:
                server.log_path.unlink(missing_ok=True)
            server.start()
            await eventually(
                lambda: (
                    client.get_application("stock") is None
                    and ids(client.get_instances("watcher")) == {"watcher-9120"}
                )
            )
            after = client.stats()
            assert after.reregistrations >= 1
            assert after.reconcile_mismatches >= 1
            assert after.full_fetches > before.full_fetches
            assert on_server(server, "WATCHER", "watcher-9120") == 200

            # Steady again: deltas only.
            settled = client.stats()
            await eventually(lambda: client.stats().delta_fetches >= settled.delta_fetches + 2)
            assert client.stats().full_fetches == settled.full_fetches
        assert on_server(server, "WATCHER", "watcher-9120") == 404


async def test_hung_server_backs_off_the_refresh_and_resets_when_it_answers(
    server: ServerProcess,
) -> None:
    register_raw(server, "STOCK", "stock-1", 9131)
    bound = 4
    config = config_for(
        server.url,
        "reader",
        9130,
        register_with_eureka=False,
        cache_refresh_executor_exponential_back_off_bound=bound,
        eureka_server_read_timeout_seconds=10,  # longer than any run: the supervisor cuts it
    )
    async with AsyncDiscoveryClient(config) as client:
        assert server.proc is not None
        pid = server.proc.pid
        os.kill(pid, signal.SIGSTOP)  # accepts connections (kernel backlog), never answers
        try:
            # Each run outlives its interval, is cancelled, and doubles the delay up to the bound.
            await eventually(lambda: client.stats().refresh_delay_seconds == FETCH_INTERVAL * bound)
            assert ids(client.get_instances("stock")) == {"stock-1"}
        finally:
            os.kill(pid, signal.SIGCONT)
        await eventually(lambda: client.stats().refresh_delay_seconds == FETCH_INTERVAL)
        successful = client.stats().last_successful_fetch_ms
        await eventually(lambda: client.stats().last_successful_fetch_ms != successful)


# ---- 3. several servers -------------------------------------------------------------------------


async def test_a_dead_server_first_in_the_list_is_skipped_and_the_live_one_kept(
    server: ServerProcess,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/eureka/"  # nothing listens there
    config = config_for([dead, server.url], "pair", 9140)
    transport = HttpxAsyncTransport([dead, server.url], config.client.transport_settings())
    try:
        async with AsyncDiscoveryClient(config, transport=transport) as client:
            # The start-up fetch tried the dead server, then the live one, within one call.
            assert str(transport.selector.pinned) == server.url
            stats = client.stats()
            assert (stats.fetch_failures, stats.registrations, stats.registration_failures) == (
                0,
                1,
                0,
            )
            assert on_server(server, "PAIR", "pair-9140") == 200
            register_raw(server, "STOCK", "stock-1", 9141)
            await eventually(lambda: client.get_instances("stock"))
            await eventually(lambda: client.stats().heartbeats >= 1, timeout=5)
            stats = client.stats()
            assert (stats.fetch_failures, stats.heartbeat_failures) == (0, 0)
            assert stats.delta_fetches >= 1
        assert on_server(server, "PAIR", "pair-9140") == 404
    finally:
        await transport.aclose()


async def test_three_dead_servers_ahead_of_the_live_one_cost_one_failed_call(
    server: ServerProcess,
) -> None:
    # Three attempts per call never reach the fourth server in the list, and with four servers a
    # quarantine of three is over the 0.66 threshold and is cleared: the servers that failed go
    # to the back of the next call's list instead of being tried first again.
    dead = [f"http://127.0.0.1:{free_port()}/eureka/" for _ in range(3)]
    config = config_for([*dead, server.url], "quad", 9145)
    transport = HttpxAsyncTransport([*dead, server.url], config.client.transport_settings())
    try:
        async with AsyncDiscoveryClient(config, transport=transport) as client:
            stats = client.stats()
            # The start-up fetch spent its attempts on the dead servers; the registration after
            # it went to the live one.
            assert (stats.fetch_failures, stats.full_fetches) == (1, 0)
            assert (stats.registrations, stats.registration_failures) == (1, 0)
            assert str(transport.selector.pinned) == server.url
            await eventually(lambda: client.get_instances("quad"))
            assert client.stats().fetch_failures == 1
    finally:
        await transport.aclose()


async def test_losing_the_pinned_server_fails_over_to_its_peer_without_a_failure() -> None:
    first_port, second_port = free_port(), free_port()
    first_url = f"http://127.0.0.1:{first_port}/eureka/"
    second_url = f"http://127.0.0.1:{second_port}/eureka/"
    # One start-up sync attempt: the first node starts alone and must not wait for its peer.
    settings = {**FAST_SETTINGS, "eureka.server.number-registry-sync-retries": "1"}
    first = ServerProcess(first_port, settings, peers=[second_url])
    second = ServerProcess(second_port, settings, peers=[first_url])
    with stopped_on_exit(first, second):
        first.start()
        second.start()
        config = config_for([first_url, second_url], "pair", 9150)
        transport = HttpxAsyncTransport([first_url, second_url], config.client.transport_settings())
        try:
            async with AsyncDiscoveryClient(config, transport=transport) as client:
                assert str(transport.selector.pinned) == first_url
                # The registration reaches the second node by peer replication.
                await asyncio.to_thread(
                    wait_for, lambda: on_server(second, "PAIR", "pair-9150") == 200, 10
                )
                await eventually(lambda: client.get_instances("pair"))
                first.stop()
                heartbeats = client.stats().heartbeats
                await eventually(lambda: client.stats().heartbeats >= heartbeats + 2, timeout=6)
                await eventually(lambda: str(transport.selector.pinned) == second_url)
                fetches = client.stats().delta_fetches
                await eventually(lambda: client.stats().delta_fetches >= fetches + 2)
                stats = client.stats()
                # Each call retried on the next server inside the transport: nothing failed.
                assert (stats.fetch_failures, stats.heartbeat_failures) == (0, 0)
                assert ids(client.get_instances("pair")) == {"pair-9150"}
            assert on_server(second, "PAIR", "pair-9150") == 404
        finally:
            await transport.aclose()


# ---- 4. FastAPI lifespan in a real uvicorn server -----------------------------------------------


async def test_fastapi_app_registers_after_startup_and_cancels_on_shutdown(
    server: ServerProcess,
) -> None:
    register_raw(server, "INVENTORY", "inventory-1", 9161)
    port = free_port()
    config = config_for(server.url, "web", port)
    http = httpx.AsyncClient(headers=JSON, timeout=5)
    during_startup: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def own_startup(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # An application's startup that awaits (a database, a cache ...): the client is usable
        # already, but the instance must not be registered before this is done.
        eureka = app.state.eureka
        during_startup["inventory"] = eureka.next_server("inventory").instance_id
        await asyncio.sleep(0.3)
        reply = await http.get(f"{server.url}apps/WEB/web-{port}")
        during_startup["registered"] = reply.status_code
        yield {"greeting": "hello"}

    app = FastAPI(lifespan=eureka_lifespan(config, inner=own_startup))

    @app.get("/inventory")
    async def inventory(request: Request) -> dict[str, str]:
        found = request.state.eureka.next_server("inventory")
        return {"next": found.instance_id, "greeting": request.state.greeting}

    web = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    serving = asyncio.create_task(web.serve())
    try:
        await eventually(lambda: web.started or serving.done())
        assert not serving.done()
        assert during_startup == {"inventory": "inventory-1", "registered": 404}
        registered = await poll_async(lambda: http.get(f"{server.url}apps/WEB/web-{port}"))
        instance = registered.json()["instance"]
        assert (instance["status"], instance["port"]["$"]) == ("UP", port)
        reply = await http.get(f"http://127.0.0.1:{port}/inventory")
        assert reply.json() == {"next": "inventory-1", "greeting": "hello"}
    finally:
        web.should_exit = True
        await asyncio.wait_for(serving, 10)
    try:
        gone = await http.get(f"{server.url}apps/WEB/web-{port}")
        assert gone.status_code == 404
    finally:
        await http.aclose()


async def poll_async(
    call: Callable[[], Any], status: int = 200, timeout: float = 10.0
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        reply: httpx.Response = await call()
        if reply.status_code == status or time.monotonic() > deadline:
            assert reply.status_code == status, reply.text
            return reply
        await asyncio.sleep(0.05)


# ---- 5. the blocking client in a plain script ---------------------------------------------------


class Script:
    """`sync_script.py` in its own process, configured through EUREKA_* environment variables."""

    def __init__(self, server: ServerProcess, app: str, port: int, wanted: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE": server.url,
            "EUREKA_CLIENT_REGISTRY_FETCH_INTERVAL_SECONDS": str(FETCH_INTERVAL),
            "EUREKA_INSTANCE_APPNAME": app,
            "EUREKA_INSTANCE_INSTANCE_ID": f"{app}-{port}",
            "EUREKA_INSTANCE_HOSTNAME": "127.0.0.1",
            "EUREKA_INSTANCE_IP_ADDRESS": "127.0.0.1",
            "EUREKA_INSTANCE_NON_SECURE_PORT": str(port),
            "EUREKA_INSTANCE_LEASE_RENEWAL_INTERVAL_IN_SECONDS": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("sync_script.py")), wanted],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )

    def line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        raw = self.proc.stdout.readline()
        if not raw:
            raise AssertionError(f"script ended: {self.stderr()}")
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    def wait(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("ending", ["stdin closed", "SIGTERM"])
def test_blocking_client_in_a_script_registers_fetches_and_cancels(
    server: ServerProcess, ending: str
) -> None:
    register_raw(server, "INVENTORY", "inventory-1", 9171)
    script = Script(server, "cron", 9170, wanted="inventory")
    try:
        started = script.line()
        assert started == {"event": "started", "instance_id": "cron-9170"}
        found = script.line()
        assert found["event"] == "found"
        assert (found["instance_id"], found["address"]) == ("inventory-1", "127.0.0.1:9171")
        assert found["registrations"] == 1 and found["full_fetches"] >= 1
        assert on_server(server, "CRON", "cron-9170") == 200

        if ending == "SIGTERM":
            script.proc.send_signal(signal.SIGTERM)
            # The handler cancels the registration, then re-raises: the default action ends us.
            assert script.wait() == -signal.SIGTERM
        else:
            assert script.proc.stdin is not None
            script.proc.stdin.close()
            assert script.line() == {"event": "exiting"}
            assert script.wait() == 0
        assert on_server(server, "CRON", "cron-9170") == 404
    finally:
        script.kill()


# ---- 6. the httpx transport reaching a real service by name -------------------------------------


@pytest.fixture
def order_service(tmp_path: Path) -> Iterator[int]:
    """A real HTTP service (`python -m http.server`) with one document; yields its port."""
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "42").write_text("order 42: 3 widgets\n")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: service_answers(port), 10)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def service_answers(port: int) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"http://127.0.0.1:{port}/orders/42").status_code == 200
    return False


def test_httpx_transport_calls_a_real_service_by_app_name(
    server: ServerProcess, order_service: int, caplog: pytest.LogCaptureFixture
) -> None:
    register_raw(server, "ORDER-SERVICE", "orders-live", order_service)
    # Fetches are this test's: each one rebuilds the round-robin cursor (§10.5).
    config = config_for(
        server.url, "shop", 9180, register_with_eureka=False, registry_fetch_interval_seconds=60
    )
    with (
        DiscoveryClient(config) as eureka,
        httpx.Client(transport=EurekaTransport(eureka), timeout=5) as http,
    ):
        reply = http.get("http://ORDER-SERVICE/orders/42")
        assert (reply.status_code, reply.text) == (200, "order 42: 3 widgets\n")
        assert reply.request.url.port == order_service

        # A second instance whose port nothing listens on: round robin sends every other
        # request there first, and each of those is retried on the live instance.
        dead_port = free_port()
        register_raw(server, "ORDER-SERVICE", "orders-dead", dead_port)
        assert eureka.refresh().ok
        assert len(eureka.get_instances("order-service")) == 2
        caplog.set_level(logging.WARNING, logger="eureka.client.httpx")
        for _ in range(4):
            reply = http.get("http://order-service/orders/42")
            assert (reply.status_code, reply.text) == (200, "order 42: 3 widgets\n")
            assert reply.request.url.port == order_service
        unreachable = [r for r in caplog.records if "orders-dead unreachable" in r.getMessage()]
        assert len(unreachable) == 2

        # Ordinary URLs still go out unchanged through the same client.
        plain = http.get(f"http://127.0.0.1:{order_service}/orders/42")
        assert plain.text == "order 42: 3 widgets\n"


async def test_async_httpx_transport_calls_a_real_service_by_app_name(
    server: ServerProcess, order_service: int
) -> None:
    register_raw(server, "ORDER-SERVICE", "orders-live", order_service)
    register_raw(server, "ORDER-SERVICE", "orders-dead", free_port())
    config = config_for(server.url, "shop", 9181, register_with_eureka=False)
    async with (
        AsyncDiscoveryClient(config) as eureka,
        httpx.AsyncClient(transport=AsyncEurekaTransport(eureka), timeout=5) as http,
    ):
        assert len(eureka.get_instances("order-service")) == 2
        for _ in range(4):
            reply = await http.get("http://ORDER-SERVICE/orders/42")
            assert (reply.status_code, reply.text) == (200, "order 42: 3 widgets\n")

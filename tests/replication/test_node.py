"""PeerNode against a real HTTP peer on 127.0.0.1 (protocol.md §8.2, §8.4, §8.5).

The peer is `peer_stub.PeerStub`, a real socket server answering with fixture bytes; the node uses
real httpx and the real dispatcher with the system clock (short pauses to keep the tests fast).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from eureka.clock import SystemClock
from eureka.replication.dispatcher import (
    AdoptPeerCopy,
    DispatcherConfig,
    FollowUp,
    ReRegister,
    TaskDispatcher,
)
from eureka.replication.node import PeerNode, peer_http_client
from eureka.replication.protocol import cancel_task, decode_batch, task_id
from tests.conftest import JAVA_FIXTURES, JAVA_HTTP

from .peer_stub import PeerStub, Reply, Request, unused_port

REQUEST_FIXTURE = (JAVA_FIXTURES / "peer-replication-batch-request.legacyjackson.json").read_bytes()
RESPONSE_FIXTURE = (
    JAVA_FIXTURES / "peer-replication-batch-response.legacyjackson.json"
).read_bytes()
ITEMS = decode_batch(REQUEST_FIXTURE)
ALL_OK = b'{"responseList":[' + b",".join([b'{"statusCode":200}'] * len(ITEMS)) + b"]}"


def dispatcher() -> TaskDispatcher:
    # One batch holds the whole fixture; pauses shortened so retries happen within the test.
    config = DispatcherConfig(
        batch_size=len(ITEMS),
        max_batching_delay_ms=5,
        congestion_pause_ms=50,
        transient_pause_ms=20,
    )
    return TaskDispatcher(config, SystemClock())


def submit_fixture_items(node: PeerNode) -> None:
    for item in ITEMS:
        node.dispatcher.submit(task_id(item.action, item.app_name, item.id), item, 30_000)
    node.wake()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with peer_http_client(connect_timeout_ms=500, read_timeout_ms=300) as client:
        yield client


def replying(*replies: Reply) -> Callable[[Request, int], Reply]:
    """Answer the n-th request with replies[n]; the last reply repeats."""
    return lambda _request, index: replies[min(index, len(replies) - 1)]


async def test_ships_the_fixture_batch_and_acts_on_per_item_results(
    http: httpx.AsyncClient,
) -> None:
    follow_ups: list[FollowUp] = []
    async with PeerStub(replying(Reply(200, RESPONSE_FIXTURE))) as peer:
        node = PeerNode(peer.url.rstrip("/"), dispatcher(), http, follow_ups.append)
        node.start()
        submit_fixture_items(node)
        (request,) = await peer.wait_for_requests(1)
        await until(lambda: node.stats().batches_succeeded == 1)
        await node.close()

    assert (request.method, request.path) == ("POST", "/eureka/peerreplication/batch/")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["discoveryidentity-name"] == "DefaultServer"
    assert request.headers["discoveryidentity-version"] == "1.0"
    assert "x-netflix-discovery-replication" not in request.headers
    # Same keys, order and typing as the Java encoder's request for the same items.
    assert list(json.loads(request.body).items()) == list(json.loads(REQUEST_FIXTURE).items())

    # Item 3 (heartbeat of inventory-2) got 409 + the peer's copy, item 4 (inventory-9) got 404.
    assert len(follow_ups) == 2
    adopt, reregister = follow_ups
    assert reregister == ReRegister("INVENTORY-SERVICE", "inventory-9.example.internal")
    assert isinstance(adopt, AdoptPeerCopy)
    assert (adopt.app_name, adopt.id) == ("INVENTORY-SERVICE", "inventory-2.example.internal")
    assert adopt.instance.last_dirty_timestamp == 1754499150000
    stats = node.stats()
    assert (stats.items_succeeded, stats.items_failed, stats.pending) == (6, 2, 0)


async def test_async_follow_up_handlers_are_awaited(http: httpx.AsyncClient) -> None:
    seen: list[FollowUp] = []

    async def handler(follow_up: FollowUp) -> None:
        await asyncio.sleep(0)
        seen.append(follow_up)

    async with PeerStub(replying(Reply(200, RESPONSE_FIXTURE))) as peer:
        node = PeerNode(peer.url, dispatcher(), http, handler)
        node.start()
        submit_fixture_items(node)
        await until(lambda: len(seen) == 2)
        await node.close()
    assert [type(f) for f in seen] == [AdoptPeerCopy, ReRegister]


async def test_503_is_congestion_the_batch_is_resent_after_the_pause(
    http: httpx.AsyncClient,
) -> None:
    async with PeerStub(replying(Reply(503), Reply(200, ALL_OK))) as peer:
        node = PeerNode(peer.url, dispatcher(), http, lambda _f: None)
        node.start()
        submit_fixture_items(node)
        first, second = await peer.wait_for_requests(2)
        await until(lambda: node.stats().batches_succeeded == 1)
        await node.close()
    assert first.body == second.body
    stats = node.stats()
    assert (stats.batches_congested, stats.requeued, stats.items_succeeded) == (1, 8, 8)


async def test_read_timeout_is_congestion(http: httpx.AsyncClient) -> None:
    async with PeerStub(replying(Reply(200, ALL_OK, delay=2.0), Reply(200, ALL_OK))) as peer:
        node = PeerNode(peer.url, dispatcher(), http, lambda _f: None)
        node.start()
        submit_fixture_items(node)
        await until(lambda: node.stats().batches_succeeded == 1)
        await node.close()
    stats = node.stats()
    assert stats.batches_congested == 1
    assert node.last_error == "ReadTimeout"


async def test_connection_refused_is_transient_and_keeps_the_tasks(
    http: httpx.AsyncClient,
) -> None:
    node = PeerNode(
        f"http://127.0.0.1:{unused_port()}/eureka/", dispatcher(), http, lambda _f: None
    )
    node.start()
    submit_fixture_items(node)
    await until(lambda: node.stats().batches_transient >= 2)
    await node.close()
    stats = node.stats()
    assert stats.batches_permanent == 0
    assert stats.dropped_permanent == 0
    # Between attempts the batch waits at the front of the queue (or is in flight at close).
    assert stats.pending + stats.in_flight * len(ITEMS) == len(ITEMS)


@pytest.mark.parametrize(
    "reply", [Reply(500), Reply(400, b"bad"), Reply(200, b"<html>not json</html>")]
)
async def test_other_answers_are_permanent_and_drop_the_batch(
    http: httpx.AsyncClient, reply: Reply
) -> None:
    async with PeerStub(replying(reply)) as peer:
        node = PeerNode(peer.url, dispatcher(), http, lambda _f: None)
        node.start()
        submit_fixture_items(node)
        await until(lambda: node.stats().batches_permanent == 1)
        await asyncio.sleep(0.05)  # would a retry happen? (it must not)
        await node.close()
    assert len(peer.requests) == 1
    assert node.stats().dropped_permanent == len(ITEMS)


async def test_closed_node_sends_nothing(http: httpx.AsyncClient) -> None:
    async with PeerStub(replying(Reply(200, ALL_OK))) as peer:
        node = PeerNode(peer.url, dispatcher(), http, lambda _f: None)
        node.start()
        await node.close()
        node.submit(cancel_task("APP", "i-1"))  # ignored: the node is closed
        submit_fixture_items(node)
        await asyncio.sleep(0.05)
    assert peer.requests == []
    assert len(node.dispatcher) == len(ITEMS)


def test_java_http_exchange_49_request_decodes() -> None:
    # The body sent to the real Java server in exchange 49 is the fixture batch.
    body = (JAVA_HTTP / "49-peerreplication-batch.req.json").read_bytes()
    assert decode_batch(body) == ITEMS


async def test_a_dead_peer_is_logged_once_then_its_recovery_once(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="eureka.replication")
    port = unused_port()
    node = PeerNode(f"http://127.0.0.1:{port}/eureka/", dispatcher(), http, lambda _f: None)
    node.start()
    submit_fixture_items(node)
    # Retried every 20 ms: many failed batches, one line.
    await until(lambda: node.stats().batches_transient >= 10)
    lines = [r for r in caplog.records if r.name == "eureka.replication"]
    assert [r.getMessage() for r in lines] == ["peer unreachable"]
    assert lines[0].levelname == "WARNING"
    assert lines[0].fields["peer"] == node.url  # type: ignore[attr-defined]
    async with PeerStub(replying(Reply(200, ALL_OK)), port=port):
        await until(lambda: node.stats().batches_succeeded >= 1)
    await node.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "eureka.replication"]
    assert messages == ["peer unreachable", "peer recovered"]
    recovered = next(r for r in caplog.records if r.getMessage() == "peer recovered")
    assert recovered.fields["failed_batches"] >= 10  # type: ignore[attr-defined]

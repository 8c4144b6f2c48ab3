"""The sender's hot path wakes its driver only when a batch may become due earlier (§8.4).

`TaskDispatcher.submit` tells whether the submission moved the next batch forward; `PeerNode`
re-evaluates only then. These tests pin both halves: the signal itself, and that batches still
leave on time — after the batching delay for a lone task, at once when a batch fills up.
"""

from __future__ import annotations

import asyncio
import time

from eureka.clock import ManualClock, SystemClock
from eureka.model import InstanceInfo, LeaseInfo
from eureka.replication.dispatcher import DispatcherConfig, Success, TaskDispatcher
from eureka.replication.node import PeerNode, peer_http_client
from eureka.replication.protocol import ReplicationItemResult, ReplicationTask, heartbeat_task

from .peer_stub import PeerStub, Reply


def task(n: int) -> ReplicationTask:
    info = InstanceInfo(
        app="APP",
        instance_id=f"i-{n}",
        host_name="h",
        last_dirty_timestamp=1,
        lease_info=LeaseInfo(),
    )
    return heartbeat_task(info)


def all_ok(n: int) -> bytes:
    return b'{"responseList":[' + b",".join([b'{"statusCode":200}'] * n) + b"]}"


def offer(dispatcher: TaskDispatcher, n: int) -> bool:
    t = task(n)
    return dispatcher.submit(t.task_id, t.item, t.expiry_ms)


def ship_all(dispatcher: TaskDispatcher, clock: ManualClock) -> None:
    while len(dispatcher):
        batch = dispatcher.next_batch()
        if batch is None:
            clock.advance(1.0)
            continue
        dispatcher.on_batch_result(batch, Success([ReplicationItemResult(200)] * len(batch)))


def test_submit_signals_only_an_empty_queue_or_a_full_batch() -> None:
    clock = ManualClock()
    dispatcher = TaskDispatcher(DispatcherConfig(batch_size=3), clock)
    assert offer(dispatcher, 1) is True  # was empty: the driver must set a timer
    assert offer(dispatcher, 2) is False  # the oldest task's timer still stands
    assert offer(dispatcher, 1) is False  # replaced in place, same queue position
    assert offer(dispatcher, 3) is True  # a full batch is due now
    assert offer(dispatcher, 4) is False  # one was due already
    ship_all(dispatcher, clock)
    assert offer(dispatcher, 5) is True  # empty again


async def test_a_lone_task_waits_for_the_delay_and_a_filled_batch_leaves_at_once() -> None:
    transport = peer_http_client(connect_timeout_ms=500, read_timeout_ms=1000)
    async with PeerStub(lambda _request, index: Reply(200, all_ok(3 if index == 0 else 1))) as peer:
        config = DispatcherConfig(batch_size=3, max_batching_delay_ms=2000)
        node = PeerNode(peer.url, TaskDispatcher(config, SystemClock()), transport, lambda _f: None)
        node.start()
        started = time.monotonic()
        node.submit(task(1))
        await asyncio.sleep(0.1)
        assert peer.requests == []  # waiting for the batching delay
        # Filling the batch must wake the driver although its timer is 1.9 s away.
        node.submit(task(2))
        node.submit(task(3))
        await peer.wait_for_requests(1, timeout=1.5)
        assert time.monotonic() - started < 1.0
        # A lone task submitted after that still leaves once its delay is over.
        node.submit(task(4))
        await asyncio.sleep(0.3)
        assert len(peer.requests) == 1
        await peer.wait_for_requests(2, timeout=5.0)
        async with asyncio.timeout(5.0):
            while node.stats().items_succeeded < 4:
                await asyncio.sleep(0.005)
        await node.close()
    await transport.aclose()

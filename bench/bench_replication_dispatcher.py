"""Peer-replication throughput: 100k heartbeat tasks through the batching dispatcher.

What one node renewing 100k leases every 30 s asks of each peer's dispatcher is ≈3.3k tasks/s;
these rows show how far below that budget the pure machinery sits. The reference is the floor for
any FIFO: appending the same 100k items to a `collections.deque` and popping them in batches of
250. Wire rows show the cost of encoding/decoding those batches. Run with
`python -m bench replication_dispatcher`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from bench.table import best_of, ms, print_table
from eureka.clock import ManualClock
from eureka.model import InstanceInfo, LeaseInfo
from eureka.replication.dispatcher import DispatcherConfig, Success, TaskDispatcher
from eureka.replication.protocol import (
    ReplicationItemResult,
    ReplicationTask,
    decode_batch,
    encode_batch,
    heartbeat_task,
)

TASKS = 100_000
BATCH = 250


def make_infos(count: int) -> list[InstanceInfo]:
    return [
        InstanceInfo(
            app=f"SERVICE-{n % 50:02d}",
            instance_id=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}:service:8080",
            host_name=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}",
            last_dirty_timestamp=1_754_500_000_000 + n,
            lease_info=LeaseInfo(),
        )
        for n in range(count)
    ]


def reference_deque(tasks: list[ReplicationTask]) -> int:
    queue: deque[ReplicationTask] = deque()
    for task in tasks:
        queue.append(task)
    sent = 0
    while queue:
        batch = [queue.popleft() for _ in range(min(BATCH, len(queue)))]
        sent += len(batch)
    return sent


_OK = [ReplicationItemResult(200)] * BATCH


def drain(dispatcher: TaskDispatcher) -> int:
    sent = 0
    while (batch := dispatcher.next_batch()) is not None:
        dispatcher.on_batch_result(batch, Success(_OK[: len(batch)]))
        sent += len(batch)
    return sent


def dispatcher_bulk(tasks: list[ReplicationTask]) -> int:
    """Submit everything, then drain: the queue holds all 100k at once."""
    clock = ManualClock()
    dispatcher = TaskDispatcher(DispatcherConfig(max_pending=TASKS), clock)
    for task_id, item, expiry_ms in tasks:
        dispatcher.submit(task_id, item, expiry_ms)
    return drain(dispatcher)


def dispatcher_streaming(tasks: list[ReplicationTask]) -> int:
    """Default config; drain after every 1,000 submissions, as the event loop would."""
    clock = ManualClock()
    dispatcher = TaskDispatcher(DispatcherConfig(), clock)
    sent = 0
    for start in range(0, len(tasks), 1000):
        for task_id, item, expiry_ms in tasks[start : start + 1000]:
            dispatcher.submit(task_id, item, expiry_ms)
        clock.advance_ms(dispatcher.config.max_batching_delay_ms)
        sent += drain(dispatcher)
    return sent


def build_tasks(infos: list[InstanceInfo]) -> list[ReplicationTask]:
    return [heartbeat_task(info) for info in infos]


def run() -> None:
    infos = make_infos(TASKS)
    tasks = build_tasks(infos)
    # 10k instances heartbeating ten times while the peer is slow: 90 % of submissions override.
    repeated = [tasks[n % 10_000] for n in range(TASKS)]
    batches = [[t.item for t in tasks[i : i + BATCH]] for i in range(0, TASKS, BATCH)]
    bodies = [encode_batch(items) for items in batches]

    def encode_all() -> None:
        for items in batches:
            encode_batch(items)

    def decode_all() -> None:
        for body in bodies:
            decode_batch(body)

    cases: list[tuple[str, Callable[[], object]]] = [
        ("reference: deque append + popleft×250", lambda: reference_deque(tasks)),
        ("heartbeat_task() for each instance", lambda: build_tasks(infos)),
        ("dispatcher: submit all, then drain", lambda: dispatcher_bulk(tasks)),
        ("dispatcher: streaming (default config)", lambda: dispatcher_streaming(tasks)),
        ("dispatcher: streaming, 90 % overridden", lambda: dispatcher_streaming(repeated)),
        ("encode_batch: 400 × 250 heartbeats", encode_all),
        ("decode_batch: 400 × 250 heartbeats", decode_all),
    ]
    rows = []
    reference = None
    for name, fn in cases:
        seconds = best_of(fn, repeat=5)
        if reference is None:
            reference = seconds
        rows.append([name, ms(seconds), f"{TASKS / seconds:,.0f}", f"{seconds / reference:.1f}×"])
    print(f"{TASKS:,} heartbeat tasks, batches of {BATCH}\n")
    print_table(["case", "time", "tasks/s", "vs reference"], rows)


if __name__ == "__main__":
    run()

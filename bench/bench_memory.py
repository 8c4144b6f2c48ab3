"""Bytes per registered instance (issue 11 §4: goal ≤ 1.5 KB at 100k and 1M instances).

A real server process (pinned, as the serving benchmarks): RSS empty, after N registrations
through the replication batch endpoint, and serving — the full registry (JSON, gzip) and the
delta fetched, the registrations aged out of the delta window (short configured retention). Per
instance is (RSS − RSS empty) / N. Then, in-process with tracemalloc at 100k, where it goes.
"""

from __future__ import annotations

import gc
import os
import time
import tracemalloc

import httpx

from bench.serving import DIRTY_BASE, instance, load_average, populate, rss_kb, start_server
from bench.table import print_table
from eureka.clock import ManualClock
from eureka.registry import CacheKey, EntityType, Registry, RegistryConfig, ResponseCache
from eureka.replication.protocol import (
    Action,
    ReplicationInstance,
    apply_batch,
    decode_batch,
    encode_batch,
)

PER_APP = 100
RETENTION_MS = 5_000


def _server_rows(count: int) -> list[str]:
    server = start_server(
        {
            "eureka.server.enable-self-preservation": "false",
            "eureka.server.retention-time-in-m-s-in-delta-queue": str(RETENTION_MS),
            "eureka.server.delta-retention-timer-interval-in-ms": "1000",
        }
    )
    try:
        assert server.proc is not None
        pid = server.proc.pid
        empty = rss_kb(pid)
        populate(server.base, 0, count, max(1, count // PER_APP))
        registered = rss_kb(pid)
        done = time.monotonic()
        gz = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        with httpx.Client(timeout=600) as client:
            with client.stream("GET", f"{server.base}/eureka/apps", headers=gz) as response:
                full = sum(len(chunk) for chunk in response.iter_raw())
            time.sleep(max(0.0, done + RETENTION_MS / 1000 + 2 - time.monotonic()))
            client.get(f"{server.base}/eureka/apps/delta", headers=gz)
            client.get(f"{server.base}/eureka/apps", headers=gz)
        serving = rss_kb(pid)
    finally:
        server.stop()
    per = lambda kb: f"{(kb - empty) * 1024 / count:,.0f} B"  # noqa: E731
    return [
        f"{count:,}",
        f"{empty / 1024:.0f} MiB",
        per(registered),
        per(serving),
        f"{serving / 1024:,.0f} MiB",
        f"{full / count:.0f} B",
    ]


def _tracemalloc_rows(count: int) -> list[list[str]]:
    apps = max(1, count // PER_APP)
    bodies = []
    for first in range(0, count, 500):
        items = [
            ReplicationInstance(
                app_name=f"APP-{i % apps}",
                id=f"inst-{i}",
                action=Action.REGISTER,
                last_dirty_timestamp=DIRTY_BASE + i,
                overridden_status=None,
                status="UP",
                instance_info=instance(i, apps),
            )
            for i in range(first, min(first + 500, count))
        ]
        bodies.append(encode_batch(items))
    gc.collect()
    tracemalloc.start()
    try:
        clock = ManualClock(DIRTY_BASE)
        registry = Registry(RegistryConfig(), clock)
        for body in bodies:
            clock.advance(0.001)
            apply_batch(registry, decode_batch(body, max_bytes=1 << 30))
        bodies.clear()
        gc.collect()
        with_log = tracemalloc.get_traced_memory()[0]
        clock.advance(200)
        registry.prune_delta_queue()
        gc.collect()
        registered = tracemalloc.get_traced_memory()[0]
        cache = ResponseCache(registry, registry.config, clock)
        full = cache.get(CacheKey(EntityType.ALL_APPS))
        assert full is not None and full.gzip
        gc.collect()
        cached = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return [
        [f"registry, change log still holding the {count:,} registrations", with_log / count],
        ["registry (change log pruned)", registered / count],
        ["+ full JSON payload cached (blocks and gzip)", (cached - registered) / count],
    ]  # type: ignore[list-item]


def run() -> None:
    print(f"(load average before: {load_average()})")
    sizes = [int(n) for n in os.environ.get("BENCH_MEMORY_SIZES", "100000,1000000").split(",")]
    rows = [_server_rows(n) for n in sizes]
    print_table(
        [
            "instances",
            "RSS empty",
            "per instance, registered",
            "per instance, serving",
            "RSS serving",
            "full gzip per instance",
        ],
        rows,
    )
    print()
    print_table(
        ["tracemalloc at 100k (Python objects only)", "bytes per instance"],
        [[label, f"{value:,.0f}"] for label, value in _tracemalloc_rows(100_000)],
    )
    print(f"(load average after: {load_average()})")

"""Registry core and response cache at 10k / 100k instances: `python -m bench registry_core`.

Reference rows are what Java (and a naive port) does on every cache miss: copy and decorate the
whole registry, encode it in full, gzip it in full. Ratios are "reference time / our time" measured
in the same run, so > 1 means we are faster.
"""

from __future__ import annotations

import gc
import gzip
import time
import tracemalloc
from collections.abc import Callable

from bench.table import best_of, ms, print_table
from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.model import DataCenterInfo, InstanceInfo, InstanceStatus, LeaseInfo
from eureka.registry import CacheKey, EntityType, Registry, RegistryConfig, ResponseCache

START_MS = 1_754_500_000_000
PER_APP = 50
FULL = CacheKey(EntityType.ALL_APPS)
DELTA = CacheKey(EntityType.ALL_APPS_DELTA)


def _instances(count: int) -> list[InstanceInfo]:
    """Spring Cloud style registrations, `PER_APP` instances per application."""
    result = []
    for n in range(count):
        app = f"SERVICE-{n // PER_APP:04d}"
        host = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        iid = f"{host}:{app.lower()}:8080"
        result.append(
            InstanceInfo(
                app=app,
                instance_id=iid,
                host_name=host,
                ip_addr=host,
                status=InstanceStatus.UP,
                port=8080,
                secure_port=443,
                data_center_info=DataCenterInfo(
                    "MyOwn", "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"
                ),
                lease_info=LeaseInfo(30, 90),
                metadata={"management.port": "8080", "zone": f"zone-{n % 3}"},
                home_page_url=f"http://{host}:8080/",
                status_page_url=f"http://{host}:8080/actuator/info",
                health_check_url=f"http://{host}:8080/actuator/health",
                vip_address=app.lower(),
                secure_vip_address=app.lower(),
                last_updated_timestamp=START_MS - 1000,
                last_dirty_timestamp=START_MS - 1000 + n,
            )
        )
    return result


def _filled(count: int) -> tuple[Registry, ManualClock]:
    clock = ManualClock(START_MS)
    registry = Registry(RegistryConfig(), clock)
    for info in _instances(count):
        registry.register(info)
    return registry, clock


def _register_time(count: int) -> float:
    """Median seconds to register `count` fresh instances into an empty registry."""
    rounds = []
    for _ in range(3):
        batch = _instances(count)
        clock = ManualClock(START_MS)
        registry = Registry(RegistryConfig(), clock)
        gc.collect()
        started = time.perf_counter()
        for info in batch:
            registry.register(info)
        rounds.append(time.perf_counter() - started)
    return sorted(rounds)[1]


def _bytes_per_instance(build: Callable[[], object], count: int) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        keep = build()
        gc.collect()
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del keep
    return used / count


def _registry_only(count: int) -> Callable[[], object]:
    return lambda: _filled(count)


def _registry_and_cache(count: int) -> Callable[[], object]:
    def build() -> object:
        registry, clock = _filled(count)
        cache = ResponseCache(registry, registry.config, clock)
        payload = cache.get(FULL)
        assert payload is not None
        return registry, cache, payload.gzip

    return build


def _rebuild_rows(count: int) -> list[list[str]]:
    registry, clock = _filled(count)
    cache = ResponseCache(registry, registry.config, clock)
    first = cache.get(FULL)
    assert first is not None and first.gzip
    ids = [(i.app, i.id) for i in registry.local_instances()]
    step = [0]

    def one_change_then_get() -> None:
        app, iid = ids[step[0] * 7919 % len(ids)]
        status = InstanceStatus.OUT_OF_SERVICE if step[0] % 2 == 0 else InstanceStatus.UP
        step[0] += 1
        registry.status_update(app, iid, status, None)
        payload = cache.get(FULL)
        assert payload is not None and payload.gzip

    def one_change_then_body() -> None:
        app, iid = ids[step[0] * 7919 % len(ids)]
        status = InstanceStatus.OUT_OF_SERVICE if step[0] % 2 == 0 else InstanceStatus.UP
        step[0] += 1
        registry.status_update(app, iid, status, None)
        assert cache.get(FULL) is not None

    def hundred_changes_then_get() -> None:
        for _ in range(100):
            app, iid = ids[step[0] * 7919 % len(ids)]
            step[0] += 1
            registry.status_update(app, iid, InstanceStatus.DOWN, None)
        payload = cache.get(FULL)
        assert payload is not None and payload.gzip

    def naive(level: int) -> Callable[[], None]:
        def run() -> None:
            body = json_codec.encode_applications(registry.full_view())
            gzip.compress(body, compresslevel=level, mtime=0)

        return run

    repeat = 7 if count <= 10_000 else 3
    ours = best_of(one_change_then_get, repeat=repeat, number=5)
    ours_body_only = best_of(one_change_then_body, repeat=repeat, number=5)
    burst = best_of(hundred_changes_then_get, repeat=repeat)
    reference6 = best_of(naive(6), repeat=3)
    reference1 = best_of(naive(1), repeat=3)
    size = len(first.body)
    ratio = len(first.gzip) / len(gzip.compress(first.body, 6, mtime=0))
    label = f"{count // 1000}k"
    return [
        [f"full JSON+gzip after 1 change, {label}", ms(ours), f"{reference6 / ours:.1f}×"],
        [
            f"  body only (no gzip), {label}",
            ms(ours_body_only),
            f"{reference6 / ours_body_only:.1f}×",
        ],
        [f"full JSON+gzip after 100 changes, {label}", ms(burst), f"{reference6 / burst:.1f}×"],
        [f"reference: full_view + encode + gzip -6, {label}", ms(reference6), "1.0×"],
        [
            f"reference: full_view + encode + gzip -1, {label}",
            ms(reference1),
            f"{reference6 / reference1:.1f}×",
        ],
        [
            f"  (payload {size / 1e6:.1f} MB; chunked gzip size / gzip -6 size = {ratio:.3f})",
            "",
            "",
        ],
    ]


def _delta_rows(count: int, window: int) -> list[list[str]]:
    registry, clock = _filled(count)
    registry.prune_delta_queue()
    clock.advance(200)
    registry.prune_delta_queue()
    ids = [(i.app, i.id) for i in registry.local_instances()]
    for n in range(window):
        registry.status_update(*ids[n * 13 % len(ids)], InstanceStatus.OUT_OF_SERVICE, None)
    cache = ResponseCache(registry, registry.config, clock)
    cache.get(FULL)
    step = [0]

    def change_then_delta() -> None:
        app, iid = ids[step[0] * 7 % len(ids)]
        step[0] += 1
        registry.status_update(
            app, iid, InstanceStatus.DOWN if step[0] % 2 else InstanceStatus.UP, None
        )
        payload = cache.get(DELTA)
        assert payload is not None and payload.gzip

    def reference() -> None:
        body = json_codec.encode_applications(registry.delta_view())
        gzip.compress(body, compresslevel=6, mtime=0)

    ours = best_of(change_then_delta, repeat=7, number=5)
    ref = best_of(reference, repeat=5)
    copies = best_of(registry.delta_view, repeat=5)
    label = f"{count // 1000}k, {window} entries"
    return [
        [f"delta JSON+gzip after 1 change, {label}", ms(ours), f"{ref / ours:.1f}×"],
        [f"reference: delta_view + encode + gzip -6, {label}", ms(ref), "1.0×"],
        [f"  delta_view() alone (decorated copies), {label}", ms(copies), ""],
    ]


def run() -> None:
    rows: list[list[str]] = []
    for count in (10_000, 100_000):
        seconds = _register_time(count)
        rows.append(
            [
                f"register {count // 1000}k instances",
                ms(seconds),
                f"{seconds / count * 1e6:.2f} µs/op",
            ]
        )
    rows += _rebuild_rows(10_000)
    rows += _rebuild_rows(100_000)
    rows += _delta_rows(10_000, 500)
    print_table(["operation", "time", "ratio / per op"], rows)
    print()
    memory_rows = []
    for count in (10_000, 100_000):
        memory_rows.append(
            [
                f"{count // 1000}k",
                f"{_bytes_per_instance(lambda count=count: _instances(count), count):,.0f} B",
                f"{_bytes_per_instance(_registry_only(count), count):,.0f} B",
                f"{_bytes_per_instance(_registry_and_cache(count), count):,.0f} B",
            ]
        )
    print_table(
        [
            "instances",
            "InstanceInfo objects alone",
            "registry (incl. InstanceInfo)",
            "+ cached full JSON payload and gzip",
        ],
        memory_rows,
    )

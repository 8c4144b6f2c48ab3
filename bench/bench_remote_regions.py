"""Remote regions merged into payloads: `python -m bench remote_regions`.

10k local instances plus a 10k-instance remote region (a fifth of its applications also exist
locally). Reference rows are what Java does on every cache miss: build the merged Applications
(decorated copies), encode it whole, gzip it whole. Ratios are "reference / ours" in the same
run, so > 1 means faster; the local-only row is the same registry without the region.
"""

from __future__ import annotations

import gzip

from bench.bench_registry_core import START_MS, _instances
from bench.table import best_of, ms, print_table
from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.model import ActionType, Applications, InstanceInfo, InstanceStatus
from eureka.reconcile import reconcile_hash
from eureka.registry import CacheKey, EntityType, Registry, RegistryConfig, ResponseCache
from eureka.registry.remote_regions import RemoteRegions, RemoteRegionsConfig

REGION = "us-west-2"
FULL = CacheKey(EntityType.ALL_APPS)
REGIONS_DELTA = CacheKey(EntityType.ALL_APPS_DELTA, regions=(REGION,))


def _remote_instances(count: int) -> list[InstanceInfo]:
    """The region's registry as decoded from its server: other hosts, every fifth application
    named like a local one."""
    result = []
    for n, info in enumerate(_instances(count)):
        app_number = n // 50
        info.app = info.app if app_number % 5 == 0 else f"WEST-{app_number:04d}"
        info.instance_id = f"west-{n}"
        info.action_type = ActionType.ADDED
        result.append(info)
    return result


def _setup(
    count: int, *, with_region: bool = True
) -> tuple[Registry, RemoteRegions, ResponseCache, ManualClock]:
    clock = ManualClock(START_MS)
    registry = Registry(RegistryConfig(), clock)
    for info in _instances(count):
        registry.register(info)
    regions = RemoteRegions(
        RemoteRegionsConfig(regions=((REGION, "http://west/eureka/"),)), clock, registry
    )
    cache = ResponseCache(
        registry, registry.config, clock, remote_regions=regions if with_region else None
    )
    if with_region:
        full = Applications.of(_remote_instances(count), version=1)
        full.apps_hashcode = reconcile_hash(full.iter_instances())
        regions.apply_full(REGION, full)
    return registry, regions, cache, clock


def run() -> None:
    count = 10_000
    registry, regions, cache, _ = _setup(count)
    local_registry, _, local_cache, _ = _setup(count, with_region=False)
    ids = [(i.app, i.id) for i in registry.local_instances()]
    remote_ids = list(regions.region(REGION).applications.iter_instances())
    step = [0]

    def local_change(target: Registry) -> None:
        app, iid = ids[step[0] * 7919 % len(ids)]
        step[0] += 1
        status = InstanceStatus.OUT_OF_SERVICE if step[0] % 2 else InstanceStatus.UP
        target.status_update(app, iid, status, None)

    def merged_after_local_change() -> None:
        local_change(registry)
        payload = cache.get(FULL)
        assert payload is not None and payload.gzip

    def local_only_after_change() -> None:
        local_change(local_registry)
        payload = local_cache.get(FULL)
        assert payload is not None and payload.gzip

    def merged_after_remote_delta() -> None:
        info = remote_ids[step[0] * 7919 % len(remote_ids)]
        step[0] += 1
        changed = info.copy()
        changed.status = (
            InstanceStatus.DOWN if info.status is InstanceStatus.UP else InstanceStatus.UP
        )
        changed.action_type = ActionType.MODIFIED
        delta = Applications.of([changed], version=2)
        delta.apps_hashcode = "skip"  # the hash check is timed separately
        regions.apply_delta(REGION, delta)
        remote_ids[remote_ids.index(info)] = changed
        payload = cache.get(FULL)
        assert payload is not None and payload.gzip

    def regions_delta_after_local_change() -> None:
        local_change(registry)
        payload = cache.get(REGIONS_DELTA)
        assert payload is not None and payload.gzip

    def reference() -> None:
        body = json_codec.encode_applications(regions.full_view(registry, (REGION,)))
        gzip.compress(body, compresslevel=6, mtime=0)

    cache.get(FULL)
    local_cache.get(FULL)
    cache.get(REGIONS_DELTA)
    ours = best_of(merged_after_local_change, repeat=7, number=3)
    local = best_of(local_only_after_change, repeat=7, number=3)
    remote = best_of(merged_after_remote_delta, repeat=7, number=3)
    delta = best_of(regions_delta_after_local_change, repeat=7, number=3)
    ref = best_of(reference, repeat=3)
    merged_hash = best_of(lambda: regions.merged_hash(registry, (REGION,)), repeat=7, number=5)
    fresh = _remote_instances(count)

    def apply_full() -> None:
        full = Applications.of(fresh, version=1)
        regions.apply_full(REGION, full)

    full_apply = best_of(apply_full, repeat=5)
    size = len(cache.get(FULL).body)  # type: ignore[union-attr]
    rows = [
        ["merged full JSON+gzip after 1 local change", ms(ours), f"{ref / ours:.1f}×"],
        ["  same registry without the region", ms(local), f"{ref / local:.1f}×"],
        [
            "merged full JSON+gzip after a 1-instance remote delta",
            ms(remote),
            f"{ref / remote:.1f}×",
        ],
        ["`?regions=` delta JSON+gzip after 1 local change", ms(delta), ""],
        ["reference: merged full_view + encode + gzip -6", ms(ref), "1.0×"],
        ["merged reconcile hash (10k + 10k)", ms(merged_hash), ""],
        ["apply a 10k-instance full fetch (core only)", ms(full_apply), ""],
        [f"  (merged payload {size / 1e6:.1f} MB)", "", ""],
    ]
    print_table(["operation (10k local + 10k remote)", "time", "ratio"], rows)

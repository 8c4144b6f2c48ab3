"""Content digest maintenance per change at 10k and 100k instances (issue 8; goal: flat in N).

A change re-digests one instance and moves its application's and the registry's sums
(`eureka.digest.DigestSums.replace`); nothing walks the registry. Measured three ways: the digest
step alone, a whole `Registry.status_update` (change log, counts, digest, cache invalidation), and
as reference the from-scratch digest of every instance that an implementation without incremental
sums would pay per change.
"""

from __future__ import annotations

import time

import msgspec

from bench.bench_registry_core import START_MS, _filled, _instances
from bench.table import print_table
from eureka.digest import DigestSums, instance_digest
from eureka.model import InstanceStatus

_CHANGES = 2_000


def _digest_step_us(count: int) -> float:
    instances = _instances(count)
    sums = DigestSums()
    digests = [instance_digest(i) for i in instances]
    for info, digest in zip(instances, digests, strict=True):
        sums.add(info.app, digest)
    changed = [msgspec.structs.replace(i, status=InstanceStatus.DOWN) for i in instances[:_CHANGES]]
    started = time.perf_counter()
    for n, info in enumerate(changed):
        new = instance_digest(info)
        sums.replace(info.app, digests[n], new)
    return (time.perf_counter() - started) / _CHANGES * 1e6


def _status_update_us(count: int) -> float:
    registry, clock = _filled(count)
    instances = _instances(count)[:_CHANGES]
    started = time.perf_counter()
    for n, info in enumerate(instances):
        clock.advance_ms(1)
        registry.status_update(
            info.app, info.instance_id, InstanceStatus.DOWN, START_MS + n, is_replication=False
        )
    elapsed = time.perf_counter() - started
    return elapsed / _CHANGES * 1e6


def _from_scratch_ms(count: int) -> float:
    instances = _instances(count)
    started = time.perf_counter()
    sum(instance_digest(i) for i in instances)
    return (time.perf_counter() - started) * 1e3


def run() -> None:
    rows = []
    for count in (10_000, 100_000):
        rows.append(
            [
                f"{count:,}",
                f"{_digest_step_us(count):.1f} µs",
                f"{_status_update_us(count):.1f} µs",
                f"{_from_scratch_ms(count):.1f} ms",
            ]
        )
    print_table(
        [
            "instances",
            "digest step per change",
            "status_update per change (all of it)",
            "reference: digest from scratch",
        ],
        rows,
    )


if __name__ == "__main__":
    run()

"""The registry's content digests, kept incrementally, equal digests computed from scratch.

After any sequence of registrations (new and re-), renewals whose rules change a status,
overrides set, adopted and deleted, metadata edits, cancels and evictions, the per-application
digests the registry keeps on its leases and sums equal `per_app_digests` of its full view, and
the total and subset digests follow from them.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from eureka.clock import ManualClock
from eureka.digest import EMPTY_DIGEST, applications_digest, instance_digest, per_app_digests
from eureka.model import InstanceStatus
from eureka.registry import Registry, RegistryConfig
from tests.registry.support import START_MS, instance, make_registry
from tests.registry.test_consistency_properties import APPS, _apply, operation

MASK = (1 << 128) - 1


def _assert_digests_match(registry: Registry) -> None:
    truth = per_app_digests(registry.full_view())
    assert registry.app_digests() == truth
    assert registry.digest == applications_digest(registry.full_view())
    for app in APPS:
        assert registry.app_digest(app) == truth.get(app, EMPTY_DIGEST)
    assert registry.subset_digest(["A", "C"]) == (truth.get("A", 0) + truth.get("C", 0)) & MASK


@settings(max_examples=200, deadline=None)
@given(st.lists(operation, max_size=60), st.integers(0, 2**32))
def test_incremental_digests_equal_digests_from_scratch(
    ops: list[tuple[Any, ...]], seed: int
) -> None:
    clock = ManualClock(START_MS)
    registry = Registry(
        RegistryConfig(enable_self_preservation=False), clock, rng=random.Random(seed)
    )
    for op in ops:
        _apply(registry, clock, op)
        _assert_digests_match(registry)


def test_a_renewal_changes_no_digest_but_a_rule_driven_status_change_does() -> None:
    registry, clock = make_registry()
    registry.register(instance("A", "a-1"))
    before = registry.digest
    clock.advance(10)
    registry.renew("A", "a-1")
    assert registry.digest == before  # lease timestamps are not covered
    registry.store_overridden_status_if_required("A", "a-1", InstanceStatus.OUT_OF_SERVICE)
    after_override = registry.digest
    assert after_override != before
    registry.renew("A", "a-1")  # the rules now apply the override to the status
    assert registry.digest != after_override
    _assert_digests_match(registry)


def test_the_lease_keeps_the_digest_of_its_holder() -> None:
    registry, _ = make_registry()
    registry.register(instance("A", "a-1", metadata={"zone": "a"}))
    registry.update_metadata("A", "a-1", {"zone": "b"})
    stored = registry.stored_instance("A", "a-1")
    assert stored is not None
    assert registry.app_digest("a") == instance_digest(stored)
    registry.cancel("A", "a-1")
    assert registry.app_digests() == {}
    assert registry.digest == EMPTY_DIGEST

"""Properties over random operation sequences: the hash never lies (invariant 2).

A simulated client fetches the full registry once, then applies every delta it polls (the
client algorithm of protocol.md §10.3). Whatever the server did in between — registrations,
renewals whose rules change a status, overrides, cancels, evictions — the client's view must
equal the server's and hash to the delta's `apps__hashcode`. The same holds for the cursor view,
and the cached payloads always equal a fresh encoding.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.model import ActionType, Applications, InstanceStatus
from eureka.reconcile import reconcile_hash
from eureka.registry import CacheKey, EntityType, Registry, RegistryConfig, ResponseCache
from tests.registry.support import START_MS, instance

APPS = ("A", "B", "C")
IDS = ("1", "2", "3", "4")
STATUSES = list(InstanceStatus)

operation = st.one_of(
    st.tuples(
        st.just("register"),
        st.sampled_from(APPS),
        st.sampled_from(IDS),
        st.sampled_from(STATUSES),
        # Mostly no override carried (as clients send), sometimes one (as peers send).
        st.sampled_from([InstanceStatus.UNKNOWN] * 4 + STATUSES),
        st.integers(0, 5),
        st.booleans(),
    ),
    st.tuples(st.just("renew"), st.sampled_from(APPS), st.sampled_from(IDS), st.booleans()),
    st.tuples(st.just("cancel"), st.sampled_from(APPS), st.sampled_from(IDS)),
    st.tuples(
        st.just("status"), st.sampled_from(APPS), st.sampled_from(IDS), st.sampled_from(STATUSES)
    ),
    st.tuples(
        st.just("delete_override"),
        st.sampled_from(APPS),
        st.sampled_from(IDS),
        st.sampled_from(STATUSES),
    ),
    st.tuples(st.just("store_override"), st.sampled_from(APPS), st.sampled_from(IDS)),
    st.tuples(st.just("metadata"), st.sampled_from(APPS), st.sampled_from(IDS)),
    st.tuples(st.just("advance"), st.integers(1, 70)),
    st.tuples(st.just("evict")),
    st.tuples(st.just("poll")),
)


def _apply(registry: Registry, clock: ManualClock, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "register":
        _, app, iid, status, overridden, dirty, replication = op
        registry.register(
            instance(
                str(app), f"{app}-{iid}", status=status, overridden=overridden, dirty=1 + dirty
            ),
            is_replication=bool(replication),
        )
    elif kind == "renew":
        _, app, iid, replication = op
        registry.renew(str(app), f"{app}-{iid}", is_replication=bool(replication))
    elif kind == "cancel":
        registry.cancel(str(op[1]), f"{op[1]}-{op[2]}")
    elif kind == "status":
        registry.status_update(str(op[1]), f"{op[1]}-{op[2]}", op[3], None)
    elif kind == "delete_override":
        registry.delete_status_override(str(op[1]), f"{op[1]}-{op[2]}", op[3])
    elif kind == "store_override":
        registry.store_overridden_status_if_required(
            str(op[1]), f"{op[1]}-{op[2]}", InstanceStatus.OUT_OF_SERVICE
        )
    elif kind == "metadata":
        registry.update_metadata(str(op[1]), f"{op[1]}-{op[2]}", {"k": str(registry.revision)})
    elif kind == "advance":
        clock.advance(int(op[1]))
        registry.prune_delta_queue()
        registry.tick_renews_bucket()
    elif kind == "evict":
        registry.evict()


def _apply_delta(local: dict[tuple[str, str], InstanceStatus], delta: Applications) -> None:
    for info in delta.iter_instances():
        key = (info.app, info.id)
        if info.action_type is ActionType.DELETED:
            local.pop(key, None)
        else:
            local[key] = info.status


def _statuses(view: Applications) -> dict[tuple[str, str], InstanceStatus]:
    return {(i.app, i.id): i.status for i in view.iter_instances()}


def _without_leases(view: Applications) -> Applications:
    for info in view.iter_instances():
        info.lease_info = None
    return view


def _hash(statuses: dict[tuple[str, str], InstanceStatus]) -> str:
    counts = Counter(s.value for s in statuses.values())
    return "".join(f"{name}_{counts[name]}_" for name in sorted(counts))


@settings(max_examples=150, deadline=None)
@given(st.lists(operation, max_size=60), st.integers(0, 2**32))
# §12.14: an override adopted from a peer, then a renewal applying it.
@example(
    ops=[
        ("register", "A", "1", InstanceStatus.UP, InstanceStatus.UNKNOWN, 0, False),
        ("store_override", "A", "1"),
        ("poll",),
        ("renew", "A", "1", False),
    ],
    seed=0,
)
def test_clients_following_deltas_never_see_a_server_made_mismatch(
    ops: list[tuple[Any, ...]], seed: int
) -> None:
    clock = ManualClock(START_MS)
    config = RegistryConfig(enable_self_preservation=False)
    registry = Registry(config, clock, rng=random.Random(seed))
    cache = ResponseCache(registry, config, clock)
    initial = cache.get(CacheKey(EntityType.ALL_APPS))
    assert initial is not None
    client = _statuses(json_codec.decode_applications(initial.body))
    cursor = registry.revision
    cursor_view = dict(client)
    last_poll_ms = clock.now_ms()
    for op in [*ops, ("poll",)]:
        _apply(registry, clock, op)
        # Poll at least every 60 s so the client stays within the delta retention window.
        if op[0] != "poll" and clock.now_ms() - last_poll_ms < 60_000:
            continue
        last_poll_ms = clock.now_ms()
        payload = cache.get(CacheKey(EntityType.ALL_APPS_DELTA))
        assert payload is not None
        delta = json_codec.decode_applications(payload.body)
        _apply_delta(client, delta)
        truth = _statuses(registry.full_view())
        assert client == truth
        assert _hash(client) == delta.apps_hashcode == registry.apps_hashcode()

        changes = registry.changes_since(cursor)
        assert changes is not None
        _apply_delta(cursor_view, changes.applications)
        cursor = changes.revision
        assert cursor_view == truth
        assert _hash(cursor_view) == changes.apps_hashcode

        full = cache.get(CacheKey(EntityType.ALL_APPS))
        assert full is not None
        # Equal to a fresh encoding, except lease timestamps (renewals do not invalidate, §7.4).
        fresh = json_codec.encode_applications(registry.full_view())
        assert _without_leases(json_codec.decode_applications(full.body)) == _without_leases(
            json_codec.decode_applications(fresh)
        )
        # The incremental counts agree with a recount.
        assert registry.apps_hashcode() == reconcile_hash(registry.full_view().iter_instances())
        assert registry.instance_count() == len(truth)

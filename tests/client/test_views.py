"""Incremental views (§10.5): always equal to a rebuild, cost proportional to the delta."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from eureka.client.merge import merge_delta
from eureka.client.state import ClientState, FetchSettings
from eureka.client.views import RegistryView, ShuffledSet, WorkMeter
from eureka.clock import ManualClock
from eureka.model import ActionType, Applications, InstanceStatus
from eureka.reconcile import reconcile_hash
from tests.client.fakes import make_instance, make_registry, with_action

VIPS = ["a", "b", "a,b", "A,c", None]


def _snapshot(view: RegistryView) -> dict[str, object]:
    return {
        "apps": {
            name: sorted(i.id for i in view.shuffled_instances(name))
            for name in view.registry.applications_by_name
        },
        "vips": {v: sorted(i.id for i in view.instances_by_vip(v)) for v in view.vip_names()},
        "svips": {
            v: sorted(i.id for i in view.instances_by_vip(v, secure=True))
            for v in view.vip_names(secure=True)
        },
        "counts": dict(view.status_counts),
        "indexed": sorted(view.indexed_apps()),
    }


change = st.tuples(
    st.sampled_from(list(ActionType)),
    st.integers(0, 3),  # app
    st.integers(0, 11),  # instance number
    st.sampled_from(list(InstanceStatus)),
    st.sampled_from(VIPS),
    st.sampled_from(VIPS),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(change, max_size=8), max_size=6),
    st.booleans(),
)
def test_incremental_views_equal_a_rebuild(deltas: list[list[tuple]], filter_up: bool) -> None:  # type: ignore[type-arg]
    state = ClientState(
        FetchSettings(filter_only_up_instances=filter_up), clock=ManualClock(), rng=random.Random(0)
    )
    state.install_full(make_registry(12, apps=3), state.generation)
    for entries in deltas:
        instances = []
        for action, app, n, status, vip, svip in entries:
            instance = make_instance(f"app-{app}", n, status=status, vip=vip or "", svip=svip)
            instances.append(with_action(instance, action))
        delta = Applications.of(instances, version=state.applications.version + 1)
        state.apply_delta_payload(delta, state.generation)
        rebuilt = RegistryView(
            state.applications, filter_only_up=filter_up, rng=random.Random(1), meter=WorkMeter()
        )
        assert _snapshot(state.local) == _snapshot(rebuilt)
        assert state.reconcile_hash() == reconcile_hash(state.applications.iter_instances())


def _twenty_change_delta(version: int) -> Applications:
    entries = []
    for n in range(10):  # new instances
        newcomer = make_instance(f"app-{n % 10}", 10_000_000 + n)
        entries.append(with_action(newcomer, ActionType.ADDED))
    for n in range(5):  # status changes of existing ones
        moved = make_instance(f"app-{n % 10}", n, status=InstanceStatus.DOWN)
        entries.append(with_action(moved, ActionType.MODIFIED))
    for n in range(5, 10):  # removals
        entries.append(with_action(make_instance(f"app-{n % 10}", n), ActionType.DELETED))
    return Applications.of(entries, version=version)


def test_merge_work_does_not_grow_with_the_registry() -> None:
    work = {}
    for size in (1_000, 10_000, 50_000):
        state = ClientState(clock=ManualClock(), rng=random.Random(3))
        state.install_full(make_registry(size, apps=10), state.generation)
        before = state.meter.units
        outcome = state.apply_delta_payload(_twenty_change_delta(2), state.generation)
        assert outcome.applied and outcome.changes == 20
        work[size] = state.meter.units - before
    assert work[1_000] == work[10_000] == work[50_000]
    assert 0 < work[1_000] < 200


def test_full_install_work_is_proportional_to_the_registry() -> None:
    # The meter does see bulk work: a rebuild costs at least one unit per instance.
    state = ClientState(clock=ManualClock(), rng=random.Random(3))
    state.install_full(make_registry(5_000), state.generation)
    assert state.meter.units >= 5_000


def test_shuffled_set_operations() -> None:
    rng, meter = random.Random(5), WorkMeter()
    instances = [make_instance("s", n) for n in range(20)]
    shuffled = ShuffledSet(rng, meter)
    for instance in instances:
        shuffled.put(instance.id, instance)
    assert sorted(i.id for i in shuffled) == sorted(i.id for i in instances)
    for instance in instances[::2]:
        shuffled.discard(instance.id)
    assert sorted(i.id for i in shuffled) == sorted(i.id for i in instances[1::2])
    replacement = make_instance("s", 1, status=InstanceStatus.DOWN)
    position = shuffled.snapshot().index(next(i for i in shuffled if i.id == replacement.id))
    shuffled.put(replacement.id, replacement)
    assert shuffled.snapshot()[position] is replacement
    assert len(shuffled) == 10
    # Round robin visits every member once per cycle.
    cycle = [shuffled.next() for _ in range(10)]
    assert {i.id for i in cycle if i} == {i.id for i in shuffled}


def test_insertion_positions_are_spread_uniformly() -> None:
    # Inside-out Fisher–Yates: a newcomer lands in every position about equally often.
    rng = random.Random(11)
    landed = [0] * 5
    for _ in range(5000):
        shuffled = ShuffledSet(rng, WorkMeter())
        for n in range(4):
            shuffled.put(str(n), make_instance("s", n))
        newcomer = make_instance("s", 99)
        shuffled.put("new", newcomer)
        landed[shuffled.snapshot().index(newcomer)] += 1
    assert all(800 < count < 1200 for count in landed), landed


def test_merge_routes_instances_to_remote_regions() -> None:
    target = Applications()
    remote: dict[str, Applications] = {}
    local_one = with_action(make_instance("svc", 1), ActionType.ADDED)
    west = with_action(make_instance("svc", 2, zone="us-west-2a"), ActionType.ADDED)
    delta = Applications.of([local_one, west], version=9)

    def region_of(instance):  # type: ignore[no-untyped-def]
        return "us-west-2" if instance.data_center_info.is_amazon else None

    changes = merge_delta(target, delta, region_of=region_of, remote=remote)

    assert [c.region for c in changes] == [None, "us-west-2"]
    assert list(target.applications_by_name["SVC"].instances_by_id) == [local_one.id]
    assert list(remote["us-west-2"].applications_by_name["SVC"].instances_by_id) == [west.id]
    assert target.version == remote["us-west-2"].version == 9


def test_an_application_whose_last_instance_goes_leaves_every_index() -> None:
    state = ClientState(clock=ManualClock(), rng=random.Random(2))
    state.install_full(make_registry(6, apps=3), state.generation)
    doomed = [i for i in state.applications.iter_instances() if i.app == "APP-1"]
    delta = Applications.of([with_action(i, ActionType.DELETED) for i in doomed], version=3)
    state.apply_delta_payload(delta, state.generation)
    assert "APP-1" not in state.applications.applications_by_name
    assert "APP-1" not in state.local.indexed_apps()
    assert "APP-1" not in state.local.vip_names()

"""The change log and its two views: the Eureka delta (§6.9) and the cursor (invariant 1)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from eureka.model import ActionType, Applications, InstanceStatus
from eureka.reconcile import hash_from_counts, reconcile_hash
from tests.registry.support import instance, make_registry

UP = InstanceStatus.UP
DOWN = InstanceStatus.DOWN
OOS = InstanceStatus.OUT_OF_SERVICE


def _entries(view: Applications) -> list[tuple[str, str, ActionType | None, InstanceStatus]]:
    return [
        (app.name, i.id, i.action_type, i.status)
        for app in view.applications
        for i in app.instances
    ]


def test_every_mutation_appends_one_entry_with_increasing_revision() -> None:
    registry, clock = make_registry()
    revisions = [registry.revision]

    def step() -> None:
        clock.advance(1)
        revisions.append(registry.revision)

    registry.register(instance("A", "a-1"))
    step()
    registry.status_update("A", "a-1", OOS, None)
    step()
    registry.delete_status_override("A", "a-1", UP)
    step()
    registry.update_metadata("A", "a-1", {"k": "v"})
    step()
    registry.renew("A", "a-1")  # not a change
    step()
    registry.cancel("A", "a-1")
    step()
    assert revisions == [0, 1, 2, 3, 4, 4, 5]


def test_register_then_status_update_is_one_modified_entry() -> None:
    registry, _ = make_registry()
    registry.register(instance("A", "a-1"))
    registry.status_update("A", "a-1", OOS, None)
    assert _entries(registry.delta_view()) == [("A", "a-1", ActionType.MODIFIED, OOS)]


def test_register_then_cancel_is_one_deleted_entry() -> None:
    registry, _ = make_registry()
    registry.register(instance("A", "a-1"))
    registry.cancel("A", "a-1")
    assert _entries(registry.delta_view()) == [("A", "a-1", ActionType.DELETED, UP)]


def test_reregistration_supersedes_and_latest_entry_wins() -> None:
    registry, clock = make_registry()
    registry.register(instance("A", "a-1", dirty=1))
    registry.status_update("A", "a-1", DOWN, None)
    clock.advance(1)
    registry.register(instance("A", "a-1", status=UP, dirty=2))
    assert _entries(registry.delta_view()) == [("A", "a-1", ActionType.ADDED, DOWN)]


def test_delta_groups_by_app_in_first_appearance_order_and_moves_ids_to_the_end() -> None:
    # The order the real server produced in fixture java/http/33: 13 registered, 14 registered,
    # 13 re-registered → ORDER-SERVICE lists 14 then 13.
    registry, clock = make_registry()
    registry.register(instance("ORDER", "13", dirty=5))
    registry.register(instance("INVENTORY", "inv-1", status=InstanceStatus.STARTING))
    registry.register(instance("ORDER", "14", dirty=5))
    clock.advance(1)
    registry.register(instance("ORDER", "13", dirty=5))
    assert [(a, i) for a, i, _, _ in _entries(registry.delta_view())] == [
        ("ORDER", "14"),
        ("ORDER", "13"),
        ("INVENTORY", "inv-1"),
    ]


def test_delta_hash_is_full_view_hash_in_the_same_snapshot() -> None:
    registry, _ = make_registry()
    for n in range(4):
        registry.register(instance("A", f"a-{n}"))
    registry.prune_delta_queue()
    registry.status_update("A", "a-0", OOS, None)
    registry.cancel("A", "a-1")
    delta = registry.delta_view()
    full = registry.full_view()
    assert delta.apps_hashcode == full.apps_hashcode == "OUT_OF_SERVICE_1_UP_2_"
    assert full.apps_hashcode == reconcile_hash(full.iter_instances())
    # Not the hash of the delta's own instances (fixture registry-delta.json makes the same point).
    assert reconcile_hash(delta.iter_instances()) != delta.apps_hashcode


def test_delta_version_counts_generations_and_regions_have_their_own_counter() -> None:
    registry, _ = make_registry()
    assert [registry.delta_view().version for _ in range(3)] == [1, 2, 3]
    assert registry.delta_view(with_regions=True).version == 1
    assert registry.delta_view().version == 4
    assert registry.full_view().version == 1
    assert registry.vip_view("x").version == -1


def test_retention_prunes_entries_older_than_180s_on_the_timer() -> None:
    registry, clock = make_registry()
    clock.advance(10)
    registry.register(instance("A", "a-1"))
    seen_until = None
    # The retention timer runs every 30 s; an entry lives 180 s plus up to one timer interval.
    for tick in range(1, 10):
        clock.advance_ms(30_000 - (10_000 if tick == 1 else 0))
        registry.prune_delta_queue()
        if registry.delta_view().instance_count():
            seen_until = tick * 30
    assert seen_until == 180  # still there at 180 s (age 170 s), gone at the 210 s run


def test_prune_boundary_is_strictly_older_than_retention() -> None:
    registry, clock = make_registry()
    registry.register(instance("A", "a-1"))
    clock.advance_ms(180_000)
    assert registry.prune_delta_queue() == 0
    clock.advance_ms(1)
    assert registry.prune_delta_queue() == 1
    assert registry.delta_view().instance_count() == 0
    # The registry itself is unaffected.
    assert registry.full_view().instance_count() == 1


def test_cursor_view_returns_changes_after_revision() -> None:
    registry, _ = make_registry()
    registry.register(instance("A", "a-1"))
    registry.register(instance("B", "b-1"))
    mark = registry.revision
    registry.status_update("A", "a-1", OOS, None)
    registry.register(instance("C", "c-1"))
    changes = registry.changes_since(mark)
    assert changes is not None
    assert (changes.since, changes.revision) == (mark, registry.revision)
    assert _entries(changes.applications) == [
        ("A", "a-1", ActionType.MODIFIED, OOS),
        ("C", "c-1", ActionType.ADDED, UP),
    ]
    assert changes.apps_hashcode == registry.full_view().apps_hashcode
    empty = registry.changes_since(registry.revision)
    assert empty is not None and empty.applications.instance_count() == 0


def test_cursor_view_too_old_and_from_the_future() -> None:
    registry, clock = make_registry()
    registry.register(instance("A", "a-1"))
    registry.register(instance("A", "a-2"))
    clock.advance(181)
    registry.register(instance("A", "a-3"))
    assert registry.prune_delta_queue() == 2
    # Out of the delta window, still in the cursor log (15 minutes).
    assert registry.delta_view().instance_count() == 1
    assert registry.oldest_revision == 0
    clock.advance(900 - 181 + 1)
    registry.prune_delta_queue()
    assert registry.oldest_revision == 2
    assert registry.changes_since(0) is None
    assert registry.changes_since(1) is None
    still = registry.changes_since(2)
    assert still is not None and _entries(still.applications) == [
        ("A", "a-3", ActionType.ADDED, UP)
    ]
    assert registry.changes_since(registry.revision + 1) is None


def test_applying_cursor_changes_reproduces_the_registry() -> None:
    registry, clock = make_registry()
    for n in range(6):
        registry.register(instance("A" if n % 2 else "B", f"i-{n}"))
    mark = registry.revision
    snapshot = {(i.app, i.id): i.status for i in registry.full_view().iter_instances()}
    registry.status_update("A", "i-1", OOS, None)
    registry.cancel("B", "i-2")
    clock.advance(1)
    registry.register(instance("B", "i-2", status=DOWN, dirty=9))
    registry.cancel("A", "i-3")
    changes = registry.changes_since(mark)
    assert changes is not None
    for info in changes.applications.iter_instances():
        if info.action_type is ActionType.DELETED:
            snapshot.pop((info.app, info.id), None)
        else:
            snapshot[(info.app, info.id)] = info.status
    now = {(i.app, i.id): i.status for i in registry.full_view().iter_instances()}
    assert snapshot == now
    assert reconcile_hash_of_statuses(snapshot.values()) == changes.apps_hashcode


def reconcile_hash_of_statuses(statuses: Iterable[InstanceStatus]) -> str:
    return hash_from_counts(Counter(s.value for s in statuses))


def test_vip_view_matches_comma_separated_names_exactly() -> None:
    registry, _ = make_registry()
    registry.register(instance("A", "a-1", vip="alpha,beta", svip="secure-a"))
    registry.register(instance("B", "b-1", vip="beta"))
    registry.register(instance("C", "c-1", vip="Beta, gamma"))
    registry.status_update("B", "b-1", DOWN, None)
    beta = registry.vip_view("beta")
    assert sorted(i.id for i in beta.iter_instances()) == ["a-1", "b-1"]
    assert beta.apps_hashcode == "DOWN_1_UP_1_"
    assert registry.vip_view(" gamma").instance_count() == 1  # no trimming
    assert registry.vip_view("gamma").instance_count() == 0
    assert [i.id for i in registry.vip_view("secure-a", secure=True).iter_instances()] == ["a-1"]
    assert registry.vip_view("alpha,beta").instance_count() == 0

"""The remote-region core (protocol.md §9): fetch decisions, applying payloads, whitelists, the
merged views and their hashes. Pure: a ManualClock, no I/O."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from eureka.clock import ManualClock
from eureka.model import (
    ActionType,
    Application,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
)
from eureka.reconcile import reconcile_hash
from eureka.registry import Registry, RegistryConfig
from eureka.registry.remote_regions import FetchKind, RemoteRegions, RemoteRegionsConfig
from tests.registry.support import START_MS, instance, make_registry

UP = InstanceStatus.UP
DOWN = InstanceStatus.DOWN
ADDED = ActionType.ADDED
MODIFIED = ActionType.MODIFIED
DELETED = ActionType.DELETED

WEST = "us-west-2"
EU = "eu-west-1"


def remote(
    app: str,
    iid: str,
    status: InstanceStatus = UP,
    action: ActionType | None = ADDED,
    vip: str | None = None,
) -> InstanceInfo:
    """An instance as a remote server sends it (already upper-cased, with an action type)."""
    return InstanceInfo(
        app=app,
        instance_id=iid,
        host_name=f"{iid}.remote",
        ip_addr="10.9.0.1",
        status=status,
        data_center_info=DataCenterInfo(),
        vip_address=vip if vip is not None else app.lower(),
        action_type=action,
    )


def payload(*instances: InstanceInfo, version: int = 1) -> Applications:
    apps = Applications.of(instances, version=version)
    apps.apps_hashcode = reconcile_hash(apps.iter_instances())
    return apps


def delta(*instances: InstanceInfo, apps_hashcode: str) -> Applications:
    return Applications.of(instances, version=7, apps_hashcode=apps_hashcode)


def setup(
    *regions: str,
    whitelist: tuple[tuple[str, tuple[str, ...]], ...] = (),
    **options: bool,
) -> tuple[Registry, RemoteRegions, ManualClock]:
    registry, clock = make_registry()
    names = regions or (WEST,)
    config = RemoteRegionsConfig(
        regions=tuple((r, f"http://{r}.example/eureka/") for r in names),
        app_whitelist=whitelist,
        **options,
    )
    return registry, RemoteRegions(config, clock, registry), clock


def ids(applications: Applications) -> dict[str, list[str]]:
    return {
        name: list(app.instances_by_id) for name, app in applications.applications_by_name.items()
    }


# --- fetch decisions and readiness (§9.2, §6.12) -----------------------------------------------


def test_first_fetch_is_full_then_deltas() -> None:
    _, regions, _ = setup()
    assert regions.fetch_kind(WEST) is FetchKind.FULL
    regions.apply_full(WEST, payload(remote("R", "r-1")))
    assert regions.fetch_kind(WEST) is FetchKind.DELTA


def test_disabled_deltas_always_fetch_in_full() -> None:
    _, regions, _ = setup(disable_delta=True)
    regions.apply_full(WEST, payload(remote("R", "r-1")))
    assert regions.fetch_kind(WEST) is FetchKind.FULL


def test_an_empty_copy_is_fetched_in_full() -> None:
    _, regions, _ = setup()
    regions.apply_full(WEST, payload())
    assert regions.fetch_kind(WEST) is FetchKind.FULL
    regions.apply_full(WEST, payload(remote("R", "r-1")))
    assert regions.apply_delta(WEST, delta(remote("R", "r-1", action=DELETED), apps_hashcode=""))
    assert regions.fetch_kind(WEST) is FetchKind.FULL


def test_registry_is_ready_for_regions_only_once_every_region_was_fetched() -> None:
    registry, regions, _ = setup(WEST, EU)
    registry.open_for_traffic(1)
    assert registry.should_allow_access(remote_region_required=True) is False
    assert registry.should_allow_access() is True
    regions.record_failure(WEST, "connection refused")
    regions.apply_full(EU, payload())
    assert regions.ready is False and registry.remote_regions_ready is False
    regions.apply_full(WEST, payload(remote("R", "r-1")))
    assert regions.ready is True
    assert registry.should_allow_access(remote_region_required=True) is True


def test_failures_and_successes_are_recorded_with_the_clock() -> None:
    _, regions, clock = setup()
    regions.record_failure(WEST, "HTTP 503")
    regions.record_failure(WEST, "HTTP 503")
    state = regions.region(WEST)
    assert (state.ready, state.consecutive_failures, state.last_error) == (False, 2, "HTTP 503")
    assert state.last_attempt_ms == START_MS and state.last_fetch_ms is None
    clock.advance(5)
    regions.apply_full(WEST, payload(remote("R", "r-1"), remote("R", "r-2", DOWN)))
    status = regions.stats()[WEST]
    assert status.ready is True
    assert status.last_fetch_ms == START_MS + 5000
    assert (status.consecutive_failures, status.last_error) == (0, None)
    assert (status.applications, status.instances) == (1, 2)
    assert status.apps_hashcode == "DOWN_1_UP_1_"
    assert status.url == "http://us-west-2.example/eureka/"


# --- applying fetched payloads -----------------------------------------------------------------


def test_full_fetch_becomes_the_copy_and_whole_the_current_delta() -> None:
    _, regions, _ = setup()
    fetched = payload(remote("R", "r-1"), remote("S", "s-1"))
    fetched.add_application(Application("EMPTY"))
    regions.apply_full(WEST, fetched)
    state = regions.region(WEST)
    assert ids(state.applications) == {"R": ["r-1"], "S": ["s-1"]}
    assert state.current_delta is fetched


def test_a_delta_is_merged_and_its_hash_checked() -> None:
    _, regions, _ = setup()
    regions.apply_full(WEST, payload(remote("R", "r-1"), remote("R", "r-2")))
    change = delta(
        remote("R", "r-1", DOWN, MODIFIED),
        remote("R", "r-2", action=DELETED),
        remote("T", "t-1"),
        apps_hashcode="DOWN_1_UP_1_",
    )
    assert regions.apply_delta(WEST, change) is True
    state = regions.region(WEST)
    assert ids(state.applications) == {"R": ["r-1"], "T": ["t-1"]}
    assert state.applications.get_application("R").get_instance("r-1").status is DOWN  # type: ignore[union-attr]
    assert state.current_delta is change
    assert regions.fetch_kind(WEST) is FetchKind.DELTA


def test_a_hash_mismatch_asks_for_a_full_fetch_until_one_succeeds() -> None:
    _, regions, _ = setup()
    regions.apply_full(WEST, payload(remote("R", "r-1")))
    assert regions.apply_delta(WEST, delta(remote("R", "r-2"), apps_hashcode="UP_3_")) is False
    state = regions.region(WEST)
    assert state.hash_mismatches == 1
    # The delta was applied all the same: it is the best information there is.
    assert ids(state.applications) == {"R": ["r-1", "r-2"]}
    assert regions.fetch_kind(WEST) is FetchKind.FULL
    regions.record_failure(WEST, "timeout")
    assert regions.fetch_kind(WEST) is FetchKind.FULL
    regions.apply_full(WEST, payload(remote("R", "r-1")))
    assert regions.fetch_kind(WEST) is FetchKind.DELTA


def test_a_delta_without_a_hash_cannot_be_trusted() -> None:
    _, regions, _ = setup()
    regions.apply_full(WEST, payload(remote("R", "r-1")))
    assert regions.apply_delta(WEST, Applications.of([remote("R", "r-2")], version=3)) is False


def test_deleted_entries_do_not_import_ghosts_nor_leave_empty_applications() -> None:
    """Java's fetcher adopted the delta's Application for a DELETED entry of an unknown
    application and then removed instances from that very object — the delta it serves."""
    _, regions, _ = setup()
    regions.apply_full(WEST, payload(remote("R", "r-1")))
    change = delta(
        remote("GONE", "g-1", action=DELETED),
        remote("GONE", "g-2", action=None),  # unknown action types are ignored
        remote("R", "r-1", action=DELETED),
        apps_hashcode="",
    )
    assert regions.apply_delta(WEST, change) is True
    state = regions.region(WEST)
    assert state.applications.applications_by_name == {}
    # The current delta served to local clients still says what was deleted.
    assert ids(state.current_delta) == {"GONE": ["g-1", "g-2"], "R": ["r-1"]}


def test_revisions_tell_copies_from_deltas() -> None:
    _, regions, _ = setup()
    regions.apply_full(WEST, payload(remote("R", "r-1")))
    after_full = (regions.copy_revision, regions.delta_revision)
    assert after_full[0] == after_full[1] == regions.revision > 0
    # An empty delta replacing the full registry: the current delta changed, the copy did not.
    assert regions.apply_delta(WEST, delta(apps_hashcode="UP_1_"))
    assert regions.copy_revision == after_full[0] and regions.delta_revision > after_full[1]
    # Empty after empty: nothing changed at all.
    seen = regions.revision
    assert regions.apply_delta(WEST, delta(apps_hashcode="UP_1_"))
    assert regions.revision == seen
    # Re-sent changes that alter nothing in the copy still change the current delta.
    same = remote("R", "r-1")
    assert regions.apply_delta(WEST, delta(same, apps_hashcode="UP_1_"))
    assert regions.copy_revision > after_full[0]
    assert regions.region(WEST).app_revisions["R"] == regions.copy_revision


# --- whitelists (§9.1) ---------------------------------------------------------------------------


def test_whitelist_per_region_else_global_else_everything() -> None:
    _, regions, _ = setup(
        WEST, EU, "ap-south-1", whitelist=((WEST, ("a", " B ")), ("global", ("C",)))
    )
    assert [regions.allows(WEST, app) for app in ("A", "B", "C")] == [True, True, False]
    assert [regions.allows(EU, app) for app in ("A", "C")] == [False, True]
    _, everything, _ = setup(WEST)
    assert everything.allows(WEST, "ANYTHING") is True


def test_region_names_are_lower_cased_as_requests_are() -> None:
    _, regions, _ = setup("US-West-2")
    assert regions.names == (WEST,)
    assert regions.effective_regions((WEST,)) == (WEST,)


# --- merged views (§9.3) -------------------------------------------------------------------------


def test_effective_regions() -> None:
    _, regions, _ = setup(WEST, EU)
    assert regions.effective_regions((EU, "nowhere", EU)) == (EU,)
    assert regions.effective_regions(("nowhere",)) == ()
    assert regions.effective_regions(()) == (WEST, EU)
    _, no_fallback, _ = setup(WEST, EU, transparent_fallback=False)
    assert no_fallback.effective_regions(()) == ()


def test_full_view_merges_per_instance_in_javas_order() -> None:
    registry, regions, _ = setup(WEST, EU)
    registry.register(instance("SHARED", "s-local"))
    registry.register(instance("SHARED", "s-both"))
    registry.register(instance("LOCAL", "l-1"))
    regions.apply_full(WEST, payload(remote("WONLY", "w-1"), remote("SHARED", "s-both", DOWN)))
    regions.apply_full(EU, payload(remote("EONLY", "e-1"), remote("WONLY", "w-2")))

    view = regions.full_view(registry, (WEST, EU))
    # Local applications first, then remote-only ones region by region; an id present in both
    # places is the remote copy, moved to the end of its application.
    assert ids(view) == {
        "SHARED": ["s-local", "s-both"],
        "LOCAL": ["l-1"],
        "WONLY": ["w-1", "w-2"],
        "EONLY": ["e-1"],
    }
    assert view.get_application("SHARED").get_instance("s-both").status is DOWN  # type: ignore[union-attr]
    assert view.version == 1
    assert view.apps_hashcode == "DOWN_1_UP_5_"
    assert regions.merged_hash(registry, (WEST, EU)) == view.apps_hashcode
    # Only the listed regions.
    assert set(ids(regions.full_view(registry, (EU,)))) == {"SHARED", "LOCAL", "EONLY", "WONLY"}
    assert ids(regions.full_view(registry, (EU,)))["WONLY"] == ["w-2"]


def test_full_view_applies_whitelists() -> None:
    registry, regions, _ = setup(WEST, whitelist=((WEST, ("KEEP",)),))
    registry.register(instance("DROP", "d-local"))
    regions.apply_full(WEST, payload(remote("KEEP", "k-1"), remote("DROP", "d-1")))
    view = regions.full_view(registry, (WEST,))
    assert ids(view) == {"DROP": ["d-local"], "KEEP": ["k-1"]}
    assert regions.merged_hash(registry, (WEST,)) == "UP_2_"


def test_delta_view_adds_the_regions_current_deltas_and_hashes_the_full_view() -> None:
    registry, regions, _ = setup(WEST)
    registry.register(instance("LOCAL", "l-1"))
    regions.apply_full(WEST, payload(remote("R", "r-1"), remote("R", "r-2")))
    assert regions.apply_delta(
        WEST,
        delta(remote("R", "r-2", action=DELETED), remote("LOCAL", "l-2"), apps_hashcode="UP_2_"),
    )
    view = regions.delta_view(registry, (WEST,), with_regions=True)
    assert ids(view) == {"LOCAL": ["l-1", "l-2"], "R": ["r-2"]}
    assert view.get_application("R").get_instance("r-2").action_type is DELETED  # type: ignore[union-attr]
    assert view.apps_hashcode == "UP_3_" == regions.full_view(registry, (WEST,)).apps_hashcode
    assert view.version == 1
    assert regions.delta_view(registry, (WEST,), with_regions=False).version == 1
    assert regions.delta_view(registry, (WEST,), with_regions=True).version == 2


def test_legacy_fallback_delta_takes_whole_remote_applications_absent_locally() -> None:
    registry, regions, _ = setup(WEST, EU, whitelist=(("global", ("NONE",)),))
    registry.register(instance("SHARED", "s-local"))
    regions.apply_full(WEST, payload(remote("SHARED", "s-west"), remote("ONLY", "o-west")))
    regions.apply_full(EU, payload(remote("ONLY", "o-eu", DOWN)))
    view = regions.legacy_delta_view(registry)
    # No whitelist, first region wins, applications that exist locally are left out entirely.
    assert ids(view) == {"SHARED": ["s-local"], "ONLY": ["o-west"]}
    assert view.apps_hashcode == "UP_2_" == regions.legacy_hash(registry)
    # ... which is why it mismatches the full payload's merge (§12.17).
    assert regions.merged_hash(registry, (WEST, EU)) == "UP_1_"  # whitelist "NONE" keeps none


def test_vip_view_filters_the_merged_view() -> None:
    registry, regions, _ = setup(WEST)
    registry.register(instance("SHARED", "s-1", vip="web,api"))
    registry.register(instance("SHARED", "s-2", vip="web"))
    regions.apply_full(
        WEST,
        payload(remote("SHARED", "s-2", vip="other"), remote("FAR", "f-1", DOWN, vip="api")),
    )
    view = regions.vip_view(registry, (WEST,), "api")
    assert ids(view) == {"SHARED": ["s-1"], "FAR": ["f-1"]}
    assert (view.version, view.apps_hashcode) == (-1, "DOWN_1_UP_1_")
    # s-2 is the remote copy in the merged view, and that one is not on VIP "web".
    assert ids(regions.vip_view(registry, (WEST,), "web")) == {"SHARED": ["s-1"]}


def test_single_application_and_instance_fallbacks() -> None:
    _, regions, _ = setup(WEST, EU, whitelist=((EU, ("BOTH", "SECRET")),))
    regions.apply_full(WEST, payload(remote("BOTH", "b-west")))
    regions.apply_full(EU, payload(remote("BOTH", "b-eu"), remote("EUONLY", "x-1")))
    assert regions.find_application("both") == (
        WEST,
        regions.region(WEST).applications.get_application("BOTH"),
    )
    assert regions.find_application("EUONLY") is None  # not on EU's whitelist
    found = regions.find_instance("BOTH", "b-eu")
    assert found is not None and found.host_name == "b-eu.remote"
    assert found is not regions.region(EU).applications.get_application("BOTH").get_instance("b-eu")  # type: ignore[union-attr]
    assert regions.find_instance("EUONLY", "x-1") is None
    assert regions.find_instance_by_id("b-west") is not None
    assert regions.find_instance_by_id("x-1") is None

    _, off, _ = setup(WEST, transparent_fallback=False)
    off.apply_full(WEST, payload(remote("BOTH", "b-west")))
    assert off.find_application("BOTH") is None
    assert off.find_instance("BOTH", "b-west") is None
    assert off.find_instance_by_id("b-west") is None


# --- the merged hash is the hash of the merged view, whatever the data -------------------------

_APPS = ["A", "B", "C"]
_IDS = ["i-1", "i-2", "i-3", "i-4"]
_STATUSES = [UP, DOWN, InstanceStatus.STARTING, InstanceStatus.OUT_OF_SERVICE]
_placements = st.lists(
    st.tuples(st.sampled_from(_APPS), st.sampled_from(_IDS), st.sampled_from(_STATUSES)),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(
    local=_placements,
    west=_placements,
    eu=_placements,
    whitelist=st.none() | st.sets(st.sampled_from(_APPS)),
    order=st.sampled_from([(WEST,), (EU,), (WEST, EU), (EU, WEST)]),
)
def test_merged_hash_equals_hash_of_merged_view(
    local: list[tuple[str, str, InstanceStatus]],
    west: list[tuple[str, str, InstanceStatus]],
    eu: list[tuple[str, str, InstanceStatus]],
    whitelist: set[str] | None,
    order: tuple[str, ...],
) -> None:
    clock = ManualClock(START_MS)
    registry = Registry(RegistryConfig(), clock, rng=random.Random(0))
    for app, iid, status in local:
        registry.register(instance(app, iid, status=status))
    wl = () if whitelist is None else ((EU, tuple(whitelist)),)
    regions = RemoteRegions(
        RemoteRegionsConfig(regions=((WEST, "u"), (EU, "u")), app_whitelist=wl), clock, registry
    )
    regions.apply_full(WEST, payload(*(remote(a, i, s) for a, i, s in west)))
    regions.apply_full(EU, payload(*(remote(a, i, s) for a, i, s in eu)))
    view = regions.full_view(registry, order)
    assert regions.merged_hash(registry, order) == reconcile_hash(view.iter_instances())

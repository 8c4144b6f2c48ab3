"""The client core's fetch decisions (§10.2–10.5), driven against the in-memory server."""

from __future__ import annotations

import random

import pytest

from eureka.client.driver import run_sync
from eureka.client.events import CacheRefreshed, FetchKind, StatusChange
from eureka.client.messages import Request, Response
from eureka.client.state import ClientState, FetchResult, FetchSettings, FullFetchReason
from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.model import ActionType, Applications, InstanceStatus
from eureka.reconcile import reconcile_hash
from tests.client.fakes import FakeEurekaServer, make_instance, make_registry, with_action

UP, DOWN, OOS = InstanceStatus.UP, InstanceStatus.DOWN, InstanceStatus.OUT_OF_SERVICE


def _send(server: FakeEurekaServer):  # type: ignore[no-untyped-def]
    def send(request: Request) -> Response:
        return server.request(
            request.method,
            request.path,
            params=request.params,
            headers=request.headers,
            body=request.body,
        )

    return send


def fetch(state: ClientState, server: FakeEurekaServer, force_full: bool = False) -> FetchResult:
    return run_sync(state.fetch_registry(force_full), _send(server))


def seeded_server(n: int = 6) -> FakeEurekaServer:
    server = FakeEurekaServer()
    for i in range(n):
        server.add(make_instance("order-service" if i % 2 else "payment", i))
    server.forget_delta()
    return server


def new_state(**settings: object) -> ClientState:
    return ClientState(FetchSettings(**settings), clock=ManualClock(), rng=random.Random(7))  # type: ignore[arg-type]


def held(state: ClientState) -> dict[tuple[str, str], InstanceStatus]:
    return {
        (name, key): i.status
        for name, app in state.applications.applications_by_name.items()
        for key, i in app.instances_by_id.items()
    }


def served(server: FakeEurekaServer) -> dict[tuple[str, str], InstanceStatus]:
    return {key: i.status for key, i in server.instances.items()}


# ---- full or delta ------------------------------------------------------------------------------


def test_first_fetch_is_full_and_later_ones_are_deltas() -> None:
    server, state = seeded_server(), new_state()
    first = fetch(state, server)
    assert first.ok and first.kind is FetchKind.FULL
    assert first.full_reason == FullFetchReason.EMPTY_REGISTRY
    server.add(make_instance("order-service", 101))
    second = fetch(state, server)
    third = fetch(state, server)
    assert second.kind is FetchKind.DELTA and third.kind is FetchKind.DELTA
    assert server.paths() == ["GET apps/", "GET apps/delta", "GET apps/delta"]
    assert held(state) == served(server)
    assert state.counters.full_fetches == 1 and state.counters.delta_fetches == 2


def test_added_modified_deleted_are_merged() -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    newcomer = make_instance("order-service", 200)
    server.add(newcomer)
    server.set_status("PAYMENT", make_instance("payment", 0).id, OOS)
    server.delete("ORDER-SERVICE", make_instance("order-service", 1).id)

    result = fetch(state, server)

    assert result.kind is FetchKind.DELTA and not result.reconciled
    assert held(state) == served(server)
    assert state.get_instance(newcomer.id) is not None
    assert state.get_instance(make_instance("order-service", 1).id) is None
    ids_up = {i.id for i in state.get_instances("payment")}
    assert make_instance("payment", 0).id not in ids_up  # OUT_OF_SERVICE is filtered out


def test_delta_whose_hash_disagrees_triggers_exactly_one_full_fetch() -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    server.add(make_instance("order-service", 300))
    server.delta_hash = "UP_999_"
    server.requests.clear()

    result = fetch(state, server)

    assert result.ok and result.reconciled and result.kind is FetchKind.FULL
    assert result.full_reason == FullFetchReason.RECONCILE
    assert server.paths() == ["GET apps/delta", "GET apps/"]
    assert state.counters.reconcile_mismatches == 1
    assert held(state) == served(server)
    # The reconciled registry keeps the delta's version, so the next fetch is a delta again.
    server.delta_hash = None
    server.requests.clear()
    assert fetch(state, server).kind is FetchKind.DELTA
    assert server.paths() == ["GET apps/delta"]


def test_delta_that_misses_an_instance_is_repaired_by_the_reconcile() -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    server.add(make_instance("order-service", 400))
    server.forget_delta()  # the change fell out of the delta window before the client polled

    result = fetch(state, server)

    assert result.reconciled and result.diff is not None
    assert result.diff.missing == (("ORDER-SERVICE", make_instance("order-service", 400).id),)
    assert held(state) == served(server)


def test_delta_disabled_always_fetches_full() -> None:
    server, state = seeded_server(), new_state(disable_delta=True)
    for _ in range(3):
        result = fetch(state, server)
        assert result.full_reason == FullFetchReason.DELTA_DISABLED
    assert server.paths() == ["GET apps/"] * 3


@pytest.mark.parametrize("refusal", ["403", "empty body"])
def test_refused_or_empty_delta_falls_back_to_a_full_fetch(refusal: str) -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    if refusal == "403":
        server.delta_status = 403
    else:
        server.delta_empty_body = True
    server.add(make_instance("payment", 500))
    server.requests.clear()

    result = fetch(state, server)

    assert result.ok and result.full_reason == FullFetchReason.DELTA_UNAVAILABLE
    assert server.paths() == ["GET apps/delta", "GET apps/"]
    assert held(state) == served(server)


def test_forced_fetch_and_single_vip_mode_are_full() -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    assert fetch(state, server, force_full=True).full_reason == FullFetchReason.FORCED

    vip_server = seeded_server()
    vip_state = new_state(registry_refresh_single_vip_address="order-service")
    fetch(vip_state, vip_server)
    result = fetch(vip_state, vip_server)
    assert result.full_reason == FullFetchReason.SINGLE_VIP
    assert vip_server.paths() == ["GET vips/order-service"] * 2
    assert set(vip_state.applications.applications_by_name) == {"ORDER-SERVICE"}


def test_empty_local_registry_and_version_minus_one_force_full_fetches() -> None:
    empty_server, state = FakeEurekaServer(), new_state()
    fetch(state, empty_server)
    assert fetch(state, empty_server).full_reason == FullFetchReason.EMPTY_REGISTRY

    state = new_state()
    unversioned = make_registry(4, version=-1)
    state.install_full(unversioned, state.generation)
    assert state.full_fetch_reason() == FullFetchReason.NO_VERSION


def test_regions_parameter_is_sent_on_full_and_delta_fetches() -> None:
    server, state = seeded_server(), new_state(fetch_remote_regions_registry=("us-west-2",))
    fetch(state, server)
    server.add(make_instance("payment", 600))
    fetch(state, server)
    assert [r.params for r in server.requests] == [{"regions": "us-west-2"}] * 2


def test_failed_fetch_leaves_registry_and_reports_failure() -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    before = held(state)
    server.failures = 1
    result = fetch(state, server)
    assert not result.ok and result.events == ()
    assert held(state) == before
    server.status_for["GET apps/"] = 500
    assert not fetch(state, server, force_full=True).ok
    assert state.counters.fetch_failures == 2


def test_undecodable_payload_is_a_failed_fetch() -> None:
    state = new_state()
    op = state.fetch_registry()
    assert next(op).path == "apps/"
    with pytest.raises(StopIteration) as done:
        op.send(Response(200, {"content-type": "application/json"}, b'{"applications": [1,'))
    assert not done.value.value.ok
    assert state.counters.fetch_failures == 1


def test_failed_reconcile_makes_the_next_fetch_full() -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    server.delta_hash = "UP_1234_"
    server.status_for["GET apps/"] = 503
    assert not fetch(state, server).ok
    assert state.full_fetch_reason() == FullFetchReason.RECONCILE_FAILED
    del server.status_for["GET apps/"]
    assert fetch(state, server).kind is FetchKind.FULL
    assert state.full_fetch_reason() is None


# ---- fetch generation ---------------------------------------------------------------------------


def test_an_older_fetch_result_never_overwrites_a_newer_one() -> None:
    server, state = seeded_server(), new_state()
    send = _send(server)
    slow = state.fetch_registry()
    slow_request = next(slow)
    old_answer = send(slow_request)  # the slow fetch's answer is on its way...
    server.add(make_instance("order-service", 700))
    fast = state.fetch_registry()
    assert run_sync(fast, send, None).applied  # ...while a newer fetch is applied first

    with pytest.raises(StopIteration) as done:
        slow.send(old_answer)

    result = done.value.value
    assert result.ok and not result.applied
    assert state.counters.discarded_results == 1
    assert held(state) == served(server)  # still the newer registry


def test_an_older_delta_is_discarded_too() -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    before = state.generation
    outcome = state.apply_delta_payload(server.delta(), before - 1)
    assert not outcome.applied and state.generation == before


# ---- views --------------------------------------------------------------------------------------


def test_only_up_instances_are_handed_out_unless_configured_otherwise() -> None:
    server = FakeEurekaServer()
    statuses = [UP, DOWN, OOS, InstanceStatus.STARTING, UP]
    for n, status in enumerate(statuses):
        server.add(make_instance("svc", n, status=status))
    filtered, unfiltered = new_state(), new_state(filter_only_up_instances=False)
    fetch(filtered, server)
    fetch(unfiltered, server)
    assert sorted(i.status for i in filtered.get_instances("svc")) == [UP, UP]
    assert len(unfiltered.get_instances("svc")) == 5
    assert len(filtered.get_instances_by_vip("SVC")) == 2
    # Applications without UP instances stay registered with an empty list (§10.5).
    server.set_status("SVC", make_instance("svc", 0).id, DOWN)
    server.set_status("SVC", make_instance("svc", 4).id, DOWN)
    fetch(filtered, server)
    assert filtered.get_instances("svc") == []
    assert filtered.get_application("svc") is not None


def test_shuffle_is_driven_by_the_injected_rng() -> None:
    registry = make_registry(50, apps=1)
    orders = []
    for seed in (1, 1, 2):
        state = ClientState(clock=ManualClock(), rng=random.Random(seed))
        state.install_full(json_codec.decode_applications(_encoded(registry)), 0)
        orders.append([i.id for i in state.get_instances("app-0")])
    assert orders[0] == orders[1] != orders[2]
    assert sorted(orders[0]) == sorted(orders[2])


def _encoded(registry: Applications) -> bytes:
    return json_codec.encode_applications(registry)


def test_vip_indexes_upper_case_and_split_on_commas_without_trimming() -> None:
    server = FakeEurekaServer()
    server.add(make_instance("svc", 1, vip="alpha,Beta, gamma", svip="secure-a"))
    state = new_state()
    fetch(state, server)
    assert len(state.get_instances_by_vip("ALPHA")) == 1
    assert len(state.get_instances_by_vip("beta")) == 1
    assert state.get_instances_by_vip("gamma") == []
    assert len(state.get_instances_by_vip(" gamma")) == 1
    assert state.get_instances_by_vip("secure-a") == []
    assert len(state.get_instances_by_vip("SECURE-A", secure=True)) == 1


def test_next_server_is_round_robin_over_the_vip() -> None:
    server = FakeEurekaServer()
    for n in range(3):
        server.add(make_instance("svc", n))
    state = new_state()
    fetch(state, server)
    picks = [state.next_server("svc") for _ in range(6)]
    ids = [p.id for p in picks if p is not None]
    assert len(ids) == 6 and len(set(ids[:3])) == 3 and ids[:3] == ids[3:]
    assert state.next_server("nobody") is None


def test_vip_index_follows_deltas() -> None:
    server = FakeEurekaServer()
    server.add(make_instance("svc", 1, vip="old-vip"))
    state = new_state()
    fetch(state, server)
    moved = make_instance("svc", 1, vip="new-vip")
    server.add(moved, ActionType.MODIFIED)
    fetch(state, server)
    assert state.get_instances_by_vip("old-vip") == []
    assert [i.id for i in state.get_instances_by_vip("new-vip")] == [moved.id]
    assert "OLD-VIP" not in state.local.vip_names()


# ---- events -------------------------------------------------------------------------------------


def test_cache_refreshed_after_every_fetch_and_own_status_changes() -> None:
    server = seeded_server()
    me = make_instance("me", 900)
    state = ClientState(clock=ManualClock(), rng=random.Random(1), own_app="ME", own_id=me.id)
    first = fetch(state, server)
    assert [type(e) for e in first.events] == [CacheRefreshed]  # absent: UNKNOWN, as before
    server.add(me)
    second = fetch(state, server)
    assert second.events[1:] == (StatusChange(InstanceStatus.UNKNOWN, UP),)
    third = fetch(state, server)
    assert [type(e) for e in third.events] == [CacheRefreshed]
    server.set_status("ME", me.id, OOS)
    assert fetch(state, server).events[1:] == (StatusChange(UP, OOS),)
    assert state.counters.last_successful_fetch_ms == state.clock.now_ms()


# ---- log delta diff -----------------------------------------------------------------------------


def test_log_delta_diff_reconciles_even_when_hashes_match() -> None:
    server, state = seeded_server(), new_state(log_delta_diff=True)
    fetch(state, server)
    server.add(make_instance("payment", 1000))
    result = fetch(state, server)
    assert result.reconciled and result.diff is not None and not result.diff
    assert state.counters.reconcile_mismatches == 0


def test_diff_names_missing_extra_and_status_differences() -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    ghost = make_instance("payment", 0).id
    changed = make_instance("order-service", 1).id
    newcomer = make_instance("payment", 1100)
    # Three changes the client never hears about; statuses keep the hash equal to the lie below.
    server.delete("PAYMENT", ghost)
    server.set_status("ORDER-SERVICE", changed, DOWN)
    server.add(newcomer)
    server.forget_delta()
    server.delta_hash = "mismatch"

    result = fetch(state, server)

    assert result.diff is not None
    assert result.diff.missing == (("PAYMENT", newcomer.id),)
    assert result.diff.extra == (("PAYMENT", ghost),)
    assert [(d.instance_id, d.local, d.server) for d in result.diff.status_differs] == [
        (changed, UP, DOWN)
    ]
    assert "missing 1" in result.diff.summary()


# ---- remote regions -----------------------------------------------------------------------------


def test_remote_region_instances_live_in_their_region_view() -> None:
    server = FakeEurekaServer()
    server.add(make_instance("svc", 1))  # MyOwn: local
    server.add(make_instance("svc", 2, zone="us-west-2b"))  # remote region
    server.add(make_instance("svc", 3, zone="us-east-1c"))  # Amazon, but local region's zone
    state = new_state(fetch_remote_regions_registry=("us-west-2",))

    fetch(state, server)

    assert {i.id for i in state.get_instances("svc")} == {
        make_instance("svc", 1).id,
        make_instance("svc", 3).id,
    }
    assert [i.id for i in state.get_instances("svc", region="us-west-2")] == [
        make_instance("svc", 2).id
    ]
    assert len(state.get_instances_by_vip("svc", region="us-west-2")) == 1
    # The hash covers local and remote registries together (§5.2).
    assert state.reconcile_hash() == "UP_3_"

    server.add(make_instance("svc", 4, zone="us-west-2a"))
    server.delete("SVC", make_instance("svc", 2).id)
    result = fetch(state, server)
    assert result.kind is FetchKind.DELTA and not result.reconciled
    assert [i.id for i in state.get_instances("svc", region="us-west-2")] == [
        make_instance("svc", 4).id
    ]


def test_zone_to_region_fallback_strips_the_zone_letter() -> None:
    state = new_state(
        fetch_remote_regions_registry=("eu-central-1",),
        availability_zones={"eu-central-1": ["eu-central-1a"]},
    )
    assert state.regions.region_of(make_instance("x", 1, zone="eu-central-1a")) == "eu-central-1"
    assert state.regions.region_of(make_instance("x", 1, zone="eu-central-1z")) == "eu-central-1"
    assert state.regions.region_of(make_instance("x", 1, zone="ap-south-1a")) is None
    assert state.regions.region_of(make_instance("x", 1)) is None


def test_backup_registry_is_filtered_and_hashed_locally() -> None:
    state = new_state()
    backup = make_registry(5, apps=1)
    backup.applications_by_name["APP-0"].instances_by_id[
        next(iter(backup.applications_by_name["APP-0"].instances_by_id))
    ].status = DOWN
    backup.apps_hashcode = "stale"
    state.install_backup(backup)
    assert len(state.get_instances("app-0")) == 4
    assert state.applications.apps_hashcode == "DOWN_1_UP_4_"


def test_delta_with_deleted_entry_of_unknown_instance_changes_nothing() -> None:
    server, state = seeded_server(), new_state()
    fetch(state, server)
    before = held(state)
    unknown = with_action(make_instance("payment", 5000), ActionType.DELETED)
    server_hash = reconcile_hash(server.instances.values())
    delta = Applications.of([unknown], version=5, apps_hashcode=server_hash)
    outcome = state.apply_delta_payload(delta, state.generation)
    assert outcome.applied and outcome.changes == 0 and outcome.hash_matches
    assert held(state) == before

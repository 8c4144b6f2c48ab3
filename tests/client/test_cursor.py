"""The watching client's pure core (`cursor.py`) against the in-memory server speaking the contract.

Manual clock, no threads: the fake answers a long-poll at once (304 when nothing changed, as if
its wait had passed), so each round is one step of the protocol.
"""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eureka.client import views
from eureka.client.cursor import RepairReason, WatchOutcome, WatchSettings
from eureka.client.driver import run_sync
from eureka.client.events import (
    CacheRefreshed,
    FetchKind,
    InstanceAdded,
    InstanceChanged,
    InstanceRemoved,
)
from eureka.client.messages import Op, Request, Response
from eureka.client.state import ClientState, FetchSettings
from eureka.clock import ManualClock
from eureka.digest import format_digest, instance_digest, per_app_digests
from eureka.model import InstanceStatus
from tests.client.fakes import FEATURES, FakeEurekaServer, make_instance

UP, DOWN = InstanceStatus.UP, InstanceStatus.DOWN


class Switch:
    """A transport that sends to `target`, which a test may change (a failover)."""

    def __init__(self, target: FakeEurekaServer) -> None:
        self.target = target

    def __call__(self, request: Request) -> Response:
        return self.target.send(request)


def run(op: Op[object], server: FakeEurekaServer | Switch) -> object:
    send = server if isinstance(server, Switch) else server.send
    return run_sync(op, send)


def contract_server(apps: int = 4, per_app: int = 3, *, epoch: str = "epoch-1") -> FakeEurekaServer:
    server = FakeEurekaServer(features=FEATURES, epoch=epoch)
    for i in range(apps * per_app):
        server.add(make_instance(f"app-{i % apps}", i))
    server.forget_delta()
    return server


def new_state(clock: ManualClock | None = None, **watch: object) -> ClientState:
    settings = FetchSettings(watch=WatchSettings(**watch))  # type: ignore[arg-type]
    return ClientState(settings, clock=clock or ManualClock(), rng=random.Random(3))


def started(server: FakeEurekaServer, **watch: object) -> ClientState:
    state = new_state(**watch)
    result = run(state.fetch_registry(), server)
    assert result.ok  # type: ignore[attr-defined]
    server.requests.clear()
    return state


def watch(state: ClientState, server: FakeEurekaServer | Switch):  # type: ignore[no-untyped-def]
    return run(state.cursor.watch_once(), server)


def held(state: ClientState) -> dict[tuple[str, str], InstanceStatus]:
    return {
        (name, key): i.status
        for name, app in state.applications.applications_by_name.items()
        for key, i in app.instances_by_id.items()
    }


def served(server: FakeEurekaServer, apps: set[str] | None = None) -> dict[tuple[str, str], object]:
    return {k: i.status for k, i in server.instances.items() if apps is None or k[0] in apps}


def same_content(state: ClientState, server: FakeEurekaServer) -> bool:
    return per_app_digests(state.applications) == server.digests()


# ---- the cursor and the watch -------------------------------------------------------------------


def test_full_fetch_learns_features_epoch_and_revision() -> None:
    server = contract_server()
    state = started(server)
    cursor = state.cursor
    assert cursor.watching() and cursor.usable() and not cursor.should_poll()
    assert (cursor.epoch, cursor.revision) == ("epoch-1", server.revision)
    assert state.local.tracks_digests  # built with the view: the watch verifies digests


def test_a_round_with_nothing_new_is_a_304_and_a_change_arrives_in_the_next() -> None:
    server = contract_server()
    state = started(server)
    quiet = watch(state, server)
    assert quiet.outcome is WatchOutcome.UNCHANGED and quiet.changes == 0
    assert [type(e) for e in quiet.events] == [CacheRefreshed]
    assert quiet.events[0].kind is FetchKind.WATCH  # type: ignore[union-attr]

    newcomer = make_instance("app-1", 100)
    server.add(newcomer)
    server.set_status("APP-2", make_instance("app-2", 2).id, DOWN)
    server.delete("APP-3", make_instance("app-3", 3).id)
    changed = watch(state, server)

    assert changed.outcome is WatchOutcome.CHANGED and changed.changes == 3
    assert held(state) == served(server)
    assert state.cursor.revision == server.revision
    request = server.requests[-1]
    assert request.path == "apps/delta" and request.long_poll
    assert request.params == {"since": str(server.revision - 3), "wait": "30"}
    assert request.headers == {"X-Eureka-Epoch": "epoch-1"}
    assert request.timeout == pytest.approx(30 + 30 / 16 + 8)  # wait + jitter + margin
    assert state.cursor.counters.repairs == 0


def test_a_304_much_sooner_than_the_wait_is_not_retried_at_once() -> None:
    server = contract_server()
    state = started(server)
    assert watch(state, server).retry_in == pytest.approx(1.0)  # the fake did not hold at all


def test_the_local_digest_is_kept_incrementally(monkeypatch: pytest.MonkeyPatch) -> None:
    server = contract_server(apps=10, per_app=20)
    state = started(server)
    computed: list[str] = []

    def counting(instance):  # type: ignore[no-untyped-def]
        computed.append(instance.id)
        return instance_digest(instance)

    monkeypatch.setattr(views, "instance_digest", counting)
    server.add(make_instance("app-0", 500))
    server.set_status("APP-1", make_instance("app-1", 1).id, DOWN)
    watch(state, server)
    monkeypatch.undo()
    assert len(computed) == 2  # one per changed instance, of 200: the old ones are remembered
    assert state.local.digests().apps() == per_app_digests(state.applications)
    assert state.local.digests().apps() == server.digests()


operations = st.lists(
    st.tuples(st.sampled_from(["add", "status", "delete", "round"]), st.integers(0, 30)),
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(operations)
def test_incremental_digest_equals_the_one_from_scratch_after_any_sequence(
    ops: list[tuple[str, int]],
) -> None:
    server = contract_server(apps=3, per_app=2)
    state = started(server)
    for op, n in ops:
        keys = sorted(server.instances)
        if op == "add":
            server.add(make_instance(f"app-{n % 4}", 200 + n))
        elif op == "status" and keys:
            app, key = keys[n % len(keys)]
            current = server.instances[(app, key)].status
            server.set_status(app, key, DOWN if current is UP else UP)
        elif op == "delete" and keys:
            server.delete(*keys[n % len(keys)])
        else:
            assert watch(state, server).ok
        assert state.local.digests().apps() == per_app_digests(state.applications)
    watch(state, server)
    assert state.local.digests().apps() == server.digests()
    assert state.cursor.counters.repairs == 0


# ---- repair by digest ---------------------------------------------------------------------------


def test_a_cursor_that_fell_out_of_the_log_is_repaired_with_one_application_fetched() -> None:
    server = contract_server()
    state = started(server)
    server.add(make_instance("app-2", 77))
    server.forget_log()  # the cursor is now older than the log holds

    result = watch(state, server)

    assert result.outcome is WatchOutcome.REPAIRED
    assert result.repair is not None and result.repair.reason is RepairReason.CURSOR_GONE
    assert result.repair.fetched == ("APP-2",) and not result.repair.full_fetch
    assert result.repair.verified is True
    assert server.paths() == ["GET apps/delta", "GET apps/digests", "GET apps/APP-2"]
    assert held(state) == served(server)
    assert state.cursor.revision == server.revision and state.cursor.counters.cursor_gone == 1
    assert state.counters.full_fetches == 1  # only the first one
    assert watch(state, server).outcome is WatchOutcome.UNCHANGED  # the cursor is valid again


def test_a_lost_change_the_hash_cannot_see_is_found_by_the_digest_and_repaired() -> None:
    server = contract_server()
    state = started(server)
    lost = make_instance("app-2", 2)
    server.tamper("APP-2", lost.id, port=9999)  # no change entry: the watch never sends it
    server.add(make_instance("app-0", 60))  # an ordinary change wakes the watch

    result = watch(state, server)

    assert result.outcome is WatchOutcome.REPAIRED
    assert result.repair is not None and result.repair.reason is RepairReason.DIGEST_MISMATCH
    assert result.repair.fetched == ("APP-2",)  # APP-0 was already equal after the delta
    assert state.get_instance(lost.id).port == 9999  # type: ignore[union-attr]
    assert state.cursor.counters.digest_mismatches == 1
    assert state.cursor.counters.hash_mismatches == 0  # same status counts: the hash agreed
    assert same_content(state, server)


def test_a_304_whose_digest_differs_triggers_a_repair() -> None:
    server = contract_server()
    state = started(server)
    server.tamper("APP-1", make_instance("app-1", 1).id, metadata={"zone": "b"})
    result = watch(state, server)
    assert result.outcome is WatchOutcome.REPAIRED and result.repair is not None
    assert result.repair.fetched == ("APP-1",)
    assert same_content(state, server)


def test_a_lying_digest_is_repaired_once_and_the_registry_stays_correct() -> None:
    server = contract_server()
    state = started(server)
    server.add(make_instance("app-0", 61))
    server.digest_lie = format_digest(12345)
    result = watch(state, server)
    assert result.outcome is WatchOutcome.REPAIRED and result.repair is not None
    assert result.repair.fetched == () and result.repair.verified is True  # nothing differed
    assert same_content(state, server)


def test_an_application_the_server_no_longer_has_is_dropped_without_a_fetch() -> None:
    server = contract_server()
    state = started(server)
    for i in (1, 5, 9):
        server.delete("APP-1", make_instance("app-1", i).id)
    server.forget_log()
    result = watch(state, server)
    assert result.repair is not None and result.repair.removed == ("APP-1",)
    assert server.paths() == ["GET apps/delta", "GET apps/digests"]
    assert state.get_application("APP-1") is None and held(state) == served(server)


def test_a_new_epoch_with_an_equal_registry_costs_one_digests_request() -> None:
    server = contract_server()
    state = started(server)
    server.restart("epoch-2")
    result = watch(state, server)
    assert result.outcome is WatchOutcome.REPAIRED and result.repair is not None
    assert result.repair.epoch_changed and result.repair.differing == 0
    assert server.paths() == ["GET apps/delta", "GET apps/digests"]
    assert (state.cursor.epoch, state.cursor.revision) == ("epoch-2", 0)
    assert state.counters.full_fetches == 1
    assert watch(state, server).outcome is WatchOutcome.UNCHANGED


def test_failing_over_to_an_equal_peer_does_no_full_fetch() -> None:
    a = contract_server(epoch="node-a")
    b = contract_server(epoch="node-b")
    for _ in range(5):  # b's revision space is a different one: its counter differs too
        b.add(make_instance("app-0", 0))
    switch = Switch(a)
    state = new_state()
    run(state.fetch_registry(), switch)
    switch.target = b  # the transport failed over
    result = watch(state, switch)
    assert result.repair is not None and result.repair.fetched == ()
    assert b.paths() == ["GET apps/delta", "GET apps/digests"]
    assert state.counters.full_fetches == 1 and state.cursor.epoch == "node-b"


def test_a_new_epoch_on_which_most_applications_differ_is_fetched_in_full() -> None:
    server = contract_server()
    state = started(server)
    for app in range(3):
        server.tamper(f"APP-{app}", make_instance(f"app-{app}", app).id, port=7000 + app)
    server.restart("epoch-2")
    result = watch(state, server)
    assert result.repair is not None and result.repair.full_fetch
    assert server.paths() == ["GET apps/delta", "GET apps/digests", "GET apps/"]
    assert same_content(state, server) and state.cursor.epoch == "epoch-2"
    assert [e.kind for e in result.events if isinstance(e, CacheRefreshed)] == [FetchKind.FULL]


def test_on_the_same_epoch_even_many_differences_are_fetched_one_by_one() -> None:
    server = contract_server()
    state = started(server)
    for app in range(3):
        server.tamper(f"APP-{app}", make_instance(f"app-{app}", app).id, port=7000 + app)
    server.forget_log()
    result = watch(state, server)
    assert result.repair is not None and not result.repair.full_fetch
    assert result.repair.fetched == ("APP-0", "APP-1", "APP-2")
    assert same_content(state, server)


def test_a_malformed_digests_document_changes_nothing() -> None:
    server = contract_server()
    state = started(server)
    before = held(state)
    server.add(make_instance("app-0", 66))
    server.forget_log()
    server.status_for["GET apps/digests"] = 200  # an empty body: not a digests document
    result = watch(state, server)
    assert result.outcome is WatchOutcome.FAILED and result.retry_in > 0
    assert held(state) == before and state.cursor.counters.failures == 1


# ---- the watch failing, discarded and unsupported -----------------------------------------------


def test_failures_back_off_and_after_three_the_refresh_polls() -> None:
    server = contract_server()
    state = started(server)
    delays = []
    for _ in range(3):
        server.failures = 1
        result = watch(state, server)
        assert result.outcome is WatchOutcome.FAILED
        delays.append(result.retry_in)
    assert delays[0] <= 1.0 < delays[2] <= 4.0
    assert state.cursor.should_poll()
    server.requests.clear()
    polled = run(state.fetch_registry(), server)
    assert polled.ok and polled.kind is FetchKind.DELTA  # type: ignore[attr-defined]
    assert server.requests[0].params == {"since": str(server.revision)}  # no wait: a poll
    assert state.cursor.should_poll()  # a poll is no proof the watch works again
    assert watch(state, server).ok and not state.cursor.should_poll()


def test_a_round_answered_after_another_fetch_applied_is_discarded() -> None:
    server = contract_server()
    state = started(server)
    server.add(make_instance("app-0", 70))
    op = state.cursor.watch_once()
    request = next(op)
    answer = server.send(request)
    server.add(make_instance("app-1", 71))
    assert run(state.fetch_registry(), server).ok  # type: ignore[attr-defined]
    newer = state.cursor.revision
    with pytest.raises(StopIteration) as done:
        op.send(answer)
    assert done.value.value.outcome is WatchOutcome.DISCARDED
    assert state.cursor.revision == newer and held(state) == served(server)


def test_a_server_without_the_features_answering_the_watch_stops_it() -> None:
    server = contract_server()
    state = started(server)
    server.features = None  # a Java peer answers now
    assert watch(state, server).outcome is WatchOutcome.UNSUPPORTED
    assert not state.cursor.watching() and state.cursor.should_poll()


def test_against_a_java_server_nothing_of_the_watch_is_used() -> None:
    server = FakeEurekaServer()
    for i in range(4):
        server.add(make_instance("app-0", i))
    server.forget_delta()
    state = new_state()
    run(state.fetch_registry(), server)
    server.add(make_instance("app-0", 9))
    run(state.fetch_registry(), server)
    assert server.paths() == ["GET apps/", "GET apps/delta"]
    assert all(r.params == {} and r.headers == {} for r in server.requests)
    assert not state.cursor.watching() and state.cursor.should_poll()
    assert not state.local.tracks_digests


def test_turned_off_the_client_behaves_as_against_a_java_server() -> None:
    server = contract_server()
    state = started(server, enabled=False)
    server.add(make_instance("app-0", 9))
    run(state.fetch_registry(), server)
    assert server.paths() == ["GET apps/delta"] and server.requests[0].params == {}
    assert not state.cursor.watching()


# ---- subsets ------------------------------------------------------------------------------------


def test_a_subset_fetches_and_watches_only_its_applications() -> None:
    server = contract_server()
    state = started(server, applications=("app-1",))
    assert {name for name, _ in held(state)} == {"APP-1"}
    server.add(make_instance("app-2", 80))  # not watched
    assert watch(state, server).outcome is WatchOutcome.UNCHANGED
    assert server.requests[-1].params["apps"] == "APP-1"
    server.add(make_instance("app-1", 81))
    assert watch(state, server).outcome is WatchOutcome.CHANGED
    assert held(state) == served(server, {"APP-1"})
    assert state.cursor.revision == server.revision


def test_subscribing_at_run_time_fetches_the_application_and_widens_the_watch() -> None:
    server = contract_server()
    state = started(server, subset=True)  # nothing yet: applications arrive on demand
    assert held(state) == {}
    subscription = run(state.cursor.subscribe("app-3"), server)
    assert subscription.known and subscription.added  # type: ignore[attr-defined]
    assert server.paths() == ["GET apps/APP-3"]
    assert held(state) == served(server, {"APP-3"})
    server.add(make_instance("app-3", 90))
    watch(state, server)
    assert server.requests[-1].params["apps"] == "APP-3"
    assert held(state) == served(server, {"APP-3"})
    again = run(state.cursor.subscribe("APP-3"), server)
    assert again.known and not again.added  # type: ignore[attr-defined]


def test_an_unknown_application_is_asked_for_once_per_interval() -> None:
    clock = ManualClock()
    server = contract_server()
    state = new_state(clock, subset=True, retry_max_seconds=30)
    run(state.fetch_registry(), server)
    server.requests.clear()
    assert not run(state.cursor.subscribe("nobody"), server).known  # type: ignore[attr-defined]
    assert not run(state.cursor.subscribe("nobody"), server).known  # type: ignore[attr-defined]
    assert server.paths() == ["GET apps/NOBODY"]
    clock.advance(31)
    run(state.cursor.subscribe("nobody"), server)
    assert server.paths() == ["GET apps/NOBODY", "GET apps/NOBODY"]


def test_without_a_subset_subscribing_asks_the_server_nothing() -> None:
    server = contract_server()
    state = started(server)
    subscription = run(state.cursor.subscribe("app-1"), server)
    assert subscription.known and not subscription.added  # type: ignore[attr-defined]
    assert server.requests == []


def test_a_subset_repair_drops_applications_outside_it() -> None:
    server = contract_server()
    state = started(server)  # everything, as before a subset was known
    state.cursor._subset = {"APP-0"}  # type: ignore[attr-defined]
    result = run(state.cursor.repair_by_digest(), server)
    assert result.ok  # type: ignore[attr-defined]
    assert {name for name, _ in held(state)} == {"APP-0"}
    assert server.requests[0].params == {"apps": "APP-0"}


# ---- events and lag -----------------------------------------------------------------------------


def test_instance_events_from_the_watch_the_legacy_delta_and_a_full_fetch() -> None:
    server = contract_server(apps=2, per_app=1)
    state = new_state()
    state.instance_events = True
    first = run(state.fetch_registry(), server)
    assert [type(e) for e in first.events] == [InstanceAdded, InstanceAdded, CacheRefreshed]  # type: ignore[attr-defined]
    before = server.instances[("APP-0", make_instance("app-0", 0).id)]
    server.add(make_instance("app-1", 5))
    server.set_status("APP-0", before.id, DOWN)
    server.delete("APP-1", make_instance("app-1", 1).id)
    result = watch(state, server)
    events = {type(e): e for e in result.events}
    assert events[InstanceAdded].instance.id == make_instance("app-1", 5).id  # type: ignore[union-attr]
    changed = events[InstanceChanged]
    assert changed.old.status is UP and changed.new.status is DOWN  # type: ignore[union-attr]
    assert events[InstanceRemoved].instance.id == make_instance("app-1", 1).id  # type: ignore[union-attr]
    assert type(result.events[-1]) is CacheRefreshed

    legacy = FakeEurekaServer()  # a Java server: the same events from a legacy delta
    legacy.add(make_instance("app-0", 0))
    legacy.forget_delta()
    java = new_state()
    java.instance_events = True
    run(java.fetch_registry(), legacy)
    legacy.set_status("APP-0", make_instance("app-0", 0).id, DOWN)
    once = run(java.fetch_registry(), legacy)
    twice = run(java.fetch_registry(), legacy)  # the same entry again: nothing changed
    assert [type(e) for e in once.events] == [InstanceChanged, CacheRefreshed]  # type: ignore[attr-defined]
    assert [type(e) for e in twice.events] == [CacheRefreshed]  # type: ignore[attr-defined]


def test_repairs_report_instance_events_too() -> None:
    server = contract_server(apps=2, per_app=2)
    state = started(server)
    state.instance_events = True
    lost = make_instance("app-1", 1)
    server.tamper("APP-1", lost.id, port=1234)
    result = watch(state, server)
    changed = [e for e in result.events if isinstance(e, InstanceChanged)]
    assert [(e.old.port, e.new.port) for e in changed] == [(lost.port, 1234)]


def test_no_instance_events_unless_asked_for() -> None:
    server = contract_server()
    state = started(server)
    server.add(make_instance("app-0", 99))
    assert [type(e) for e in watch(state, server).events] == [CacheRefreshed]


def test_lag_is_measured_from_the_servers_change_time() -> None:
    clock = ManualClock()
    server = contract_server()
    state = new_state(clock)
    run(state.fetch_registry(), server)
    for n, lag_ms in enumerate((120, 250, 40)):
        instance = make_instance("app-0", 300 + n)
        instance = msgspec.structs.replace(instance, last_updated_timestamp=clock.now_ms() - lag_ms)
        server.add(instance)
    watch(state, server)
    lag = state.cursor.stats().lag
    assert (lag.count, lag.p50_ms, lag.p99_ms, lag.max_ms) == (3, 120, 250, 250)


def test_a_full_payload_without_a_revision_keeps_the_client_on_legacy_deltas() -> None:
    server = contract_server()
    original = server._headers

    def without_revision(apps, *, digest=True):  # type: ignore[no-untyped-def]
        headers = original(apps, digest=digest)
        headers.pop("x-eureka-revision", None)  # e.g. served from the read-only cache tier
        return headers

    server._headers = without_revision  # type: ignore[method-assign]
    state = started(server)
    assert not state.cursor.watching() and not state.cursor.usable()
    run(state.fetch_registry(), server)
    assert server.requests[-1].params == {}  # a legacy delta

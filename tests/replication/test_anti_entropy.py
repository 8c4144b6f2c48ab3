"""Anti-entropy's rule and schedule (replication/anti_entropy.py), on real registries and a
ManualClock. Peer copies travel through the JSON codec, as they do over HTTP."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.digest import instance_digest
from eureka.model import InstanceInfo, InstanceStatus, LeaseInfo
from eureka.registry import Registry, RegistryConfig
from eureka.replication.anti_entropy import (
    Adopt,
    AntiEntropy,
    AntiEntropySettings,
    Drop,
    RoundReport,
    peer_copy,
    plan_app,
)
from tests.registry.support import START_MS, instance

SETTINGS = AntiEntropySettings(interval_ms=10_000, settle_ms=1_000, jitter=0.25)
SETTLED = 1.5  # seconds: past the settle time


@dataclass
class Node:
    name: str
    registry: Registry
    core: AntiEntropy


def make_nodes(*names: str, **config: object) -> tuple[ManualClock, list[Node]]:
    clock = ManualClock(START_MS)
    nodes = []
    for index, name in enumerate(names):
        registry = Registry(RegistryConfig(**config), clock)  # type: ignore[arg-type]
        registry.open_for_traffic(0)
        core = AntiEntropy(SETTINGS, clock, random.Random(index))
        core.set_peers(other for other in names if other != name)
        nodes.append(Node(name, registry, core))
    return clock, nodes


def wire_copy(registry: Registry, app: str) -> dict[str, InstanceInfo]:
    """What `GET /apps/{app}` hands the peer: decorated copies, through the JSON codec."""
    application = registry.get_application(app)
    if application is None:
        return {}
    return json_codec.decode_application(json_codec.encode_application(application)).instances_by_id


def pull(ours: Node, theirs: Node) -> RoundReport:
    """One round of `ours` against `theirs`, as the driver runs it minus the HTTP."""
    mine, peer = ours.registry, theirs.registry
    apps = ours.core.select_apps(theirs.name, mine.app_digests(), peer.app_digests())
    copies = {}
    for app in apps:
        instances = wire_copy(peer, app)
        body = sum(instance_digest(i) for i in instances.values()) % (1 << 128)
        copies[app] = peer_copy(peer.app_digest(app), peer.app_digest(app), body, instances)
    return ours.core.repair(theirs.name, mine, apps, copies, peer.cancellations(apps))


def register(registry: Registry, app: str = "APP", instance_id: str = "i-1", **kw: object) -> None:
    info = instance(app, instance_id, **kw)  # type: ignore[arg-type]
    registry.validate_registration(app, info)
    registry.register(info)


def replicate_register(source: Registry, target: Registry, app: str, instance_id: str) -> None:
    copy = source.get_instance(app, instance_id)
    assert copy is not None
    target.register(copy, is_replication=True)


def ids(registry: Registry) -> set[str]:
    return {i.id for i in registry.local_instances()}


# -- who wins ------------------------------------------------------------------------------


def test_a_registration_the_peer_never_got_is_adopted_as_a_replication() -> None:
    clock, (a, b) = make_nodes("a", "b")
    register(a.registry, metadata={"zone": "z1"})  # its replication to b was lost
    clock.advance(SETTLED)

    report = pull(b, a)

    assert report.adopted == 1
    assert b.registry.digest == a.registry.digest
    assert b.registry.stats().replicated_registrations == 1
    assert b.registry.get_instance("APP", "i-1").metadata == {"zone": "z1"}  # type: ignore[union-attr]
    # a finds nothing to do: the repair is not mirrored back.
    assert pull(a, b).plans == ()
    assert a.registry.stats().registrations == 1


def test_a_difference_younger_than_the_settle_time_is_left_to_replication() -> None:
    clock, (a, b) = make_nodes("a", "b")
    register(a.registry)
    clock.advance(0.5)

    report = pull(b, a)

    assert report.adopted == 0 and report.plans[0].unsettled == 1
    assert b.core.stats()["a"].unsettled == 1
    clock.advance(1.0)
    assert pull(b, a).adopted == 1


def test_the_newer_last_dirty_timestamp_wins_and_only_the_older_side_changes() -> None:
    clock, (a, b) = make_nodes("a", "b")
    register(a.registry, dirty=1_000)
    replicate_register(a.registry, b.registry, "APP", "i-1")
    clock.advance(1)
    # The client re-registers at a with new metadata (a newer dirty time); b never hears of it.
    register(a.registry, dirty=2_000, metadata={"version": "2"})
    clock.advance(SETTLED)

    assert pull(a, b).adopted == 0  # a's copy is the newer one: a leaves it to b
    assert pull(b, a).adopted == 1
    adopted = b.registry.get_instance("APP", "i-1")
    assert adopted is not None and adopted.metadata == {"version": "2"}
    assert adopted.last_dirty_timestamp == 2_000
    assert a.registry.digest == b.registry.digest


def test_a_lost_admin_status_change_wins_by_the_servers_change_time() -> None:
    clock, (a, b) = make_nodes("a", "b")
    register(a.registry)
    replicate_register(a.registry, b.registry, "APP", "i-1")
    clock.advance(1)
    # Same dirty time on both sides: only the server's change time says which is newer.
    assert a.registry.status_update("APP", "i-1", InstanceStatus.OUT_OF_SERVICE, None)
    clock.advance(SETTLED)

    assert pull(a, b).adopted == 0
    assert pull(b, a).adopted == 1
    copy = b.registry.get_instance("APP", "i-1")
    assert copy is not None and copy.status is InstanceStatus.OUT_OF_SERVICE
    assert b.registry.overrides() == {"i-1": InstanceStatus.OUT_OF_SERVICE}
    assert a.registry.digest == b.registry.digest


def test_a_lost_override_removal_removes_the_peers_override_too() -> None:
    clock, (a, b) = make_nodes("a", "b")
    register(a.registry)
    replicate_register(a.registry, b.registry, "APP", "i-1")
    for node in (a, b):
        assert node.registry.status_update(
            "APP", "i-1", InstanceStatus.OUT_OF_SERVICE, None, is_replication=node is b
        )
    clock.advance(1)
    assert a.registry.delete_status_override("APP", "i-1", InstanceStatus.UP)  # lost to b
    clock.advance(SETTLED)

    assert pull(b, a).adopted == 1
    copy = b.registry.get_instance("APP", "i-1")
    assert copy is not None
    assert (copy.status, copy.overridden_status) == (InstanceStatus.UP, InstanceStatus.UNKNOWN)
    assert b.registry.overrides() == {}
    assert a.registry.digest == b.registry.digest
    assert pull(b, a).plans == ()


# -- deletes -------------------------------------------------------------------------------


def test_a_lost_cancel_is_applied_with_the_time_it_happened() -> None:
    clock, (a, b) = make_nodes("a", "b")
    register(a.registry)
    replicate_register(a.registry, b.registry, "APP", "i-1")
    clock.advance(1)
    cancelled_at = clock.now_ms()
    assert a.registry.cancel("APP", "i-1")  # lost to b
    clock.advance(SETTLED)

    # a does not take the instance back: it cancelled it after b last heard of it.
    first = pull(a, b)
    assert first.adopted == 0 and first.plans[0].cancelled_here == 1
    report = pull(b, a)

    assert report.dropped == 1
    assert ids(b.registry) == set()
    assert b.registry.cancellations(["APP"]) == {"APP": {"i-1": cancelled_at}}
    assert a.registry.digest == b.registry.digest


def test_a_registration_newer_than_the_cancel_beats_it() -> None:
    clock, (a, b) = make_nodes("a", "b")
    register(a.registry)
    replicate_register(a.registry, b.registry, "APP", "i-1")
    clock.advance(1)
    assert a.registry.cancel("APP", "i-1")  # lost to b
    clock.advance(1)
    register(b.registry)  # the client comes back at b; that replication is lost too
    clock.advance(SETTLED)

    assert pull(b, a).dropped == 0  # b keeps the acknowledged registration
    assert pull(a, b).adopted == 1  # and a takes it back
    assert ids(a.registry) == ids(b.registry) == {"i-1"}


def test_an_eviction_is_no_delete_an_instance_renewed_at_the_peer_is_adopted() -> None:
    clock, (a, b) = make_nodes("a", "b", enable_self_preservation=False)
    register(a.registry, duration=5)
    replicate_register(a.registry, b.registry, "APP", "i-1")
    # The client renews only at b, and b's heartbeat replications to a are lost.
    for _ in range(4):
        clock.advance(2)
        assert b.registry.renew("APP", "i-1").renewed
    assert [i.id for i in a.registry.evict()] == ["i-1"]
    clock.advance(SETTLED)

    assert pull(b, a).dropped == 0  # a evicted it, which proves nothing
    assert pull(a, b).adopted == 1
    assert ids(a.registry) == {"i-1"}


def test_an_instance_nobody_renews_is_not_resurrected() -> None:
    clock, (a, b) = make_nodes("a", "b", enable_self_preservation=False)
    register(a.registry, duration=5)
    replicate_register(a.registry, b.registry, "APP", "i-1")
    clock.advance(6)
    assert [i.id for i in a.registry.evict()] == ["i-1"]  # b has not evicted yet

    for _ in range(3):
        clock.advance(SETTLED)
        report = pull(a, b)
        assert report.adopted == 0 and report.plans[0].expired == 1
    assert ids(a.registry) == set()
    assert [i.id for i in b.registry.evict()] == ["i-1"]
    assert a.registry.digest == b.registry.digest


def test_a_peer_that_cannot_tell_its_cancels_makes_nothing_be_dropped() -> None:
    clock, (a, b) = make_nodes("a", "b")
    register(a.registry)
    replicate_register(a.registry, b.registry, "APP", "i-1")
    clock.advance(1)
    assert a.registry.cancel("APP", "i-1")
    clock.advance(SETTLED)

    apps = b.core.select_apps("a", b.registry.app_digests(), a.registry.app_digests())
    report = b.core.repair("a", b.registry, apps, {"APP": {}}, None)

    assert report.dropped == 0 and report.plans[0].ours_win == 1
    assert ids(b.registry) == {"i-1"}


# -- no loops ------------------------------------------------------------------------------

_STATUSES = st.sampled_from(list(InstanceStatus))


@st.composite
def copies(draw: st.DrawFn) -> InstanceInfo:
    info = instance(
        status=draw(_STATUSES),
        overridden=draw(_STATUSES),
        dirty=draw(st.integers(1, 3)),
        metadata={"v": str(draw(st.integers(0, 2)))},
    )
    info.last_updated_timestamp = START_MS + draw(st.integers(0, 2))
    info.lease_info = LeaseInfo(
        registration_timestamp=START_MS, last_renewal_timestamp=START_MS, duration_in_secs=90
    )
    return info


@given(copies(), copies())
def test_of_two_differing_copies_exactly_one_side_adopts(
    mine: InstanceInfo, peer: InstanceInfo
) -> None:
    def adopts(ours: InstanceInfo, theirs: InstanceInfo) -> bool:
        plan = plan_app(
            "APP",
            {"i-1": ours},
            {"i-1": theirs},
            our_cancels={},
            their_cancels={},
            now_ms=START_MS + 60_000,
            settle_ms=1_000,
        )
        return any(isinstance(a, Adopt) for a in plan.actions)

    if instance_digest(mine) == instance_digest(peer):
        assert not adopts(mine, peer) and not adopts(peer, mine)
    else:
        assert adopts(mine, peer) != adopts(peer, mine)


@given(st.integers(0, 10), st.integers(0, 10), st.integers(0, 10))
def test_of_a_copy_and_a_cancel_exactly_one_side_changes_or_neither_when_expired(
    registered: int, renewed: int, cancelled: int
) -> None:
    """The holder drops it iff the other side does not adopt it (while its lease is live)."""
    holder = instance()
    holder.last_updated_timestamp = START_MS
    holder.lease_info = LeaseInfo(
        registration_timestamp=START_MS + registered,
        last_renewal_timestamp=START_MS + renewed,
        duration_in_secs=90,
    )
    now = START_MS + 60_000
    common = {"now_ms": now, "settle_ms": 1_000}
    at_holder = plan_app(
        "APP",
        {"i-1": holder},
        {},
        our_cancels={},
        their_cancels={"i-1": START_MS + cancelled},
        **common,
    )
    at_other = plan_app(
        "APP",
        {},
        {"i-1": holder},
        our_cancels={"i-1": START_MS + cancelled},
        their_cancels={},
        **common,
    )
    drops = any(isinstance(a, Drop) for a in at_holder.actions)
    adopts = any(isinstance(a, Adopt) for a in at_other.actions)
    assert drops != adopts


def test_an_adoption_that_did_not_take_is_not_repeated() -> None:
    mine, peer = instance(dirty=1), instance(dirty=2)
    for info in (mine, peer):
        info.lease_info = LeaseInfo(
            registration_timestamp=START_MS, last_renewal_timestamp=START_MS
        )
    common = {"our_cancels": {}, "their_cancels": {}, "now_ms": START_MS + 60_000, "settle_ms": 0}

    first = plan_app("APP", {"i-1": mine}, {"i-1": peer}, **common)  # type: ignore[arg-type]
    again = plan_app(
        "APP",
        {"i-1": mine},
        {"i-1": peer},
        adopted_last_round={"i-1": instance_digest(peer)},
        **common,  # type: ignore[arg-type]
    )

    assert len(first.actions) == 1
    assert again.actions == () and again.stuck == 1


@pytest.mark.parametrize("seed", range(8))
def test_three_nodes_losing_random_replications_converge_without_losing_a_registration(
    seed: int,
) -> None:
    rng = random.Random(seed)
    clock, nodes = make_nodes("a", "b", "c")
    last_op: dict[str, str] = {}
    for step in range(300):
        clock.advance(0.01)
        origin = rng.choice(nodes)
        instance_id = f"i-{rng.randrange(40)}"
        others = [n for n in nodes if n is not origin and rng.random() < 0.5]  # others: lost
        present = origin.registry.get_instance("APP", instance_id) is not None
        if present and rng.random() < 0.3:
            assert origin.registry.cancel("APP", instance_id)
            for node in others:
                node.registry.cancel("APP", instance_id, is_replication=True)
            last_op[instance_id] = "cancel"
        elif present and rng.random() < 0.3:
            status = rng.choice([InstanceStatus.DOWN, InstanceStatus.OUT_OF_SERVICE])
            assert origin.registry.status_update("APP", instance_id, status, None)
            for node in others:
                node.registry.status_update("APP", instance_id, status, None, is_replication=True)
            # A status change renews the lease (as Java's does): a write newer than a cancel
            # that never reached this node, so it beats that cancel.
            last_op[instance_id] = "register"
        else:
            register(origin.registry, instance_id=instance_id, dirty=START_MS + step)
            for node in others:
                replicate_register(origin.registry, node.registry, "APP", instance_id)
            last_op[instance_id] = "register"
    clock.advance(SETTLED)

    for _ in range(2):
        for ours in nodes:
            for theirs in nodes:
                if ours is not theirs:
                    report = pull(ours, theirs)
                    assert report.failed == ()

    digests = {node.registry.digest for node in nodes}
    assert len(digests) == 1
    registered = {i for i, op in last_op.items() if op == "register"}
    for node in nodes:
        assert ids(node.registry) == registered
    # And a further round finds nothing to do anywhere.
    for ours in nodes:
        for theirs in nodes:
            if ours is not theirs:
                assert pull(ours, theirs).plans == ()


# -- schedule, trust, stats ----------------------------------------------------------------


def test_each_peer_is_due_once_per_interval_less_jitter_and_never_while_running() -> None:
    clock = ManualClock(START_MS)
    core = AntiEntropy(SETTINGS, clock, random.Random(1))
    core.set_peers(["http://b/eureka/", "http://c/eureka/"])
    assert core.due() == []
    deadline = core.next_deadline()
    assert deadline is not None and 7.5 <= deadline - clock.monotonic() <= 10.0

    clock.advance(10)
    due = core.due()
    assert sorted(due) == ["http://b/eureka/", "http://c/eureka/"]
    assert core.due() == [] and core.next_deadline() is None  # running: not due again
    core.completed("http://b/eureka/", differing=())
    core.failed("http://c/eureka/", "ConnectError")
    for stats in core.stats().values():
        assert stats.rounds == 1
    assert core.stats()["http://c/eureka/"].last_error == "ConnectError"
    deadline = core.next_deadline()
    assert deadline is not None and 7.5 <= deadline - clock.monotonic() <= 10.0

    core.set_peers(["http://b/eureka/"])
    assert list(core.stats()) == ["http://b/eureka/"]


def test_a_fetched_copy_is_trusted_only_when_a_digest_vouches_for_it() -> None:
    copy = {"i-1": instance()}
    body = instance_digest(copy["i-1"])
    assert peer_copy(body, body, body, copy) == copy
    assert peer_copy(body, body + 1, body, copy) is None  # header and body disagree
    assert peer_copy(body, None, body, copy) == copy  # no header: the listing vouches
    assert peer_copy(body + 1, None, body, copy) is None  # stale (read-only cache tier)
    assert peer_copy(0, None, body, copy) == {}  # another region's copy: not local there


def test_stats_say_what_the_last_difference_was() -> None:
    clock, (a, b) = make_nodes("a", "b")
    register(a.registry, app="ORDERS")
    clock.advance(SETTLED)
    pull(b, a)
    pull(b, a)

    stats = b.core.stats()["a"]
    assert (stats.rounds, stats.rounds_equal, stats.instances_adopted) == (2, 1, 1)
    assert stats.apps_repaired == 1
    assert stats.last_difference is not None
    assert stats.last_difference.startswith("1 application(s) differed: ORDERS; adopted 1")


@pytest.mark.parametrize(
    "settings",
    [{"interval_ms": 0}, {"jitter": 1.0}, {"settle_ms": -1}, {"max_apps_per_round": 0}],
)
def test_nonsense_settings_are_refused(settings: dict[str, float]) -> None:
    from eureka.errors import BadInput

    with pytest.raises(BadInput):
        AntiEntropySettings(**settings)  # type: ignore[arg-type]

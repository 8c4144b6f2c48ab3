"""Anti-entropy between peers (issue 10): compare content digests, repair what differs.

Replication is fire-and-forget: a batch that a peer never applied (dropped on the way, its
tasks expired in a full queue, a peer killed mid-batch or cut off) leaves the registries apart
until, at best, the instance's next heartbeat gets a 404. Anti-entropy closes the gap. Every
`interval_ms` (minus up to `jitter` of it, at random, so peers do not move in lockstep) a node
asks each peer for `GET /apps/digests` (docs/design/propagation.md) — one small request, answered
304 when the totals agree. For each application whose digest differs it fetches the peer's copy
(`GET /apps/{app}`) and the peer's recent cancels (`GET /peerreplication/cancelled?apps=`), and
repairs **its own** registry; the peer does the same from its side, so every pair converges
without either pushing anything. Repairs are applied to the registry as replications
(`Registry.register_peer_copy`, `Registry.cancel(is_replication=True)`) and never sent on: no
repair is replicated, so none can come back (no loops).

Who wins, per instance (`plan_app`; the same comparison on both sides, so exactly one side
changes):

* **Both hold it, the copies differ**: the greater `(lastDirtyTimestamp, lastUpdatedTimestamp,
  digest)` wins. `lastDirtyTimestamp` first, as Eureka's own conflict rule (a register keeps the
  strictly newer copy, a heartbeat's 404/409); the server's change time next (an admin status
  change or override removal does not move the client's dirty time); the digest last, only so
  that the order is total. The loser adopts the winner's copy, override and change time
  included, so that the adopted copy ranks exactly as the original.
* **The peer holds it, we do not**: either we cancelled it and the cancel never reached the
  peer, or its registration never reached us. A *cancel* is the only proof of a delete (an
  eviction says only "no renewal reached this node", which a node that still hears the client
  rightly contradicts). So: if we recorded a cancel at or after the peer's last sign of life
  (`max(registrationTimestamp, lastRenewalTimestamp)` of the peer's lease), the cancel wins and
  the peer drops it on its side; otherwise we adopt it — unless the peer's own lease has already
  expired (a copy nobody renews: adopting it would give it a fresh lease, and a zombie that two
  nodes hand back and forth would live forever).
* **We hold it, the peer does not**: the mirror image. If the peer recorded a cancel at or after
  our last sign of life, we apply the cancel (recording the peer's cancel time, not ours);
  otherwise we keep it and the peer adopts it (or, if our lease has expired, our own eviction
  removes it in time — anti-entropy never overrides self-preservation without a cancel).

An acknowledged registration is therefore never dropped: a registration or renewal newer than a
cancel always beats it. A cancelled instance is resurrected at most by a renewal that crossed
the cancel in flight, and then lives at most one lease. Two guards keep repairs from churning:
a difference whose newest side changed less than `settle_ms` ago is left for a later round
(replication is probably carrying it right now), and an adoption that did not take (our copy
still differs from the very copy we adopted last round) is not repeated, but counted as stuck.

Pure: time from the injected clock, jitter from the injected `random.Random`. The asyncio driver
is `server/anti_entropy.py`.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from collections.abc import Collection, Iterable, Mapping, Sequence

import msgspec

from eureka.clock import Clock
from eureka.digest import EMPTY_DIGEST, instance_digest
from eureka.errors import BadInput
from eureka.model import InstanceInfo
from eureka.registry import Registry

__all__ = [
    "Adopt",
    "AdoptReason",
    "AntiEntropy",
    "AntiEntropySettings",
    "AntiEntropyStats",
    "AppPlan",
    "AppliedRepair",
    "Drop",
    "RepairAction",
    "RoundReport",
    "apply_plan",
    "differing_apps",
    "last_sign_of_life_ms",
    "lease_expired",
    "peer_copy",
    "plan_app",
]


@dataclasses.dataclass(frozen=True, slots=True)
class AntiEntropySettings:
    # One round per peer at most this often (0 in the server's configuration: anti-entropy off).
    interval_ms: int = 30_000
    # Each round starts up to this share of the interval early, at random.
    jitter: float = 0.25
    # A difference younger than this is left to replication in flight (capped at half the
    # interval, so that a difference is always repaired by the second round after it appears).
    settle_ms: int = 5_000
    # Applications fetched from one peer per round; the rest wait for the next round.
    max_apps_per_round: int = 1_000

    def __post_init__(self) -> None:
        if self.interval_ms <= 0:
            raise BadInput("anti-entropy interval must be positive")
        if not 0 <= self.jitter < 1:
            raise BadInput("anti-entropy jitter must be in [0, 1)")
        if self.settle_ms < 0 or self.max_apps_per_round < 1:
            raise BadInput("anti-entropy settle time must be >= 0 and apps per round >= 1")

    @property
    def effective_settle_ms(self) -> int:
        return min(self.settle_ms, self.interval_ms // 2)


class AdoptReason(enum.Enum):
    NEWER = "newer"  # both hold it; the peer's copy wins
    MISSING = "missing"  # only the peer holds it, and nothing says it was cancelled


@dataclasses.dataclass(frozen=True, slots=True)
class Adopt:
    """Make the peer's copy ours (`Registry.register_peer_copy`): its content, its override
    (set or removed) and its change time."""

    instance: InstanceInfo
    digest: int
    reason: AdoptReason


@dataclasses.dataclass(frozen=True, slots=True)
class Drop:
    """Apply the peer's cancel, which never reached us, recording when it happened there."""

    app: str
    id: str
    cancelled_ms: int


RepairAction = Adopt | Drop


@dataclasses.dataclass(frozen=True, slots=True)
class AppPlan:
    """What to do about one application that differs, and why the rest is left alone."""

    app: str
    actions: tuple[RepairAction, ...] = ()
    # Differences the peer repairs from its side (our copy wins, or we hold what it lacks).
    ours_win: int = 0
    # Changes younger than the settle time: replication may be carrying them; next round.
    unsettled: int = 0
    # Copies the peer holds whose lease has expired there: never adopted.
    expired: int = 0
    # Copies the peer holds that we cancelled after its last sign of life: the peer drops them.
    cancelled_here: int = 0
    # Adoptions that did not take last round; not repeated.
    stuck: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class AppliedRepair:
    adopted: int
    dropped: int
    failed: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class RoundReport:
    """What one round's repair step did (`AntiEntropy.repair`)."""

    plans: tuple[AppPlan, ...]
    applied: tuple[AppliedRepair, ...]
    untrusted: tuple[str, ...]

    @property
    def adopted(self) -> int:
        return sum(r.adopted for r in self.applied)

    @property
    def dropped(self) -> int:
        return sum(r.dropped for r in self.applied)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(f for r in self.applied for f in r.failed)

    @property
    def repaired_apps(self) -> tuple[str, ...]:
        """Applications in which something changed here (plans with actions, in order)."""
        planned = [p for p in self.plans if p.actions]
        return tuple(
            p.app for p, r in zip(planned, self.applied, strict=True) if r.adopted or r.dropped
        )


class AntiEntropyStats(msgspec.Struct, frozen=True):
    """One peer's anti-entropy, for the status page (epoch ms times)."""

    interval_ms: int
    rounds: int
    # Rounds in which the totals agreed: a single digests request.
    rounds_equal: int
    rounds_failed: int
    # Applications in which a round changed something here, and the instances it changed.
    apps_repaired: int
    instances_adopted: int
    instances_dropped: int
    stuck: int
    # Of the last completed round.
    differing_apps: int
    unsettled: int
    last_round_ms: int | None
    # The last round that found a difference, and what it found.
    last_difference_ms: int | None
    last_difference: str | None
    last_error: str | None
    last_error_ms: int | None


# -- the rule --------------------------------------------------------------------------------


def differing_apps(ours: Mapping[str, int], theirs: Mapping[str, int]) -> list[str]:
    """Applications whose digests differ (an absent application counts as empty), sorted."""
    names = set(ours) | set(theirs)
    return sorted(
        name for name in names if ours.get(name, EMPTY_DIGEST) != theirs.get(name, EMPTY_DIGEST)
    )


def last_sign_of_life_ms(info: InstanceInfo) -> int:
    """The latest moment a node holding this copy heard of the instance: its lease's
    registration or last renewal (as the holder reports them in `leaseInfo`)."""
    lease = info.lease_info
    if lease is None:
        return 0
    return max(lease.registration_timestamp, lease.last_renewal_timestamp)


def lease_expired(info: InstanceInfo, now_ms: int) -> bool:
    """The holder's lease on this copy has run out (or was cancelled), by its own times."""
    lease = info.lease_info
    if lease is None:
        return False
    if lease.eviction_timestamp > 0:
        return True
    return now_ms > lease.last_renewal_timestamp + lease.duration_in_secs * 1000


def peer_copy(
    listed: int,
    header_digest: int | None,
    body_digest: int,
    instances: Mapping[str, InstanceInfo],
) -> Mapping[str, InstanceInfo] | None:
    """The peer's application as fetched, or None when it cannot be trusted this round.

    `listed` is the digest its `/apps/digests` gave; `header_digest` the `X-Eureka-Digest` of
    the fetch (absent when the payload may not be the current local state: Java's read-only
    cache tier, or another region's copy); `body_digest` what the fetched instances digest to.
    """
    if header_digest is not None:
        return instances if header_digest == body_digest else None
    if listed == EMPTY_DIGEST:
        # Not a local application there: what came back is another region's, or nothing.
        return {}
    return instances if body_digest == listed else None


def _rank(info: InstanceInfo, digest: int) -> tuple[int, int, int]:
    return (info.last_dirty_timestamp, info.last_updated_timestamp, digest)


def plan_app(
    app: str,
    ours: Mapping[str, InstanceInfo],
    theirs: Mapping[str, InstanceInfo],
    *,
    our_cancels: Mapping[str, int],
    their_cancels: Mapping[str, int] | None,
    now_ms: int,
    settle_ms: int,
    adopted_last_round: Mapping[str, int] | None = None,
) -> AppPlan:
    """Decide, instance by instance, how to repair our copy of `app` from the peer's.

    `ours`/`theirs`: id → decorated copy (leaseInfo filled in by the holder). `our_cancels` /
    `their_cancels`: id → cancel time (`Registry.cancellations`); None when the peer could not
    say (a peer without the endpoint: then no cancel of its is ever applied here).
    `adopted_last_round`: id → digest of the copy adopted from this peer in its last round.
    """
    adopted_before = adopted_last_round or {}
    settled_before = now_ms - settle_ms
    actions: list[RepairAction] = []
    ours_win = unsettled = expired = cancelled_here = stuck = 0
    for instance_id in sorted(set(ours) | set(theirs)):
        mine = ours.get(instance_id)
        peer = theirs.get(instance_id)
        if peer is None:
            assert mine is not None
            cancelled = None if their_cancels is None else their_cancels.get(instance_id)
            if mine.last_updated_timestamp > settled_before or (
                cancelled is not None and cancelled > settled_before
            ):
                unsettled += 1
            elif cancelled is not None and cancelled >= last_sign_of_life_ms(mine):
                actions.append(Drop(app, instance_id, cancelled))
            else:
                ours_win += 1
            continue
        peer_digest = instance_digest(peer)
        if mine is not None:
            my_digest = instance_digest(mine)
            if my_digest == peer_digest:
                continue
            if (
                mine.last_updated_timestamp > settled_before
                or peer.last_updated_timestamp > settled_before
            ):
                unsettled += 1
                continue
            if _rank(peer, peer_digest) <= _rank(mine, my_digest):
                ours_win += 1
                continue
            reason = AdoptReason.NEWER
        else:
            cancelled = our_cancels.get(instance_id)
            if peer.last_updated_timestamp > settled_before or (
                cancelled is not None and cancelled > settled_before
            ):
                unsettled += 1
                continue
            if cancelled is not None and cancelled >= last_sign_of_life_ms(peer):
                cancelled_here += 1
                continue
            if lease_expired(peer, now_ms):
                expired += 1
                continue
            reason = AdoptReason.MISSING
        if adopted_before.get(instance_id) == peer_digest:
            stuck += 1
            continue
        actions.append(Adopt(peer, peer_digest, reason))
    return AppPlan(app, tuple(actions), ours_win, unsettled, expired, cancelled_here, stuck)


def apply_plan(registry: Registry, plan: AppPlan) -> AppliedRepair:
    """Apply a plan to the registry as replications (never replicated on, never a loop)."""
    adopted = dropped = 0
    failed: list[str] = []
    for action in plan.actions:
        if isinstance(action, Drop):
            if registry.cancel(
                action.app, action.id, is_replication=True, cancelled_ms=action.cancelled_ms
            ):
                dropped += 1
            continue
        info = action.instance
        try:
            registry.validate_registration(plan.app, info)
        except BadInput as error:
            failed.append(f"{plan.app}/{info.id}: {error.reason}")
            continue
        registry.register_peer_copy(info)
        adopted += 1
    return AppliedRepair(adopted, dropped, tuple(failed))


# -- rounds, one peer at a time ----------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Peer:
    due: float
    running: bool = False
    rounds: int = 0
    rounds_equal: int = 0
    rounds_failed: int = 0
    apps_repaired: int = 0
    instances_adopted: int = 0
    instances_dropped: int = 0
    stuck: int = 0
    differing_apps: int = 0
    unsettled: int = 0
    last_round_ms: int | None = None
    last_difference_ms: int | None = None
    last_difference: str | None = None
    last_error: str | None = None
    last_error_ms: int | None = None
    # (app, id) → digest of the copy adopted in the last round.
    adopted: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)


class AntiEntropy:
    """When each peer's next round is due, what to fetch, what to do, and what happened.

    Driver protocol (as `client/scheduler.py`): `due()` → run those rounds → `completed()` or
    `failed()`; sleep until `next_deadline()`. A round is never due again while it runs.
    """

    def __init__(
        self, settings: AntiEntropySettings, clock: Clock, rng: random.Random | None = None
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._peers: dict[str, _Peer] = {}

    # -- schedule

    def set_peers(self, urls: Iterable[str]) -> None:
        """The current peer list: new peers get their first round one (jittered) interval
        from now; gone peers are forgotten."""
        wanted = list(dict.fromkeys(urls))
        for url in list(self._peers):
            if url not in wanted:
                del self._peers[url]
        for url in wanted:
            if url not in self._peers:
                self._peers[url] = _Peer(due=self._next_due())

    def due(self) -> list[str]:
        now = self._clock.monotonic()
        ready = [url for url, p in self._peers.items() if not p.running and p.due <= now]
        for url in ready:
            self._peers[url].running = True
        return ready

    def next_deadline(self) -> float | None:
        waiting = [p.due for p in self._peers.values() if not p.running]
        return min(waiting) if waiting else None

    def _next_due(self) -> float:
        settings = self.settings
        fraction = 1.0 - settings.jitter * self._rng.random()
        return self._clock.monotonic() + settings.interval_ms * fraction / 1000

    # -- one round

    def select_apps(
        self, url: str, ours: Mapping[str, int], theirs: Mapping[str, int]
    ) -> list[str]:
        """The applications to fetch from the peer this round (all that differ, up to the cap;
        a random choice beyond it, so that a persistent difference cannot starve the rest)."""
        apps = differing_apps(ours, theirs)
        limit = self.settings.max_apps_per_round
        if len(apps) > limit:
            apps = sorted(self._rng.sample(apps, limit))
        return apps

    def plan(
        self,
        url: str,
        app: str,
        ours: Mapping[str, InstanceInfo],
        theirs: Mapping[str, InstanceInfo],
        *,
        our_cancels: Mapping[str, int],
        their_cancels: Mapping[str, int] | None,
    ) -> AppPlan:
        peer = self._peers.get(url)
        adopted = {} if peer is None else {i: d for (a, i), d in peer.adopted.items() if a == app}
        return plan_app(
            app,
            ours,
            theirs,
            our_cancels=our_cancels,
            their_cancels=their_cancels,
            now_ms=self._clock.now_ms(),
            settle_ms=self.settings.effective_settle_ms,
            adopted_last_round=adopted,
        )

    def repair(
        self,
        url: str,
        registry: Registry,
        apps: Sequence[str],
        copies: Mapping[str, Mapping[str, InstanceInfo] | None],
        their_cancels: Mapping[str, Mapping[str, int]] | None,
    ) -> RoundReport:
        """The synchronous end of a round: plan each fetched application against `registry`
        as it is now, apply the plans, and complete the round.

        `copies`: app → the peer's instances (`peer_copy`), None where the copy could not be
        trusted; `their_cancels`: the peer's `cancellations`, None if it cannot tell."""
        our_cancels = registry.cancellations(apps)
        plans: list[AppPlan] = []
        applied: list[AppliedRepair] = []
        untrusted: list[str] = []
        for app in apps:
            theirs = copies.get(app)
            if theirs is None:
                untrusted.append(app)
                continue
            application = registry.get_application(app)
            plan = self.plan(
                url,
                app,
                {} if application is None else application.instances_by_id,
                theirs,
                our_cancels=our_cancels.get(app, {}),
                their_cancels=None if their_cancels is None else their_cancels.get(app, {}),
            )
            plans.append(plan)
            if plan.actions:
                applied.append(apply_plan(registry, plan))
        self.completed(url, differing=apps, plans=plans, applied=applied, untrusted=untrusted)
        return RoundReport(tuple(plans), tuple(applied), tuple(untrusted))

    def completed(
        self,
        url: str,
        *,
        differing: Sequence[str],
        plans: Sequence[AppPlan] = (),
        applied: Sequence[AppliedRepair] = (),
        untrusted: Collection[str] = (),
    ) -> None:
        """A round ended: `differing` applications, `plans` made for those fetched, what
        applying them did, and the applications whose copies could not be trusted."""
        peer = self._peers.get(url)
        if peer is None:
            return
        now_ms = self._clock.now_ms()
        peer.running = False
        peer.due = self._next_due()
        peer.rounds += 1
        peer.last_round_ms = now_ms
        peer.differing_apps = len(differing)
        peer.unsettled = sum(p.unsettled for p in plans) + len(untrusted)
        peer.stuck += sum(p.stuck for p in plans)
        if not differing:
            peer.rounds_equal += 1
            peer.adopted = {}
            return
        peer.apps_repaired += sum(1 for r in applied if r.adopted or r.dropped)
        peer.instances_adopted += sum(r.adopted for r in applied)
        peer.instances_dropped += sum(r.dropped for r in applied)
        peer.adopted = {
            (plan.app, action.instance.id): action.digest
            for plan in plans
            for action in plan.actions
            if isinstance(action, Adopt)
        }
        peer.last_difference_ms = now_ms
        peer.last_difference = _describe(differing, plans, applied, untrusted)
        failures = [f for r in applied for f in r.failed]
        if failures:
            peer.last_error = f"repair refused: {failures[0]}"
            peer.last_error_ms = now_ms

    def failed(self, url: str, reason: str) -> None:
        peer = self._peers.get(url)
        if peer is None:
            return
        peer.running = False
        peer.due = self._next_due()
        peer.rounds += 1
        peer.rounds_failed += 1
        peer.last_error = reason
        peer.last_error_ms = self._clock.now_ms()

    def stats(self) -> dict[str, AntiEntropyStats]:
        interval = self.settings.interval_ms
        return {
            url: AntiEntropyStats(
                interval_ms=interval,
                rounds=p.rounds,
                rounds_equal=p.rounds_equal,
                rounds_failed=p.rounds_failed,
                apps_repaired=p.apps_repaired,
                instances_adopted=p.instances_adopted,
                instances_dropped=p.instances_dropped,
                stuck=p.stuck,
                differing_apps=p.differing_apps,
                unsettled=p.unsettled,
                last_round_ms=p.last_round_ms,
                last_difference_ms=p.last_difference_ms,
                last_difference=p.last_difference,
                last_error=p.last_error,
                last_error_ms=p.last_error_ms,
            )
            for url, p in self._peers.items()
        }


def _describe(
    differing: Sequence[str],
    plans: Sequence[AppPlan],
    applied: Sequence[AppliedRepair],
    untrusted: Collection[str],
) -> str:
    shown = ", ".join(differing[:5]) + (
        f" (+{len(differing) - 5} more)" if len(differing) > 5 else ""
    )
    adopted = sum(r.adopted for r in applied)
    dropped = sum(r.dropped for r in applied)
    theirs = sum(p.ours_win for p in plans)
    parts = [f"{len(differing)} application(s) differed: {shown}"]
    parts.append(f"adopted {adopted}, dropped {dropped}, left to the peer {theirs}")
    unsettled = sum(p.unsettled for p in plans) + len(untrusted)
    if unsettled:
        parts.append(f"{unsettled} still settling")
    expired = sum(p.expired for p in plans)
    if expired:
        parts.append(f"{expired} expired there, not adopted")
    return "; ".join(parts)

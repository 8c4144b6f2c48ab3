"""The watching client's cursor and its operations (docs/design/propagation.md), pure.

A server of ours advertises `X-Eureka-Features: cursor,watch,digest,subset` and stamps its
registry reads with `X-Eureka-Epoch` (its revision space), `X-Eureka-Revision` and
`X-Eureka-Digest` (the content digest of what the response leads to). `Cursor` holds what the
client knows of them — the epoch, the revision its registry reflects, the server's digest — and
runs the operations that keep the registry current:

* `watch_once()`: one long-poll `GET apps/delta?since=R&wait=S` (header `X-Eureka-Epoch: E`),
  held by the server until a change after R exists or S seconds pass (then 304). The answer is
  merged by `ClientState.apply_delta_payload`, the path every delta takes, and verified against
  the local view's incrementally kept digest and the reconcile hash.
* `poll_once()`: the same request without `wait` — what `refresh()` sends while the watch is off
  or failing (a proxy that cuts long-held requests, say).
* `repair_by_digest()`: on a digest or hash mismatch, a 410 (the cursor fell out of the server's
  log, or is from another epoch: a restart, a failover) or a missing cursor: `GET apps/digests`,
  then `GET apps/{app}` for the applications whose digest differs, installed through the same
  merge, and removal of those the server no longer has. A full fetch only when the epoch changed
  *and* more than `full_fetch_share` of the applications differ. Failing over to a peer whose
  registry is equal costs one digests request.
* `subscribe(app)`: with a subset (`apps=A,B`), add an application at run time.

Nothing here performs I/O: the ops are generators driven by `driver.py`, as `fetch_registry` is.
Against a server without the features header (a Java server) none of this runs and the client
polls legacy deltas exactly as Java does (`state.py`).

Deliberate choices:
* the watch is used only where a digest can be verified: not with compact payloads, remote
  regions, single-VIP fetching or disabled deltas (the configuration turns it off there);
* a 304's revision advances the cursor (with `apps=` the server's revision moves with other
  applications' changes, and the cursor must not fall behind the server's log because of them);
* after a repair the cursor is the digests' revision: the next round re-delivers the changes the
  per-application fetches already saw, and the merge applies them again harmlessly, so there is
  no window in which a change could be missed.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from eureka.client.events import Event, FetchKind
from eureka.client.lag import LagRecorder, LagStats
from eureka.client.messages import Interrupted, Op, Request, Response, TransportError
from eureka.client.payloads import decode_application, decode_registry
from eureka.digest import parse_digest
from eureka.errors import BadInput
from eureka.model import Application

if TYPE_CHECKING:
    from eureka.client.state import ClientState

__all__ = [
    "Cursor",
    "Feature",
    "RepairReason",
    "RepairResult",
    "Subscription",
    "WatchCounters",
    "WatchOutcome",
    "WatchResult",
    "WatchSettings",
    "WatchStats",
    "parse_features",
]

log = logging.getLogger("eureka.client")

FEATURES_HEADER = "x-eureka-features"
EPOCH_HEADER = "x-eureka-epoch"
REVISION_HEADER = "x-eureka-revision"
DIGEST_HEADER = "x-eureka-digest"

# Statuses after which a response's headers describe the server (a 5xx from a proxy does not).
_DESCRIBES_SERVER = frozenset({200, 304, 404, 410})
_MAX_WAIT_SECONDS = 60.0  # the contract caps `wait`; asking for more only holds a longer timeout


class Feature(enum.StrEnum):
    """`X-Eureka-Features` values, spelled as on the wire."""

    CURSOR = "cursor"
    WATCH = "watch"
    DIGEST = "digest"
    SUBSET = "subset"


def parse_features(response: Response) -> frozenset[str]:
    raw = response.headers.get(FEATURES_HEADER, "")
    return frozenset(part.strip().lower() for part in raw.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """`eureka.client.watch.*` as the core needs it (see `ClientConfig.fetch_settings`)."""

    enabled: bool = True
    wait_seconds: float = 30.0
    # Added to wait + the server's jitter (≤ wait/16) for the long-poll's read timeout.
    timeout_margin_seconds: float = 8.0
    # With `subset`, only these applications (plus the own one and those subscribed at run
    # time) are fetched and watched; an empty tuple then means "none yet".
    subset: bool = False
    applications: tuple[str, ...] = ()
    full_fetch_share: float = 0.5
    fallback_after_failures: int = 3
    retry_max_seconds: float = 30.0


class WatchOutcome(enum.Enum):
    CHANGED = "changed"  # a delta with changes was merged
    UNCHANGED = "unchanged"  # 304, or an empty delta
    REPAIRED = "repaired"  # a digest repair ran (after a mismatch, a 410 or without a cursor)
    DISCARDED = "discarded"  # another fetch applied a result first: the next round asks again
    INTERRUPTED = "interrupted"  # the held request was aborted on purpose
    UNSUPPORTED = "unsupported"  # the answering server lacks the features: poll instead
    FAILED = "failed"


class RepairReason(enum.Enum):
    DIGEST_MISMATCH = "digest mismatch"
    HASH_MISMATCH = "reconcile hash mismatch"
    CURSOR_GONE = "cursor gone (410)"
    EPOCH_CHANGED = "epoch changed"
    NO_CURSOR = "no cursor yet"


@dataclass(frozen=True, slots=True)
class RepairResult:
    reason: RepairReason
    full_fetch: bool
    fetched: tuple[str, ...]  # applications fetched one by one
    removed: tuple[str, ...]  # applications dropped (the server has none of their instances)
    differing: int
    compared: int
    epoch_changed: bool
    verified: bool | None  # the local digest equals the server's total (None: not checkable)


@dataclass(frozen=True, slots=True)
class WatchResult:
    outcome: WatchOutcome
    changes: int = 0
    revision: int | None = None
    repair: RepairResult | None = None
    events: tuple[Event, ...] = ()
    error: str | None = None
    retry_in: float = 0.0  # seconds the caller should wait before the next round

    @property
    def ok(self) -> bool:
        return self.outcome not in (WatchOutcome.FAILED, WatchOutcome.UNSUPPORTED)


@dataclass(frozen=True, slots=True)
class Subscription:
    known: bool  # the application is in the local registry now
    added: bool  # it was added to the watched subset: the held watch should be restarted
    events: tuple[Event, ...] = ()


@dataclass(slots=True)
class WatchCounters:
    rounds: int = 0
    polls: int = 0
    changes: int = 0
    unchanged: int = 0
    cursor_gone: int = 0
    digest_mismatches: int = 0
    hash_mismatches: int = 0
    repairs: int = 0
    repair_full_fetches: int = 0
    repair_app_fetches: int = 0
    repair_digest_requests: int = 0
    epoch_changes: int = 0
    discarded: int = 0
    failures: int = 0
    watch_failures_in_row: int = 0
    subscriptions: int = 0


@dataclass(frozen=True, slots=True)
class WatchStats:
    watching: bool  # the watch keeps the registry current (not disabled, unsupported or failing)
    epoch: str | None
    revision: int | None
    subset: tuple[str, ...] | None  # None: every application
    rounds: int
    polls: int
    changes: int
    unchanged: int
    cursor_gone: int
    digest_mismatches: int
    hash_mismatches: int
    repairs: int
    repair_full_fetches: int
    repair_app_fetches: int
    repair_digest_requests: int
    epoch_changes: int
    discarded: int
    failures: int
    subscriptions: int
    lag: LagStats = field(default_factory=lambda: LagRecorder().stats())


class _DigestsDoc(msgspec.Struct, forbid_unknown_fields=False):
    epoch: str
    revision: int
    digest: str
    applications: dict[str, str]


_digests_decoder = msgspec.json.Decoder(_DigestsDoc)


class _Failed(Exception):
    pass


class Cursor:
    """Epoch, revision and digest of the server's registry as this client holds it, plus the ops.

    Owned by a `ClientState` (which constructs it); not thread-safe, like the state.
    """

    def __init__(self, state: ClientState, settings: WatchSettings, own_app: str | None) -> None:
        self._state = state
        self.settings = settings
        self.features: frozenset[str] | None = None  # None: no registry response seen yet
        self.epoch: str | None = None
        self.revision: int | None = None
        self.server_digest: str | None = None
        self.counters = WatchCounters()
        self.lag = LagRecorder()
        subset: set[str] | None = None
        if settings.subset or settings.applications:
            subset = {a.strip().upper() for a in settings.applications if a.strip()}
            if own_app:
                subset.add(own_app.upper())  # its status changes are reported (StatusChange)
        self._subset = subset
        self._missing: dict[str, float] = {}  # application → monotonic time its 404 expires
        # A full payload the server could not describe by a revision (its read-only cache tier,
        # remote regions merged in): the contract says keep polling legacy deltas then.
        self._undescribed = False

    # ---- what the server supports -------------------------------------------------------------

    def _has(self, *wanted: Feature) -> bool:
        features = self.features
        return features is not None and all(f.value in features for f in wanted)

    def watching(self) -> bool:
        """Whether a watch loop should run (it repairs first if there is no cursor yet)."""
        return (
            self.settings.enabled
            and not self._undescribed
            and self._has(Feature.CURSOR, Feature.WATCH, Feature.DIGEST)
        )

    def usable(self) -> bool:
        """Whether a refresh may ask `since=R` instead of a legacy delta."""
        return (
            self.settings.enabled
            and self._has(Feature.CURSOR, Feature.DIGEST)
            and self.epoch is not None
            and self.revision is not None
        )

    def should_poll(self) -> bool:
        """Whether the periodic refresh must fetch: no watch, or one that keeps failing."""
        if not self.watching():
            return True
        return self.counters.watch_failures_in_row >= self.settings.fallback_after_failures

    def subset_active(self) -> bool:
        """A subset is configured and the server is not known to ignore it."""
        return (
            self._subset is not None
            and self.settings.enabled
            and (self.features is None or Feature.SUBSET.value in self.features)
        )

    @property
    def subset(self) -> frozenset[str] | None:
        return None if self._subset is None else frozenset(self._subset)

    def subset_params(self) -> dict[str, str]:
        if not self.subset_active():
            return {}
        assert self._subset is not None
        return {"apps": ",".join(sorted(self._subset))}

    # ---- what responses tell ------------------------------------------------------------------

    def observe(self, response: Response) -> None:
        """Every registry response says whether its server has the features."""
        if response.status in _DESCRIBES_SERVER:
            self.features = parse_features(response)

    def observe_full(self, response: Response, applied: bool) -> None:
        """A full fetch: the registry it installed is the server's at its revision."""
        self.observe(response)
        if not applied:
            return
        epoch = response.headers.get(EPOCH_HEADER)
        revision = _int_header(response, REVISION_HEADER)
        if epoch and revision is not None and self._has(Feature.CURSOR):
            if self.epoch is not None and epoch != self.epoch:
                self.counters.epoch_changes += 1
            self.epoch, self.revision = epoch, revision
            self.server_digest = response.headers.get(DIGEST_HEADER)
            self._undescribed = False
        else:
            self.epoch = self.revision = self.server_digest = None
            self._undescribed = self._has(Feature.CURSOR)

    # ---- requests -----------------------------------------------------------------------------

    def delta_request(self, wait: float | None) -> Request:
        assert self.epoch is not None and self.revision is not None
        params = {"since": str(self.revision), **self.subset_params()}
        headers = {"X-Eureka-Epoch": self.epoch}
        if wait is None:
            return Request("GET", "apps/delta", params, headers)
        wait = min(max(wait, 0.0), _MAX_WAIT_SECONDS)
        params["wait"] = f"{wait:g}"
        timeout = wait + wait / 16 + self.settings.timeout_margin_seconds
        return Request("GET", "apps/delta", params, headers, timeout=timeout, long_poll=True)

    def digests_request(self) -> Request:
        return Request("GET", "apps/digests", self.subset_params())

    # ---- operations ---------------------------------------------------------------------------

    def watch_once(self) -> Op[WatchResult]:
        """One long-poll round; never raises for I/O problems (see `WatchResult.retry_in`)."""
        return self._round(self.settings.wait_seconds)

    def poll_once(self) -> Op[WatchResult]:
        """One `since=R` delta without waiting (a refresh while the watch is off or failing)."""
        return self._round(None)

    def repair_by_digest(
        self, reason: RepairReason = RepairReason.DIGEST_MISMATCH
    ) -> Op[WatchResult]:
        """A repair on demand (also what the rounds run after a mismatch or a 410)."""
        return self._guarded(self._repair(reason), FetchKind.WATCH, watch=False)

    def _round(self, wait: float | None) -> Op[WatchResult]:
        c = self.counters
        if wait is None:
            c.polls += 1
        else:
            c.rounds += 1
        if self.epoch is None or self.revision is None:
            body = self._repair(RepairReason.NO_CURSOR)
        else:
            body = self._delta(wait)
        kind = FetchKind.DELTA if wait is None else FetchKind.WATCH
        clock = self._state.clock
        started = clock.monotonic()
        result = yield from self._guarded(body, kind, watch=wait is not None)
        if wait is not None and result.outcome is WatchOutcome.UNCHANGED:
            # A 304 long before the wait is up (a server or proxy that does not hold requests)
            # must not turn the watch into a busy loop.
            floor = min(1.0, wait / 2)
            elapsed = clock.monotonic() - started
            if elapsed < floor:
                result = dataclasses.replace(result, retry_in=floor - elapsed)
        return result

    def _guarded(self, body: Op[WatchResult], kind: FetchKind, *, watch: bool) -> Op[WatchResult]:
        state, c = self._state, self.counters
        try:
            result = yield from body
        except Interrupted:
            return WatchResult(WatchOutcome.INTERRUPTED, events=tuple(state.take_events()))
        except (TransportError, _Failed, BadInput) as exc:
            c.failures += 1
            if watch:
                c.watch_failures_in_row += 1
            log.warning("registry watch failed: %s", exc)
            return WatchResult(
                WatchOutcome.FAILED,
                error=str(exc) or type(exc).__name__,
                events=tuple(state.take_events()),
                retry_in=self._backoff(),
            )
        if result.outcome is WatchOutcome.UNSUPPORTED:
            return result
        if watch:
            c.watch_failures_in_row = 0
        if result.outcome is WatchOutcome.DISCARDED:
            return result
        if result.repair is not None and result.repair.full_fetch:
            kind = FetchKind.FULL
        return WatchResult(
            result.outcome,
            result.changes,
            self.revision,
            result.repair,
            state.refreshed_events(kind),
        )

    def _backoff(self) -> float:
        """Doubling from 1 s up to `retry_max_seconds`, with jitter so clients spread out."""
        cap = max(self.settings.retry_max_seconds, 0.001)
        n = max(self.counters.watch_failures_in_row, 1)
        delay = min(cap, min(1.0, cap) * 2.0 ** (n - 1))
        return delay / 2 + self._state.rng.random() * delay / 2

    def _delta(self, wait: float | None) -> Op[WatchResult]:
        state, c = self._state, self.counters
        generation = state.generation
        response = yield self.delta_request(wait)
        self.observe(response)
        if not self._has(Feature.CURSOR, Feature.DIGEST):
            log.info("the server no longer advertises the watch; polling instead")
            return WatchResult(WatchOutcome.UNSUPPORTED)
        status = response.status
        if status == 410:
            c.cursor_gone += 1
            log.info("cursor %s@%s gone: %s", self.revision, self.epoch, _reason(response))
            return (yield from self._repair(RepairReason.CURSOR_GONE))
        if status not in (200, 304):
            raise _Failed(f"watch answered {status}")
        epoch = response.headers.get(EPOCH_HEADER)
        if epoch is not None and epoch != self.epoch:
            return (yield from self._repair(RepairReason.EPOCH_CHANGED))
        revision = _int_header(response, REVISION_HEADER)
        digest = response.headers.get(DIGEST_HEADER)
        if status == 304:
            if generation != state.generation:
                c.discarded += 1
                return WatchResult(WatchOutcome.DISCARDED)
            if revision is not None and self.revision is not None and revision >= self.revision:
                self.revision = revision
            if digest is not None:
                self.server_digest = digest
            c.unchanged += 1
            if not self._digest_matches(digest):
                c.digest_mismatches += 1
                return (yield from self._repair(RepairReason.DIGEST_MISMATCH))
            return self._finish(WatchOutcome.UNCHANGED, 0)
        delta = decode_registry(response)
        outcome = state.apply_delta_payload(delta, generation)
        if not outcome.applied:
            c.discarded += 1
            return WatchResult(WatchOutcome.DISCARDED)
        now = state.clock.now_ms()
        for instance in delta.iter_instances():
            if instance.action_type is not None:
                self.lag.record(now, instance.last_updated_timestamp)
        self.revision = revision if revision is not None else delta.version
        self.server_digest = digest
        c.changes += outcome.changes
        if not self._digest_matches(digest):
            c.digest_mismatches += 1
            log.info("digest mismatch after a delta to revision %s; repairing", self.revision)
            return (yield from self._repair(RepairReason.DIGEST_MISMATCH))
        if not outcome.hash_matches and outcome.server_hash is not None:
            c.hash_mismatches += 1
            log.info(
                "reconcile hash mismatch after a delta: local %r, server %r; repairing",
                outcome.local_hash,
                outcome.server_hash,
            )
            return (yield from self._repair(RepairReason.HASH_MISMATCH))
        if outcome.changes:
            return self._finish(WatchOutcome.CHANGED, outcome.changes)
        c.unchanged += 1
        return self._finish(WatchOutcome.UNCHANGED, 0)

    def _digest_matches(self, digest: str | None) -> bool:
        if digest is None:
            return True  # nothing to verify against
        expected = parse_digest(digest)
        return expected is not None and expected == self._state.local.digests().total

    def _repair(self, reason: RepairReason) -> Op[WatchResult]:
        state, c = self._state, self.counters
        c.repairs += 1
        generation = state.generation
        response = yield self.digests_request()
        c.repair_digest_requests += 1
        self.observe(response)
        if response.status != 200:
            raise _Failed(f"digests answered {response.status}")
        doc = _decode_digests(response)
        epoch_changed = self.epoch != doc.epoch
        local = state.local.digests().apps()
        server: dict[str, int] = {}
        for name, text in doc.applications.items():
            value = parse_digest(text)
            if value is None:
                raise BadInput(f"digests: not a digest for {name}: {text!r}")
            server[name.upper()] = value
        names = set(local) | set(server)
        differing = sorted(n for n in names if local.get(n) != server.get(n))
        share = len(differing) / len(names) if names else 0.0
        if epoch_changed and differing and share > self.settings.full_fetch_share:
            log.info(
                "repair (%s): %d of %d applications differ on a new epoch; full fetch",
                reason.value,
                len(differing),
                len(names),
            )
            c.repair_full_fetches += 1
            if self.epoch is not None:
                c.epoch_changes += 1
            applied = yield from state.fetch_full_op("repair by digest")
            result = RepairResult(
                reason, True, (), (), len(differing), len(names), epoch_changed, None
            )
            if not applied:
                c.discarded += 1
                return WatchResult(WatchOutcome.DISCARDED, repair=result)
            return self._finish(WatchOutcome.REPAIRED, 0, result)
        replacements: dict[str, Application | None] = {}
        fetched: list[str] = []
        checkable = True
        for name in differing:
            if name not in server:
                replacements[name] = None
                continue
            reply = yield Request("GET", f"apps/{name}")
            c.repair_app_fetches += 1
            fetched.append(name)
            self.observe(reply)
            if reply.headers.get(EPOCH_HEADER, doc.epoch) != doc.epoch:
                raise _Failed("another server answered during the repair")
            if reply.status == 404:
                replacements[name] = None
                continue
            if reply.status != 200:
                raise _Failed(f"application fetch answered {reply.status}")
            replacements[name] = decode_application(reply)
            if _int_header(reply, REVISION_HEADER) != doc.revision:
                checkable = False  # it changed since the digests: the next round verifies
        applied = state.install_applications(replacements, generation, version=doc.revision)
        removed = tuple(n for n, app in replacements.items() if app is None)
        if not applied:
            c.discarded += 1
            return WatchResult(WatchOutcome.DISCARDED)
        if epoch_changed and self.epoch is not None:
            c.epoch_changes += 1
        self.epoch, self.revision, self.server_digest = doc.epoch, doc.revision, doc.digest
        verified: bool | None = None
        if checkable:
            verified = self._digest_matches(doc.digest)
            if not verified:
                log.warning("the registry still differs from the server's after a repair")
        log.info(
            "repair (%s): %d of %d applications differed; fetched %s, removed %s",
            reason.value,
            len(differing),
            len(names),
            fetched or "none",
            list(removed) or "none",
        )
        result = RepairResult(
            reason,
            False,
            tuple(fetched),
            removed,
            len(differing),
            len(names),
            epoch_changed,
            verified,
        )
        return self._finish(WatchOutcome.REPAIRED, len(differing), result)

    @staticmethod
    def _finish(
        outcome: WatchOutcome, changes: int, repair: RepairResult | None = None
    ) -> WatchResult:
        return WatchResult(outcome, changes, repair=repair)

    # ---- subsets ------------------------------------------------------------------------------

    def subscribe(self, app: str) -> Op[Subscription]:
        """Add `app` to the watched subset and fetch it; never raises for I/O problems."""
        state = self._state
        name = app.strip().upper()
        known = state.local.get_application(name) is not None
        if not name or self._subset is None or not self.subset_active() or name in self._subset:
            return Subscription(known, False)
        now = state.clock.monotonic()
        if self._missing.get(name, 0.0) > now:
            return Subscription(False, False)
        try:
            response = yield Request("GET", f"apps/{name}")
            self.observe(response)
            if response.status == 404:
                self._missing[name] = now + self.settings.retry_max_seconds
                return Subscription(False, False)
            if response.status != 200:
                raise _Failed(f"application fetch answered {response.status}")
            application = decode_application(response)
        except (TransportError, _Failed, BadInput) as exc:
            log.warning("cannot subscribe to %s: %s", name, exc)
            return Subscription(known, False)
        self._subset.add(name)
        self._missing.pop(name, None)
        self.counters.subscriptions += 1
        # No generation check: no other fetch can have brought this application (it was not
        # watched), and without it the watch would never learn of its older instances.
        version = state.local.registry.version
        state.install_applications({name: application}, state.generation, version=version)
        known = state.local.get_application(name) is not None
        return Subscription(known, True, tuple(state.take_events()))

    # ---- statistics ---------------------------------------------------------------------------

    def stats(self) -> WatchStats:
        c = self.counters
        return WatchStats(
            watching=self.watching() and not self.should_poll(),
            epoch=self.epoch,
            revision=self.revision,
            subset=None if not self.subset_active() else tuple(sorted(self._subset or ())),
            rounds=c.rounds,
            polls=c.polls,
            changes=c.changes,
            unchanged=c.unchanged,
            cursor_gone=c.cursor_gone,
            digest_mismatches=c.digest_mismatches,
            hash_mismatches=c.hash_mismatches,
            repairs=c.repairs,
            repair_full_fetches=c.repair_full_fetches,
            repair_app_fetches=c.repair_app_fetches,
            repair_digest_requests=c.repair_digest_requests,
            epoch_changes=c.epoch_changes,
            discarded=c.discarded,
            failures=c.failures,
            subscriptions=c.subscriptions,
            lag=self.lag.stats(),
        )


def _int_header(response: Response, name: str) -> int | None:
    raw = response.headers.get(name)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def _reason(response: Response) -> str:
    return response.body[:200].decode("utf-8", "replace").strip() or str(response.status)


def _decode_digests(response: Response) -> _DigestsDoc:
    try:
        return _digests_decoder.decode(response.body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise BadInput(f"invalid digests document: {str(exc)[:200]}") from None

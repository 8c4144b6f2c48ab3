"""The discovery client's registry core: pure decisions of `fetchRegistry` and friends (§10.2–10.6).

`ClientState` holds the local registry view (and one per fetched remote region) and decides, once,
everything the Java `DiscoveryClient` decides when it refreshes its cache: full or delta, whether a
result may be applied (the fetch generation), how a delta is merged, when the reconcile hash forces
a full fetch, which events to report. It never performs I/O: `fetch_registry()` is a generator that
yields the `Request`s it needs and receives their `Response`s (a transport failure is thrown into
it as `TransportError`). The async and sync clients drive the same generator (see `driver.py`).

Against a server that advertises the watch features (docs/design/propagation.md), `cursor` holds
the epoch and revision and runs the cursor operations (`cursor.py`); every merge still goes through
`install_full` / `apply_delta_payload` here. Without those features nothing changes.

Differences from Java, all deliberate:
* a delta's instance never brings its `Application` object along (§12 item 18, see `merge.py`);
* derived views are updated per changed instance, so a delta costs in proportion to its size;
* after a full fetch the remote-region views are rebuilt, not added to (Java keeps stale ones);
* a reconcile whose full fetch fails leaves the registry marked "full fetch next time", since it
  is known to disagree with the server (Java carries on with deltas).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from eureka.client.cursor import Cursor, WatchOutcome, WatchSettings
from eureka.client.diff import RegistryDiff, diff_registries
from eureka.client.events import CacheRefreshed, Event, FetchKind, StatusChange, instance_event
from eureka.client.merge import Change, merge_delta
from eureka.client.messages import Op, Request, Response, TransportError
from eureka.client.payloads import decode_registry
from eureka.client.regions import RegionMapper
from eureka.client.views import RegistryView, WorkMeter
from eureka.clock import Clock
from eureka.digest import instance_digest
from eureka.errors import BadInput
from eureka.model import ActionType, Application, Applications, InstanceInfo, InstanceStatus
from eureka.reconcile import hash_from_counts

__all__ = [
    "ClientState",
    "DeltaOutcome",
    "FetchCounters",
    "FetchResult",
    "FetchSettings",
    "FullFetchReason",
    "Op",
]

log = logging.getLogger("eureka.client")


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """The part of the client configuration the registry core needs (§10.12 defaults)."""

    disable_delta: bool = False
    registry_refresh_single_vip_address: str | None = None
    filter_only_up_instances: bool = True
    log_delta_diff: bool = False
    fetch_remote_regions_registry: tuple[str, ...] = ()
    region: str = "us-east-1"
    availability_zones: Mapping[str, Sequence[str]] = field(default_factory=dict)
    watch: WatchSettings = field(default_factory=WatchSettings)


class FullFetchReason:
    """Why a fetch is (or became) a full one; strings so that logs and stats read naturally."""

    DELTA_DISABLED = "delta disabled"
    SINGLE_VIP = "single-VIP mode"
    FORCED = "forced"
    EMPTY_REGISTRY = "local registry empty"
    NO_VERSION = "local version -1"
    DELTA_UNAVAILABLE = "delta refused or empty"
    RECONCILE = "reconcile after hash mismatch"
    RECONCILE_FAILED = "previous reconcile failed"


@dataclass(frozen=True, slots=True)
class DeltaOutcome:
    applied: bool  # False: another fetch applied a result first (generation moved on)
    changes: int
    local_hash: str
    server_hash: str | None

    @property
    def hash_matches(self) -> bool:
        return self.local_hash == self.server_hash


@dataclass(frozen=True, slots=True)
class FetchResult:
    ok: bool
    kind: FetchKind | None = None  # the fetch that produced the registry now held
    applied: bool = False
    full_reason: str | None = None
    reconciled: bool = False
    diff: RegistryDiff | None = None
    events: tuple[Event, ...] = ()
    error: str | None = None


@dataclass(slots=True)
class FetchCounters:
    full_fetches: int = 0
    delta_fetches: int = 0
    reconcile_mismatches: int = 0
    fetch_failures: int = 0
    discarded_results: int = 0
    last_successful_fetch_ms: int | None = None


class _FetchFailed(Exception):
    pass


class ClientState:
    """Local registry views + fetch decisions. Not thread-safe: callers serialise access."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        clock: Clock,
        rng: random.Random | None = None,
        own_app: str | None = None,
        own_id: str | None = None,
    ) -> None:
        self.settings = settings = settings or FetchSettings()
        self.clock = clock
        self.rng = rng or random.Random()
        self.meter = WorkMeter()
        self.counters = FetchCounters()
        self.regions = RegionMapper(
            settings.region, settings.fetch_remote_regions_registry, settings.availability_zones
        )
        self._own = (own_app.upper(), own_id) if own_app and own_id else None
        self._last_own_status = InstanceStatus.UNKNOWN
        self._generation = 0
        self._force_full_next: str | None = None
        # Instance events (`InstanceAdded/Removed/Changed`) are collected only when asked for
        # (a listener wants them); the ops hand them out with their results.
        self.instance_events = False
        self._events: list[Event] = []
        self.cursor = Cursor(self, settings.watch, own_app)
        self.local = self._view(Applications())
        self.remote: dict[str, RegistryView] = {}

    # ---- decisions ----------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return self._generation

    def full_fetch_reason(self, force_full: bool = False) -> str | None:
        """None for a delta fetch, else why it must be full (§10.2)."""
        s = self.settings
        if s.disable_delta:
            return FullFetchReason.DELTA_DISABLED
        if s.registry_refresh_single_vip_address:
            return FullFetchReason.SINGLE_VIP
        if force_full:
            return FullFetchReason.FORCED
        if self._force_full_next is not None:
            return self._force_full_next
        if self.cursor.usable():
            return None  # the cursor knows the registry is the server's, even an empty one
        registry = self.local.registry
        if not registry.applications_by_name:
            return FullFetchReason.EMPTY_REGISTRY
        if registry.version == -1:
            return FullFetchReason.NO_VERSION
        return None

    def reconcile_hash(self) -> str:
        """The client's hash: local plus every remote-region registry, all statuses (§5.2)."""
        if not self.remote:
            return hash_from_counts(self.local.status_counts)
        counts: dict[InstanceStatus, int] = dict(self.local.status_counts)
        for view in self.remote.values():
            for status, n in view.status_counts.items():
                counts[status] = counts.get(status, 0) + n
        return hash_from_counts(counts)

    # ---- requests -----------------------------------------------------------------------------

    def _params(self) -> dict[str, str]:
        regions = self.settings.fetch_remote_regions_registry
        return {"regions": ",".join(regions)} if regions else {}

    def full_request(self) -> Request:
        vip = self.settings.registry_refresh_single_vip_address
        path = f"vips/{vip}" if vip else "apps/"
        return Request("GET", path, {**self._params(), **self.cursor.subset_params()})

    def delta_request(self) -> Request:
        return Request("GET", "apps/delta", self._params())

    # ---- the fetch operation ------------------------------------------------------------------

    def fetch_registry(self, force_full: bool = False) -> Op[FetchResult]:
        """One cache refresh as Java's `fetchRegistry` does it; never raises for I/O problems."""
        reason = self.full_fetch_reason(force_full)
        if reason is None and self.cursor.usable():
            return (yield from self._poll_cursor())
        try:
            if reason is not None:
                applied = yield from self._fetch_full(reason)
                result = FetchResult(True, FetchKind.FULL, applied, reason)
            else:
                result = yield from self._fetch_delta()
        except (TransportError, _FetchFailed, BadInput) as exc:
            self.counters.fetch_failures += 1
            log.warning("registry fetch failed: %s", exc)
            return FetchResult(False, error=str(exc) or type(exc).__name__)
        return FetchResult(
            True,
            result.kind,
            result.applied,
            result.full_reason,
            result.reconciled,
            result.diff,
            self.refreshed_events(result.kind or FetchKind.FULL),
        )

    def _poll_cursor(self) -> Op[FetchResult]:
        """A refresh against a server with cursors: `since=R`, repaired by digest if need be."""
        self.counters.delta_fetches += 1
        watched = yield from self.cursor.poll_once()
        if not watched.ok:
            self.counters.fetch_failures += 1
            if watched.outcome is WatchOutcome.UNSUPPORTED:
                # Another kind of server answers now (a Java peer): from now on fetch as Java.
                self._force_full_next = FullFetchReason.DELTA_UNAVAILABLE
            return FetchResult(False, events=watched.events, error=watched.error)
        applied = watched.outcome is not WatchOutcome.DISCARDED
        full = watched.repair is not None and watched.repair.full_fetch
        kind = FetchKind.FULL if full else FetchKind.DELTA
        return FetchResult(True, kind, applied, events=watched.events)

    def fetch_full_op(self, reason: str) -> Op[bool]:
        """A full fetch for another op (a repair that found too much changed); raises on failure."""
        return self._fetch_full(reason)

    def refreshed_events(self, kind: FetchKind) -> tuple[Event, ...]:
        """The events that close a successful fetch: collected instance events, `CacheRefreshed`,
        and `StatusChange` if the registry now shows the own instance with another status."""
        now = self.clock.now_ms()
        self.counters.last_successful_fetch_ms = now
        events = self.take_events()
        events.append(CacheRefreshed(kind, now, self.instance_count()))
        status_change = self._own_status_change()
        if status_change is not None:
            events.append(status_change)
        return tuple(events)

    def take_events(self) -> list[Event]:
        """The instance events collected since the last call (empty unless `instance_events`)."""
        events, self._events = self._events, []
        return events

    def _fetch_full(self, reason: str, version: int | None = None) -> Op[bool]:
        generation = self._generation
        log.debug("full registry fetch (%s)", reason)
        response = yield self.full_request()
        self.counters.full_fetches += 1
        registry = self._decode_ok(response)
        self.cursor.observe(response)  # before the install: a watching view tracks digests
        applied = self.install_full(registry, generation, version=version)
        self.cursor.observe_full(response, applied)
        return applied

    def _fetch_delta(self) -> Op[FetchResult]:
        generation = self._generation
        response = yield self.delta_request()
        self.counters.delta_fetches += 1
        self.cursor.observe(response)
        if response.status != 200 or not response.body.strip():
            # 403 (delta disabled on the server) or an empty body: fall back to a full fetch.
            reason = FullFetchReason.DELTA_UNAVAILABLE
            applied = yield from self._fetch_full(reason)
            return FetchResult(True, FetchKind.FULL, applied, reason)
        delta = decode_registry(response)
        outcome = self.apply_delta_payload(delta, generation)
        if not outcome.applied:
            return FetchResult(True, FetchKind.DELTA, False)
        if outcome.hash_matches and not self.settings.log_delta_diff:
            return FetchResult(True, FetchKind.DELTA, True)
        if not outcome.hash_matches:
            self.counters.reconcile_mismatches += 1
            log.info(
                "reconcile hash mismatch: local %r, server %r; fetching the full registry",
                outcome.local_hash,
                outcome.server_hash,
            )
        try:
            applied, diff = yield from self._reconcile(delta.version)
        except (TransportError, _FetchFailed, BadInput):
            self._force_full_next = FullFetchReason.RECONCILE_FAILED
            raise
        return FetchResult(True, FetchKind.FULL, applied, FullFetchReason.RECONCILE, True, diff)

    def _reconcile(self, delta_version: int) -> Op[tuple[bool, RegistryDiff]]:
        generation = self._generation
        response = yield self.full_request()
        self.counters.full_fetches += 1
        server = self._decode_ok(response)
        diff = diff_registries(self._registries(), server)
        if self.settings.log_delta_diff:
            log.warning("delta diff against the full registry: %s", diff.summary())
        elif diff:
            log.info("delta diff against the full registry: %s", diff.summary())
        # Java keeps the delta's version after a reconcile (the full payload's is always 1).
        applied = self.install_full(server, generation, version=delta_version)
        self.cursor.observe_full(response, applied)
        return applied, diff

    @staticmethod
    def _decode_ok(response: Response) -> Applications:
        if response.status != 200:
            raise _FetchFailed(f"registry fetch answered {response.status}")
        if not response.body.strip():
            raise _FetchFailed("registry fetch answered an empty body")
        return decode_registry(response)

    # ---- applying results (callable directly, e.g. by tests and benchmarks) ---------------------

    def install_full(
        self, registry: Applications, generation: int, *, version: int | None = None
    ) -> bool:
        """Replace the views by `registry` if no other fetch applied a result since `generation`."""
        if generation != self._generation:
            self.counters.discarded_results += 1
            log.warning("discarding an outdated full fetch: another fetch applied a newer one")
            return False
        self._generation += 1
        self._replace(registry, version)
        return True

    def install_backup(self, registry: Applications) -> None:
        """The backup registry's answer (§10.10): filtered, shuffled, hash recomputed locally."""
        self._generation += 1
        self._replace(registry, None)
        self.local.registry.apps_hashcode = self.reconcile_hash()

    def apply_delta_payload(self, delta: Applications, generation: int) -> DeltaOutcome:
        """Merge `delta` if no other fetch applied a result since `generation`; hash afterwards."""
        if generation != self._generation:
            self.counters.discarded_results += 1
            log.warning("discarding an outdated delta: another fetch applied a newer result")
            return DeltaOutcome(False, 0, "", delta.apps_hashcode)
        self._generation += 1
        remote = {region: view.registry for region, view in self.remote.items()}
        changes = merge_delta(
            self.local.registry,
            delta,
            region_of=self.regions.region_of if self.regions.remote_regions else None,
            remote=remote if self.regions.remote_regions else None,
        )
        report = self.instance_events
        effective = self.local.apply_changes(
            [c for c in changes if c.region is None], report=report
        )
        for region, registry in remote.items():
            view = self.remote.get(region)
            if view is None:
                # Created by the merge for an instance of a region seen for the first time.
                self.remote[region] = view = self._view(registry)
                if report:
                    effective += [c for c in changes if c.region == region]
            else:
                region_changes = [c for c in changes if c.region == region]
                effective += view.apply_changes(region_changes, report=report)
        if report:
            self._collect(effective)
        # Java's bookkeeping quirk (§5.2): the stored hash becomes the local registry's own.
        self.local.registry.apps_hashcode = hash_from_counts(self.local.status_counts)
        return DeltaOutcome(True, len(changes), self.reconcile_hash(), delta.apps_hashcode)

    def install_applications(
        self, replacements: Mapping[str, Application | None], generation: int, *, version: int
    ) -> bool:
        """Replace whole applications of the local registry (None: remove it), e.g. after a
        repair by digest, through the same merge as a delta: each instance that differs becomes
        an ADDED, MODIFIED or DELETED entry of one synthetic delta."""
        registry = self.local.registry
        delta = Applications(version, None)
        for raw_name, application in replacements.items():
            name = raw_name.upper()
            held = registry.applications_by_name.get(name)
            old = held.instances_by_id if held is not None else {}
            new = application.instances_by_id if application is not None else {}
            entries: dict[str, InstanceInfo] = {}
            for key, instance in new.items():
                before = old.get(key)
                if before is not None and self._same_content(name, before, instance):
                    continue
                action = ActionType.ADDED if before is None else ActionType.MODIFIED
                entries[key] = msgspec.structs.replace(instance, action_type=action)
            for key, instance in old.items():
                if key not in new:
                    entries[key] = msgspec.structs.replace(instance, action_type=ActionType.DELETED)
            if entries:
                delta.applications_by_name[name] = Application(name, entries)
        return self.apply_delta_payload(delta, generation).applied

    def _same_content(self, app: str, held: InstanceInfo, other: InstanceInfo) -> bool:
        digest = self.local.digest_of(app, held.id)
        if digest is None:
            digest = instance_digest(held)
        return digest == instance_digest(other)

    def _collect(self, changes: Sequence[Change]) -> None:
        for change in changes:
            event = instance_event(change)
            if event is not None:
                self._events.append(event)

    def _replace(self, registry: Applications, version: int | None) -> None:
        self._force_full_next = None
        if version is not None:
            registry.version = version
        before = (self.local, dict(self.remote)) if self.instance_events else None
        if self.regions.remote_regions:
            local, remote = self._split_by_region(registry)
            self.local = self._view(local)
            self.remote = {region: self._view(apps) for region, apps in remote.items()}
        else:
            self.local = self._view(registry)
            self.remote = {}
        if before is not None:
            old_local, old_remote = before
            self._collect(_replacement_changes(old_local, self.local, None))
            for region in sorted(set(old_remote) | set(self.remote)):
                old_view, new_view = old_remote.get(region), self.remote.get(region)
                self._collect(_replacement_changes(old_view, new_view, region))

    def _split_by_region(
        self, registry: Applications
    ) -> tuple[Applications, dict[str, Applications]]:
        """A full fetch with remote regions holds every region's instances; sort them out."""
        region_of = self.regions.region_of
        local = Applications(registry.version, registry.apps_hashcode)
        remote: dict[str, Applications] = {}
        for name, app in registry.applications_by_name.items():
            for key, instance in app.instances_by_id.items():
                region = region_of(instance)
                target = (
                    local
                    if region is None
                    else remote.setdefault(region, Applications(registry.version))
                )
                found = target.applications_by_name.get(name)
                if found is None:
                    found = target.applications_by_name[name] = Application(name)
                found.instances_by_id[key] = instance
        return local, remote

    def _view(self, registry: Applications) -> RegistryView:
        return RegistryView(
            registry,
            filter_only_up=self.settings.filter_only_up_instances,
            rng=self.rng,
            meter=self.meter,
            track_digests=self.cursor.watching(),
        )

    def _registries(self) -> Iterator[Applications]:
        yield self.local.registry
        for view in self.remote.values():
            yield view.registry

    def _own_status_change(self) -> StatusChange | None:
        if self._own is None:
            return None
        app_name, instance_id = self._own
        current = InstanceStatus.UNKNOWN
        app = self.local.registry.applications_by_name.get(app_name)
        if app is not None:
            instance = app.instances_by_id.get(instance_id)
            if instance is not None:
                current = instance.status
        previous = self._last_own_status
        if current is previous:
            return None
        self._last_own_status = current
        return StatusChange(previous, current)

    # ---- queries ------------------------------------------------------------------------------

    @property
    def applications(self) -> Applications:
        """The local registry, unfiltered (Java's `getApplications()`); treat it as read-only."""
        return self.local.registry

    def instance_count(self) -> int:
        return self.local.instance_count() + sum(v.instance_count() for v in self.remote.values())

    def view(self, region: str | None = None) -> RegistryView | None:
        if region is None or region == self.settings.region:
            return self.local
        return self.remote.get(region)

    def get_application(self, name: str, region: str | None = None) -> Application | None:
        view = self.view(region)
        return None if view is None else view.get_application(name)

    def get_instances(self, app_name: str, region: str | None = None) -> list[InstanceInfo]:
        """The application's shuffled (by default UP-only) instances."""
        view = self.view(region)
        return [] if view is None else view.shuffled_instances(app_name)

    def get_instances_by_vip(
        self, vip: str, *, secure: bool = False, region: str | None = None
    ) -> list[InstanceInfo]:
        view = self.view(region)
        return [] if view is None else view.instances_by_vip(vip, secure=secure)

    def get_instance(self, instance_id: str) -> InstanceInfo | None:
        """First instance with this id in any local application (Java's `getInstancesById`)."""
        for registry in self._registries():
            for app in registry.applications_by_name.values():
                found = app.instances_by_id.get(instance_id)
                if found is not None:
                    return found
        return None

    def next_server(self, vip: str, *, secure: bool = False) -> InstanceInfo | None:
        """Round robin over the VIP's instances (Java's `getNextServerFromEureka`)."""
        return self.local.next_by_vip(vip, secure=secure)

    def next_instance_of_app(self, app_name: str) -> InstanceInfo | None:
        return self.local.next_by_app(app_name)


def _replacement_changes(
    old: RegistryView | None, new: RegistryView | None, region: str | None
) -> list[Change]:
    """What replacing view `old` by `new` changed, instance by instance (a full fetch's events)."""
    old_apps = old.registry.applications_by_name if old is not None else {}
    new_apps = new.registry.applications_by_name if new is not None else {}
    changes: list[Change] = []
    for name, application in new_apps.items():
        held = old_apps.get(name)
        for key, instance in application.instances_by_id.items():
            before = held.instances_by_id.get(key) if held is not None else None
            if before is None:
                changes.append(Change(region, name, None, instance))
            elif _digest_in(old, name, before) != _digest_in(new, name, instance):
                changes.append(Change(region, name, before, instance))
    for name, gone in old_apps.items():
        kept = new_apps.get(name)
        for key, instance in gone.instances_by_id.items():
            if kept is None or key not in kept.instances_by_id:
                changes.append(Change(region, name, instance, None))
    return changes


def _digest_in(view: RegistryView | None, app: str, instance: InstanceInfo) -> int:
    held = view.digest_of(app, instance.id) if view is not None else None
    return held if held is not None else instance_digest(instance)

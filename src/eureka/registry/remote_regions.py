"""Remote regions (protocol.md §9): other regions' registries, kept here and merged into ours.

Pure: the fetcher (eureka.server.remote_regions) does the HTTP and hands each decoded payload to
`RemoteRegions.apply_full` / `apply_delta`; the response cache reads the copies and current
deltas through `contributions` and `merged_hash`. Time comes from the injected clock.

Per region we keep what Java's `RemoteRegionRegistry` keeps: a copy of the region's registry,
its "current delta" (the last fetched delta; after a full fetch the whole fetched registry,
§9.2), whether it has been fetched at least once ("ready", which `?regions=` requests need,
§6.12), and bookkeeping for the status page.

Deliberate differences from Java, each a weakness of §12.17 or a convenience:

* Deltas are merged as `eureka.client.merge` merges them (fresh Application objects, emptied
  applications removed), *not* with the pre-1.9.4 DELETED bug of Java's remote-region fetcher:
  a DELETED entry for an unknown application adopted the delta's Application object, importing
  every other instance it held, and emptied applications were never removed — ghosts that would
  then be served to every local client. (The merge is repeated here rather than imported so that
  the server core does not load the client package.)
* `revision`, `copy_revision` and `delta_revision` grow on every change, so the response cache
  can invalidate what remote data feeds (Java never invalidates on remote updates).
* A delta whose hash does not match asks for a full fetch, and if that fails the *next* fetch is
  full too (`needs_full`); Java went back to deltas on top of a copy known to be wrong.
* Without `regions`, the delta under transparent fallback is the delta of the same view the full
  payload shows (local + every region, per instance, whitelists applied). Java's older
  algorithm (remote delta applications absent locally, hashed over "local + remote applications
  absent locally", §9.3) makes every such delta mismatch whenever an application lives in both
  places (§12.17); it stays available as `legacy_fallback_delta`.
* Region names and whitelist entries are case-normalised (regions lower-case, as requests are;
  application names upper-case, as the registry stores them): Java compares them exactly, so a
  differently cased entry silently matched nothing.
* The whitelist also applies to the single-application and instance fallbacks (Java applies it
  only to the full and delta views), so no view shows an application the whitelist excludes.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from eureka.clock import Clock
from eureka.model import ActionType, Application, Applications, InstanceInfo, InstanceStatus
from eureka.reconcile import hash_from_counts, reconcile_hash
from eureka.registry.changelog import split_vips
from eureka.registry.registry import Registry
from eureka.urls import redact_url

__all__ = [
    "GLOBAL_WHITELIST",
    "FetchKind",
    "RegionState",
    "RegionStats",
    "RemoteRegions",
    "RemoteRegionsConfig",
]

# The whitelist key Java falls back on when a region has none of its own (§9.1).
GLOBAL_WHITELIST = "global"

Contributions = dict[str, list[tuple[str, Application]]]
"""Application name → the (region, remote Application) pairs merged into it, in region order."""


class FetchKind(enum.Enum):
    FULL = "full"
    DELTA = "delta"


@dataclass(frozen=True, slots=True)
class RemoteRegionsConfig:
    # (region, base URL ending in "/") in configuration order: the order of transparent fallback.
    regions: tuple[tuple[str, str], ...] = ()
    # (region or "global", application names); a region without an entry uses "global"; no
    # entry at all → every application.
    app_whitelist: tuple[tuple[str, tuple[str, ...]], ...] = ()
    disable_delta: bool = False
    transparent_fallback: bool = True
    legacy_fallback_delta: bool = False


@dataclass(frozen=True, slots=True)
class RegionStats:
    """How fetching one region goes, for the status page and the metrics."""

    url: str
    ready: bool
    last_fetch_ms: int | None  # epoch ms of the last successful fetch
    last_attempt_ms: int | None
    last_error: str | None
    consecutive_failures: int
    applications: int
    instances: int
    apps_hashcode: str
    current_delta_instances: int
    full_fetches: int
    delta_fetches: int
    hash_mismatches: int


class RegionState:
    """One remote region: its registry copy, its current delta, and how fetching goes."""

    __slots__ = (
        "app_revisions",
        "applications",
        "consecutive_failures",
        "copy_revision",
        "counts",
        "current_delta",
        "delta_fetches",
        "delta_revision",
        "full_fetches",
        "hash_mismatches",
        "last_attempt_ms",
        "last_error",
        "last_fetch_ms",
        "name",
        "needs_full",
        "ready",
        "url",
    )

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.applications = Applications()
        self.current_delta = Applications()
        # Instances of the copy per status, kept incrementally (the merged hash adds them).
        self.counts: dict[InstanceStatus, int] = {}
        # Application → the RemoteRegions revision of its last change in this copy; lets the
        # response cache reuse encoded instances of applications that did not change.
        self.app_revisions: dict[str, int] = {}
        self.copy_revision = 0
        self.delta_revision = 0
        self.ready = False
        self.needs_full = False
        self.last_fetch_ms: int | None = None
        self.last_attempt_ms: int | None = None
        self.last_error: str | None = None
        self.consecutive_failures = 0
        self.full_fetches = 0
        self.delta_fetches = 0
        self.hash_mismatches = 0

    def instance_count(self) -> int:
        return sum(self.counts.values())

    def stats(self) -> RegionStats:
        return RegionStats(
            url=redact_url(self.url),
            ready=self.ready,
            last_fetch_ms=self.last_fetch_ms,
            last_attempt_ms=self.last_attempt_ms,
            last_error=self.last_error,
            consecutive_failures=self.consecutive_failures,
            applications=len(self.applications.applications_by_name),
            instances=self.instance_count(),
            apps_hashcode=hash_from_counts(self.counts),
            current_delta_instances=self.current_delta.instance_count(),
            full_fetches=self.full_fetches,
            delta_fetches=self.delta_fetches,
            hash_mismatches=self.hash_mismatches,
        )


class RemoteRegions:
    def __init__(
        self, config: RemoteRegionsConfig, clock: Clock, registry: Registry | None = None
    ) -> None:
        self.config = config
        self._clock = clock
        self._registry = registry
        self._regions: dict[str, RegionState] = {}
        for name, url in config.regions:
            region = name.strip().lower()
            self._regions.setdefault(region, RegionState(region, url))
        self._whitelists: dict[str, frozenset[str]] = {}
        for name, apps in config.app_whitelist:
            entries = frozenset(a.strip().upper() for a in apps if a.strip())
            self._whitelists[name.strip().lower()] = entries
        self.names: tuple[str, ...] = tuple(self._regions)
        self.transparent_fallback = config.transparent_fallback
        # Grows on every change of any region; `copy_revision` / `delta_revision` say which.
        self.revision = 0
        self.copy_revision = 0
        self.delta_revision = 0
        self._update_ready()

    # ------------------------------------------------------------------------------------------
    # State
    # ------------------------------------------------------------------------------------------

    def region(self, name: str) -> RegionState:
        return self._regions[name]

    def __iter__(self) -> Iterator[RegionState]:
        return iter(self._regions.values())

    def __contains__(self, name: object) -> bool:
        return name in self._regions

    @property
    def ready(self) -> bool:
        """Every configured region has been fetched successfully at least once (§6.12)."""
        return all(region.ready for region in self._regions.values())

    def stats(self) -> dict[str, RegionStats]:
        """Each region's fetch state, by region name in configuration order."""
        return {name: region.stats() for name, region in self._regions.items()}

    # ------------------------------------------------------------------------------------------
    # Fetching (§9.2): the decision, and applying what was fetched
    # ------------------------------------------------------------------------------------------

    def fetch_kind(self, name: str) -> FetchKind:
        """Full when deltas are disabled, the copy is empty or known to be wrong; else delta."""
        region = self._regions[name]
        if (
            self.config.disable_delta
            or not region.applications.applications_by_name
            or region.needs_full
        ):
            return FetchKind.FULL
        return FetchKind.DELTA

    def apply_full(self, name: str, payload: Applications) -> None:
        """Adopt a full registry: it becomes the copy and, whole, the current delta (§9.2).

        The payload is owned from here on and never modified: the copy gets its own
        Application objects (sharing the instances), since deltas are merged into it.
        """
        region = self._regions[name]
        revision = self.revision + 1
        copy = Applications(version=payload.version, apps_hashcode=payload.apps_hashcode)
        counts: dict[InstanceStatus, int] = {}
        app_revisions: dict[str, int] = {}
        for app_name, application in payload.applications_by_name.items():
            if not application.instances_by_id:
                continue
            copy.applications_by_name[app_name] = Application(
                application.name, dict(application.instances_by_id)
            )
            app_revisions[app_name] = revision
            for instance in application.instances_by_id.values():
                counts[instance.status] = counts.get(instance.status, 0) + 1
        region.applications = copy
        region.counts = counts
        region.app_revisions = app_revisions
        region.current_delta = payload
        region.needs_full = False
        region.full_fetches += 1
        self._copy_changed(region, revision)
        self._delta_changed(region, revision)
        self._succeeded(region)

    def apply_delta(self, name: str, delta: Applications) -> bool:
        """Merge a delta into the copy; it becomes the current delta. False when the copy's hash
        then differs from the delta's `apps__hashcode`: the caller must fetch in full."""
        region = self._regions[name]
        # Committed by _copy_changed / _delta_changed only if something changes.
        revision = self.revision + 1
        had_delta = bool(region.current_delta.applications_by_name)
        copy_apps = region.applications.applications_by_name
        counts = region.counts
        changed = False
        for delta_app in delta.applications_by_name.values():
            for instance in delta_app.instances_by_id.values():
                action = instance.action_type
                if action is None:
                    continue  # unknown action types are ignored, as clients do (§10.3)
                app_name = (instance.app or delta_app.name).upper()
                application = copy_apps.get(app_name)
                if action is ActionType.DELETED:
                    old = None if application is None else application.remove_instance(instance.id)
                    if old is None:
                        continue
                    counts[old.status] -= 1
                    if application is not None and not application.instances_by_id:
                        del copy_apps[app_name]
                        region.app_revisions.pop(app_name, None)
                    else:
                        region.app_revisions[app_name] = revision
                else:
                    if application is None:
                        application = copy_apps[app_name] = Application(app_name)
                    old = application.instances_by_id.pop(instance.id, None)
                    if old is not None:
                        counts[old.status] -= 1
                    application.instances_by_id[instance.id] = instance
                    counts[instance.status] = counts.get(instance.status, 0) + 1
                    region.app_revisions[app_name] = revision
                changed = True
        region.applications.version = delta.version
        region.current_delta = delta
        region.delta_fetches += 1
        if changed:
            self._copy_changed(region, revision)
        if had_delta or delta.applications_by_name:
            self._delta_changed(region, revision)
        self._succeeded(region)
        # Java compares with the hash the server sent; a delta without one cannot be trusted.
        if hash_from_counts(region.counts) != delta.apps_hashcode:
            region.hash_mismatches += 1
            region.needs_full = True
            return False
        return True

    def record_failure(self, name: str, reason: str) -> None:
        """A fetch that produced nothing: the copy and current delta stay as they were."""
        region = self._regions[name]
        region.last_attempt_ms = self._clock.now_ms()
        region.last_error = reason
        region.consecutive_failures += 1

    def _succeeded(self, region: RegionState) -> None:
        now = self._clock.now_ms()
        region.last_attempt_ms = now
        region.last_fetch_ms = now
        region.last_error = None
        region.consecutive_failures = 0
        if not region.ready:
            region.ready = True
            self._update_ready()

    def _copy_changed(self, region: RegionState, revision: int) -> None:
        region.copy_revision = revision
        self.copy_revision = revision
        self.revision = revision

    def _delta_changed(self, region: RegionState, revision: int) -> None:
        region.delta_revision = revision
        self.delta_revision = revision
        self.revision = revision

    def _update_ready(self) -> None:
        if self._registry is not None:
            self._registry.remote_regions_ready = self.ready

    # ------------------------------------------------------------------------------------------
    # What to merge (§9.3)
    # ------------------------------------------------------------------------------------------

    def allows(self, region: str, app: str) -> bool:
        """The region's application whitelist, else the global one; none → every application."""
        whitelist = self._whitelists.get(region)
        if whitelist is None:
            whitelist = self._whitelists.get(GLOBAL_WHITELIST)
        return whitelist is None or app in whitelist

    def effective_regions(self, requested: Sequence[str]) -> tuple[str, ...]:
        """The configured regions a request merges: the listed ones (unknown names are ignored,
        as Java does), or — without `regions` — all of them under transparent fallback."""
        if requested:
            known = [r for r in requested if r in self._regions]
            return tuple(dict.fromkeys(known))
        return self.names if self.transparent_fallback else ()

    def has_data(self, regions: Iterable[str]) -> bool:
        """Whether any of `regions` has anything to merge (else the local view is the answer)."""
        for name in regions:
            region = self._regions[name]
            if (
                region.applications.applications_by_name
                or region.current_delta.applications_by_name
            ):
                return True
        return False

    def contributions(self, regions: Iterable[str], *, deltas: bool = False) -> Contributions:
        """Per application, the regions' whitelisted copies (or current deltas) to merge, in the
        order Java merges them: region by region, applications in each region's order."""
        result: Contributions = {}
        whitelists = self._whitelists
        for name in regions:
            region = self._regions[name]
            source = region.current_delta if deltas else region.applications
            whitelist = whitelists.get(name, whitelists.get(GLOBAL_WHITELIST))
            for app_name, application in source.applications_by_name.items():
                if whitelist is None or app_name in whitelist:
                    result.setdefault(app_name, []).append((name, application))
        return result

    def legacy_contributions(self, registry: Registry, *, deltas: bool) -> Contributions:
        """Java's older fallback merge (§9.3): from every region, the applications that do not
        exist locally at all, whole, no whitelist; the first region holding one wins."""
        result: Contributions = {}
        for name, region in self._regions.items():
            source = region.current_delta if deltas else region.applications
            for app_name, application in source.applications_by_name.items():
                if app_name not in result and registry.app_revision(app_name) is None:
                    result[app_name] = [(name, application)]
        return result

    # ------------------------------------------------------------------------------------------
    # Hashes over merged views
    # ------------------------------------------------------------------------------------------

    def merged_hash(self, registry: Registry, regions: Sequence[str]) -> str:
        """Reconcile hash of local + `regions` merged per instance, whitelists applied (§9.3).

        Costs one step per remote application plus one per instance of the applications that
        exist in more than one place (where an id present twice must be counted once): whole
        regions are added from their status counts.
        """
        counts: dict[InstanceStatus, int] = dict(registry.status_counts())
        whitelists = self._whitelists
        # Applications already contributed by earlier regions, and, for those present in more
        # than one place, the merged id → status map.
        contributed: dict[str, list[Application]] = {}
        merged_ids: dict[str, dict[str, InstanceStatus]] = {}
        for name in regions:
            region = self._regions[name]
            apps = region.applications.applications_by_name
            whitelist = whitelists.get(name, whitelists.get(GLOBAL_WHITELIST))
            if whitelist is None:
                for status, n in region.counts.items():
                    counts[status] = counts.get(status, 0) + n
                candidates: Iterable[str] = apps
            else:
                candidates = [app for app in whitelist if app in apps]
                for app in candidates:
                    for instance in apps[app].instances_by_id.values():
                        counts[instance.status] = counts.get(instance.status, 0) + 1
            for app in candidates:
                application = apps[app]
                earlier = contributed.get(app)
                if earlier is not None or registry.app_revision(app) is not None:
                    ids = merged_ids.get(app)
                    if ids is None:
                        ids = merged_ids[app] = _ids_of(registry, app, earlier or ())
                    for iid, instance in application.instances_by_id.items():
                        previous = ids.get(iid)
                        if previous is not None:
                            counts[previous] -= 1
                        ids[iid] = instance.status
                contributed.setdefault(app, []).append(application)
        return hash_from_counts(counts)

    def legacy_hash(self, registry: Registry) -> str:
        """Java's fallback delta hash: local + remote applications absent locally (§9.3)."""
        counts: dict[InstanceStatus, int] = dict(registry.status_counts())
        for contributions in self.legacy_contributions(registry, deltas=False).values():
            for _, application in contributions:
                for instance in application.instances_by_id.values():
                    counts[instance.status] = counts.get(instance.status, 0) + 1
        return hash_from_counts(counts)

    # ------------------------------------------------------------------------------------------
    # Merged views as Applications (reference views for tests and tools; the response cache
    # builds the same documents from encoded fragments)
    # ------------------------------------------------------------------------------------------

    def full_view(self, registry: Registry, regions: Sequence[str]) -> Applications:
        """`GET /apps` content for already resolved `regions` (see `effective_regions`)."""
        result = registry.full_view()
        _merge_into(result, self.contributions(regions))
        result.apps_hashcode = reconcile_hash(result.iter_instances())
        return result

    def delta_view(
        self, registry: Registry, regions: Sequence[str], *, with_regions: bool
    ) -> Applications:
        """`GET /apps/delta` content: local changes + the regions' current deltas, and the hash
        of the full view they lead to."""
        result = registry.delta_view(with_regions=with_regions)
        _merge_into(result, self.contributions(regions, deltas=True))
        result.apps_hashcode = self.merged_hash(registry, regions)
        return result

    def legacy_delta_view(self, registry: Registry) -> Applications:
        result = registry.delta_view(with_regions=False)
        _merge_into(result, self.legacy_contributions(registry, deltas=True))
        result.apps_hashcode = self.legacy_hash(registry)
        return result

    def vip_view(
        self, registry: Registry, regions: Sequence[str], vip: str, secure: bool = False
    ) -> Applications:
        """`GET /vips/{vip}`: the matching instances of the merged full view (§2.3 (12))."""
        full = self.full_view(registry, regions)
        result = Applications(version=-1)
        for name, application in full.applications_by_name.items():
            matches = {
                iid: instance
                for iid, instance in application.instances_by_id.items()
                if vip
                in split_vips(instance.secure_vip_address if secure else instance.vip_address)
            }
            if matches:
                result.applications_by_name[name] = Application(name, matches)
        result.apps_hashcode = reconcile_hash(result.iter_instances())
        return result

    # ------------------------------------------------------------------------------------------
    # Single-application and instance fallbacks (§2.3 (9)–(11))
    # ------------------------------------------------------------------------------------------

    def find_application(self, app: str) -> tuple[str, Application] | None:
        """The first region (configuration order) whose copy has `app`, whitelist permitting;
        None when transparent fallback is disabled."""
        if not self.transparent_fallback:
            return None
        name = app.upper()
        for region_name, region in self._regions.items():
            application = region.applications.applications_by_name.get(name)
            if application is not None and self.allows(region_name, name):
                return region_name, application
        return None

    def find_instance(self, app: str, instance_id: str) -> InstanceInfo | None:
        """A copy of the instance from the first region holding it (Java stops at the first
        region that has the application, even when another region holds the id)."""
        if not self.transparent_fallback:
            return None
        name = app.upper()
        for region_name, region in self._regions.items():
            application = region.applications.applications_by_name.get(name)
            if application is None or not self.allows(region_name, name):
                continue
            instance = application.instances_by_id.get(instance_id)
            if instance is not None:
                return instance.copy()
        return None

    def find_instance_by_id(self, instance_id: str) -> InstanceInfo | None:
        """`GET /instances/{id}` fallback: the first region and application holding the id."""
        if not self.transparent_fallback:
            return None
        for region_name, region in self._regions.items():
            for app_name, application in region.applications.applications_by_name.items():
                instance = application.instances_by_id.get(instance_id)
                if instance is not None and self.allows(region_name, app_name):
                    return instance.copy()
        return None


def _ids_of(
    registry: Registry, app: str, earlier: Collection[Application]
) -> dict[str, InstanceStatus]:
    """id → status of `app` as merged so far: the local instances, then earlier regions'."""
    ids = {lease.holder.id: lease.holder.status for lease in registry.app_leases(app)}
    for application in earlier:
        for iid, instance in application.instances_by_id.items():
            ids[iid] = instance.status
    return ids


def _merge_into(
    target: Applications, contributions: Mapping[str, list[tuple[str, Application]]]
) -> None:
    """Java's per-instance merge: add each remote instance (a copy) to the application of that
    name, creating it at the end; an id already present is replaced and moves to the end."""
    for app_name, sources in contributions.items():
        application = target.applications_by_name.get(app_name)
        if application is None:
            application = target.applications_by_name[app_name] = Application(app_name)
        for _, remote in sources:
            for instance in remote.instances_by_id.values():
                application.add_instance(instance.copy())

"""The response cache (protocol.md §7): encoded registry payloads and their gzip, per key.

Tiers. The read-write tier holds generated payloads until a change invalidates them or they are
`response_cache_auto_expiration_in_seconds` old. The optional read-only tier
(`use_read_only_response_cache`, off by default: invariant 3) is what Java serves by default; it
is refreshed from the read-write tier only by `refresh_read_only()`, which the adapter calls every
`response_cache_update_interval_ms`.

Invalidation without callbacks. The cache remembers the registry revision it last saw; on the next
`get` it asks the registry which applications and VIP names changed since (one pass, however many
changes happened: N changes between two GETs cost one rebuild) and drops exactly the keys those
changes can affect. It also fixes Java's gaps (§7.4): compact VIP keys, VIP names inside
comma-separated lists, status changes made by renewals and a re-registration's old VIP are all
invalidated. If the change log no longer reaches back that far, everything is dropped.

Cheap regeneration. The local full registry and the local delta are kept per variant as
compressed blocks of up to 32 instances (`chunked_document`): a change re-encodes and deflates the
block it is in, and the payload's gzip is the blocks' chunks joined between a stored head and tail,
with its CRC-32 combined from theirs. Their identity body is that gzip inflated, made only when a
client without gzip asks. The other payloads (one application, VIPs, anything merged with remote
regions) are joins of per-instance fragments held per application, of which a change re-encodes
only the changed instances. Renewals change neither: lease timestamps in cached payloads may lag,
as in Java, but never by more than the auto-expiration time, after which blocks and fragments are
encoded afresh.

Remote regions (§9.3). With `remote_regions`, full, delta and VIP payloads merge the regions a
key asks for (`?regions=`, or every region under transparent fallback) and single-application
keys fall back on the first region that has the application. The regions' revision counters
join the invalidation check, so a remote update drops exactly the payloads remote data feeds
(Java never does, §12.17). Remote instances are encoded once each, merged applications are
rebuilt only when one of their sources changed, and while no region has data every key takes
the local-only path unchanged.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from eureka.clock import Clock
from eureka.model import Application, InstanceInfo
from eureka.reconcile import reconcile_hash
from eureka.registry.cache_key import Accept, ApiVersion, CacheKey, EntityType, Format
from eureka.registry.changelog import split_vips
from eureka.registry.chunked_document import ChunkedDocument
from eureka.registry.config import RegistryConfig
from eureka.registry.encoders import (
    DEPTH_IN_APPLICATION,
    DEPTH_IN_APPLICATIONS,
    PayloadEncoder,
    default_encoders,
)
from eureka.registry.gzip_chunks import WINDOW, assemble, crc32, deflate_chunk, gunzip, gzip_whole
from eureka.registry.lease import Lease
from eureka.registry.registry import Registry
from eureka.registry.remote_regions import Contributions, RemoteRegions

__all__ = ["REBUILD_BUCKETS_S", "CacheCounters", "CacheStats", "CachedPayload", "ResponseCache"]

# Version written in full payloads and VIP payloads (§5.3).
_FULL_VERSION = 1
_VIP_VERSION = -1
# The regions of a key that asked for regions none of which is configured: such a request gets
# the local view (Java ignores unknown regions), under one key however many names were tried.
_NO_KNOWN_REGION = ("",)


class CachedPayload:
    """One generated payload: its identity body and its gzip, each made on first use, once.

    A payload is made from one of the two. The full registry and the delta are made as gzip
    (`chunked_document`), and their body is that gzip inflated, only if a client without gzip
    asks; the others are made as a body, and their gzip is deflated from it when asked.
    """

    __slots__ = ("_body", "_gzip", "_gzip_factory", "content_type")

    def __init__(
        self,
        body: bytes | None,
        content_type: str,
        gzip_factory: Callable[[], bytes] | None = None,
        *,
        gzip: bytes | None = None,
    ) -> None:
        if body is None and gzip is None:
            raise ValueError("a payload needs its body or its gzip")
        self._body = body
        self.content_type = content_type
        self._gzip = gzip
        self._gzip_factory = gzip_factory

    @property
    def body(self) -> bytes:
        if self._body is None:
            assert self._gzip is not None
            self._body = gunzip(self._gzip)
        return self._body

    @property
    def gzip(self) -> bytes:
        if self._gzip is None:
            factory = self._gzip_factory
            self._gzip = factory() if factory is not None else gzip_whole(self.body)
            self._gzip_factory = None
        return self._gzip

    def __repr__(self) -> str:
        made = "body" if self._body is not None else "gzip"
        return f"CachedPayload({self.content_type}, from {made})"


# Upper bounds (seconds) of the rebuild-time histogram: a small application's payload takes
# well under a millisecond, a 100k-instance registry after a full invalidation about a second.
REBUILD_BUCKETS_S: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


@dataclass(slots=True)
class CacheCounters:
    """The cache's tallies, updated in place; read them through `ResponseCache.stats()`."""

    hits: int = 0
    misses: int = 0
    # Payloads generated (one per miss): what coalescing keeps at one per burst of changes.
    rebuilds: int = 0
    # Applications whose fragment list was rebuilt, and instances actually encoded.
    app_encodes: int = 0
    instance_encodes: int = 0
    # Deflate chunks compressed for chunked gzip (the rest were reused).
    gzip_chunks: int = 0
    # Read-write entries dropped because of registry changes.
    invalidations: int = 0
    # Time spent generating payloads (the clock's monotonic seconds), and how it spread over
    # REBUILD_BUCKETS_S (one count per bucket, plus the overflow bucket last; not cumulative).
    rebuild_seconds: float = 0.0
    rebuild_buckets: list[int] = field(default_factory=lambda: [0] * (len(REBUILD_BUCKETS_S) + 1))


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    rebuilds: int
    app_encodes: int
    instance_encodes: int
    gzip_chunks: int
    invalidations: int
    rebuild_seconds: float
    rebuild_buckets: tuple[int, ...]
    # Read-write entries currently held.
    entries: int


class _Variant(NamedTuple):
    """What an instance fragment depends on."""

    fmt: Format
    compact: bool
    v1: bool
    depth: int


class _AppFragments:
    """One application's encoded instances, in registry order, at one application revision."""

    __slots__ = (
        "_index",
        "chunk",
        "chunk_context",
        "chunk_tail",
        "encoded_ms",
        "fragments",
        "leases",
        "revision",
        "revisions",
        "total_len",
    )

    def __init__(self, revision: int, encoded_ms: int) -> None:
        self.revision = revision
        self.encoded_ms = encoded_ms
        self.leases: list[Lease] = []
        self.revisions: list[int] = []
        self.fragments: list[bytes] = []
        self.total_len = 0
        self._index: dict[Lease, bytes] | None = None
        # The deflate chunk of this application's segment of the full document, and the bytes
        # that followed its fragments there (separators, the next application's header), which is
        # all that can differ between two documents built from this same fragment list.
        self.chunk: bytes | None = None
        self.chunk_tail = b""
        # What the chunk's dictionary (the text before the segment) was made of: the previous
        # application's fragment list and tail; None for the first application (no dictionary).
        self.chunk_context: tuple[_AppFragments, bytes] | None = None

    def index(self) -> dict[Lease, bytes]:
        if self._index is None:
            self._index = dict(zip(self.leases, self.fragments, strict=True))
        return self._index


class _RemoteFragments:
    """One remote application's encoded instances (of a region's copy or current delta).

    Remote instances are never modified once fetched (a change brings a new object), so an
    instance object that is still there keeps its fragment.
    """

    __slots__ = ("fragments", "ids", "instances", "revision")

    def __init__(self, revision: int) -> None:
        self.revision = revision
        self.ids: list[str] = []
        self.instances: list[InstanceInfo] = []
        self.fragments: list[bytes] = []


class _Entry(NamedTuple):
    payload: CachedPayload | None
    written_ms: int


class ResponseCache:
    def __init__(
        self,
        registry: Registry,
        config: RegistryConfig,
        clock: Clock,
        encoders: Mapping[Format, PayloadEncoder] | None = None,
        *,
        gzip_level: int = 6,
        delta_gzip_level: int | None = None,
        remote_regions: RemoteRegions | None = None,
    ) -> None:
        self._registry = registry
        self._remote = remote_regions
        self._clock = clock
        self._encoders = dict(encoders) if encoders is not None else default_encoders()
        self._gzip_level = gzip_level
        # The delta is compressed once per change and sent to every poller in between (tens of
        # thousands of times at fleet scale): its bytes, not its compression, are what it costs.
        self._delta_gzip_level = gzip_level if delta_gzip_level is None else delta_gzip_level
        self._expiry_ms = config.response_cache_auto_expiration_in_seconds * 1000
        self._read_only_enabled = config.use_read_only_response_cache
        self._counters = CacheCounters()

        self._seen_revision = registry.revision
        self._seen_delta_window = registry.delta_window_floor
        # Read-write tier, grouped by (entity, name) so a change drops its group in one step.
        self._rw: dict[tuple[EntityType, str], dict[CacheKey, _Entry]] = {}
        self._ro: dict[CacheKey, CachedPayload | None] = {}
        self._fragments: dict[_Variant, dict[str, _AppFragments]] = {}
        self._header_chunks: dict[_Variant, tuple[bytes, bytes]] = {}
        # The local full registry, kept as compressed blocks per variant.
        self._full_documents: dict[_Variant, ChunkedDocument] = {}
        # Fragments of the local delta's instances: (revision, encoded at, fragment).
        self._delta_leases: dict[_Variant, dict[Lease, tuple[int, int, bytes]]] = {}
        # Remote regions: what was seen, encoded remote applications per (variant, region,
        # current delta?), and merged applications per (variant, regions) with what they were
        # built from.
        self._seen_remote = self._seen_remote_copy = self._seen_remote_delta = 0
        if remote_regions is not None:
            self._seen_remote = remote_regions.revision
            self._seen_remote_copy = remote_regions.copy_revision
            self._seen_remote_delta = remote_regions.delta_revision
        self._remote_fragments: dict[tuple[_Variant, str, bool], dict[str, _RemoteFragments]] = {}
        self._merged: dict[
            tuple[_Variant, tuple[str, ...]], dict[str, tuple[tuple[object, ...], _AppFragments]]
        ] = {}
        # Expired entries are swept at most once per expiry period, so that GETs of ever new
        # names (unknown applications, VIPs) cannot grow the read-write tier without bound.
        self._next_sweep_ms = clock.now_ms() + self._expiry_ms

    # ------------------------------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------------------------------

    def get(self, key: CacheKey) -> CachedPayload | None:
        """The payload for `key`; None only for an application without instances (→ 404)."""
        key = key.normalized()
        if key.regions:
            key = self._canonical_regions(key)
        if self._read_only_enabled:
            if key in self._ro:
                self._counters.hits += 1
                return self._ro[key]
            payload = self._get_read_write(key)
            self._ro[key] = payload
            return payload
        return self._get_read_write(key)

    def _canonical_regions(self, key: CacheKey) -> CacheKey:
        """Only configured regions matter (Java ignores the others), once each; so that callers
        cannot make one full payload per made-up region list. Other entities ignore regions."""
        if key.entity not in (EntityType.ALL_APPS, EntityType.ALL_APPS_DELTA):
            return key._replace(regions=())
        remote = self._remote
        known = tuple(dict.fromkeys(r for r in key.regions if remote is not None and r in remote))
        regions = known or _NO_KNOWN_REGION
        return key if regions == key.regions else key._replace(regions=regions)

    def refresh_read_only(self) -> None:
        """The read-only tier's timer: re-read every key it holds from the read-write tier.

        Keys that now have no payload (an application that is gone or never existed) are
        dropped rather than kept forever as Java does; their next `get` looks again.
        """
        for key in list(self._ro):
            payload = self._get_read_write(key)
            if payload is None:
                del self._ro[key]
            else:
                self._ro[key] = payload

    def stats(self) -> CacheStats:
        """A frozen snapshot of the tallies (trio's `statistics()`)."""
        c = self._counters
        return CacheStats(
            hits=c.hits,
            misses=c.misses,
            rebuilds=c.rebuilds,
            app_encodes=c.app_encodes,
            instance_encodes=c.instance_encodes,
            gzip_chunks=c.gzip_chunks,
            invalidations=c.invalidations,
            rebuild_seconds=c.rebuild_seconds,
            rebuild_buckets=tuple(c.rebuild_buckets),
            entries=self.entry_count(),
        )

    def entry_count(self) -> int:
        """Payloads held by the read-write tier (for status pages and tests)."""
        return sum(len(group) for group in self._rw.values())

    def release_pruned(self) -> None:
        """After the retention timer moved the delta window: drop the delta payloads and the
        memoised fragments of instances that left it, now rather than at the next delta
        request, so that what they held is free when the heap is next trimmed (a burst of
        large registrations, each cancelled at once, lives on in the window only)."""
        self._sync()
        if self._delta_leases:
            live = self._registry.delta_window_leases()
            for variant, memo in self._delta_leases.items():
                self._delta_leases[variant] = {
                    lease: v for lease, v in memo.items() if lease in live
                }

    def invalidate_all(self) -> None:
        """Drop every generated payload of the read-write tier (fragments self-validate)."""
        self._counters.invalidations += sum(len(group) for group in self._rw.values())
        self._rw.clear()

    # ------------------------------------------------------------------------------------------
    # Read-write tier and invalidation
    # ------------------------------------------------------------------------------------------

    def _get_read_write(self, key: CacheKey) -> CachedPayload | None:
        self._sync()
        now = self._clock.now_ms()
        group = self._rw.get((key.entity, key.name))
        entry = group.get(key) if group is not None else None
        if entry is not None and now - entry.written_ms < self._expiry_ms:
            self._counters.hits += 1
            return entry.payload
        self._counters.misses += 1
        if now >= self._next_sweep_ms:
            self._sweep_expired(now)
        clock = self._clock
        started = clock.monotonic()
        payload = self._generate(key)
        took = clock.monotonic() - started
        counters = self._counters
        counters.rebuilds += 1
        counters.rebuild_seconds += took
        counters.rebuild_buckets[bisect_left(REBUILD_BUCKETS_S, took)] += 1
        self._rw.setdefault((key.entity, key.name), {})[key] = _Entry(payload, now)
        return payload

    def _sweep_expired(self, now: int) -> None:
        self._next_sweep_ms = now + self._expiry_ms
        for group_key in list(self._rw):
            group = self._rw[group_key]
            for key in [
                k for k, entry in group.items() if now - entry.written_ms >= self._expiry_ms
            ]:
                del group[key]
            if not group:
                del self._rw[group_key]

    def _sync(self) -> None:
        if self._registry.revision != self._seen_revision:
            self._sync_local()
        if self._registry.delta_window_floor != self._seen_delta_window:
            # The retention timer moved the delta window: every delta payload (all variants,
            # regions included) lists entries that are gone. Java keeps serving them.
            self._seen_delta_window = self._registry.delta_window_floor
            self._drop([(EntityType.ALL_APPS_DELTA, "")])
        remote = self._remote
        if remote is not None and remote.revision != self._seen_remote:
            self._sync_remote(remote)

    def _sync_local(self) -> None:
        registry = self._registry
        revision = registry.revision
        summary = registry.changes_summary_since(self._seen_revision)
        self._seen_revision = revision
        if summary is None:
            self.invalidate_all()
            self._forget_absent_apps(
                {name for stores in self._fragments.values() for name in stores}
            )
            return
        dropped = [(EntityType.ALL_APPS, ""), (EntityType.ALL_APPS_DELTA, "")]
        dropped += [(EntityType.APP, name) for name in summary.apps]
        dropped += [(EntityType.VIP, name) for name in summary.vips]
        dropped += [(EntityType.SVIP, name) for name in summary.svips]
        self._drop(dropped)
        self._forget_absent_apps(summary.apps)

    def _sync_remote(self, remote: RemoteRegions) -> None:
        """A remote region changed: drop what its data feeds (Java forgets to, §12.17).

        Copies feed full payloads, every delta's hash, and — under transparent fallback — VIP
        payloads and the applications that have no local instances; current deltas feed deltas.
        """
        self._seen_remote = remote.revision
        copy_changed = remote.copy_revision != self._seen_remote_copy
        delta_changed = remote.delta_revision != self._seen_remote_delta
        self._seen_remote_copy = remote.copy_revision
        self._seen_remote_delta = remote.delta_revision
        if not (copy_changed or delta_changed):
            return
        dropped = [(EntityType.ALL_APPS_DELTA, "")]
        if copy_changed:
            dropped.append((EntityType.ALL_APPS, ""))
            if remote.transparent_fallback:
                registry = self._registry
                dropped += [
                    (entity, name)
                    for entity, name in self._rw
                    if entity in (EntityType.VIP, EntityType.SVIP)
                    or (entity is EntityType.APP and registry.app_revision(name) is None)
                ]
        self._drop(dropped)
        for (_, region, deltas), stores in self._remote_fragments.items():
            state = remote.region(region)
            if deltas:
                if delta_changed:
                    stores.clear()
            elif copy_changed:
                present = state.applications.applications_by_name
                for app in [app for app in stores if app not in present]:
                    del stores[app]

    def _drop(self, group_keys: list[tuple[EntityType, str]]) -> None:
        for group_key in group_keys:
            group = self._rw.pop(group_key, None)
            if group is not None:
                self._counters.invalidations += len(group)

    def _forget_absent_apps(self, names: Collection[str]) -> None:
        registry = self._registry
        for name in names:
            if registry.app_revision(name) is None:
                for stores in self._fragments.values():
                    stores.pop(name, None)

    # ------------------------------------------------------------------------------------------
    # Generation
    # ------------------------------------------------------------------------------------------

    def _generate(self, key: CacheKey) -> CachedPayload | None:
        encoder = self._encoders[key.fmt]
        compact = key.accept is Accept.COMPACT
        v1 = key.version is ApiVersion.V1
        entity = key.entity
        in_applications = self._variant(encoder, key.fmt, compact, v1, DEPTH_IN_APPLICATIONS)
        if entity is EntityType.ALL_APPS:
            regions = self._merged_regions(key.regions)
            if regions:
                return self._full_merged(encoder, in_applications, v1, regions)
            return self._full(encoder, in_applications, v1)
        if entity is EntityType.ALL_APPS_DELTA:
            return self._delta(
                encoder, in_applications, v1, bool(key.regions), self._remote_delta(key.regions)
            )
        if entity is EntityType.APP:
            in_application = self._variant(encoder, key.fmt, compact, v1, DEPTH_IN_APPLICATION)
            return self._application(encoder, in_application, key.name, v1)
        secure = entity is EntityType.SVIP
        regions = self._merged_regions(())
        if regions:
            return self._vip_merged(encoder, in_applications, key.name, secure, v1, regions=regions)
        return self._vip(encoder, in_applications, key.name, secure, v1)

    # ------------------------------------------------------------------------------------------
    # Remote regions (§9.3): which regions a key merges, and their encoded applications
    # ------------------------------------------------------------------------------------------

    def _merged_regions(self, requested: tuple[str, ...]) -> tuple[str, ...]:
        """The regions whose data a payload merges: () whenever that is just the local view
        (nothing configured, fallback off, or nothing fetched yet), which keeps the local-only
        generation paths exactly as they are without remote regions."""
        remote = self._remote
        if remote is None:
            return ()
        regions = remote.effective_regions(requested)
        return regions if regions and remote.has_data(regions) else ()

    def _remote_delta(self, requested: tuple[str, ...]) -> tuple[Contributions, str] | None:
        """What a delta adds from remote regions, and the hash of the view it leads to."""
        remote = self._remote
        if remote is None:
            return None
        if not requested and remote.config.legacy_fallback_delta and remote.transparent_fallback:
            if not remote.has_data(remote.names):
                return None
            registry = self._registry
            return (
                remote.legacy_contributions(registry, deltas=True),
                remote.legacy_hash(registry),
            )
        regions = self._merged_regions(requested)
        if not regions:
            return None
        return (
            remote.contributions(regions, deltas=True),
            remote.merged_hash(self._registry, regions),
        )

    def _remote_store(
        self,
        encoder: PayloadEncoder,
        variant: _Variant,
        region: str,
        app: str,
        application: Application,
        *,
        deltas: bool,
    ) -> _RemoteFragments:
        """A remote application's fragments, re-encoding only instances not seen before."""
        remote = self._remote
        assert remote is not None
        state = remote.region(region)
        revision = state.delta_revision if deltas else state.app_revisions.get(app, -1)
        stores = self._remote_fragments.setdefault((variant, region, deltas), {})
        store = stores.get(app)
        if store is not None and store.revision == revision:
            return store
        known: dict[int, tuple[InstanceInfo, bytes]] = {}
        # The same instance objects sit in the copy and in the current delta after a fetch.
        twin = self._remote_fragments.get((variant, region, not deltas), {}).get(app)
        for candidate in (twin, store):
            if candidate is not None:
                for instance, fragment in zip(
                    candidate.instances, candidate.fragments, strict=True
                ):
                    known[id(instance)] = (instance, fragment)
        new = _RemoteFragments(revision)
        for iid, instance in application.instances_by_id.items():
            hit = known.get(id(instance))
            if hit is not None and hit[0] is instance:
                fragment = hit[1]
            else:
                self._counters.instance_encodes += 1
                fragment = encoder.instance(
                    instance, compact=variant.compact, v1=variant.v1, depth=variant.depth
                )
            new.ids.append(iid)
            new.instances.append(instance)
            new.fragments.append(fragment)
        stores[app] = new
        return new

    def _merged_store(
        self,
        encoder: PayloadEncoder,
        variant: _Variant,
        app: str,
        local: _AppFragments | None,
        sources: list[tuple[str, Application]],
        *,
        previous: dict[str, tuple[tuple[object, ...], _AppFragments]],
        built: dict[str, tuple[tuple[object, ...], _AppFragments]],
        now: int,
    ) -> _AppFragments:
        """An application merged per instance from local and remote fragments (Java's
        `addInstance`: an id seen again is replaced and moves to the end). Reused, with its
        gzip chunk, while built from the very same fragment lists."""
        remote_stores = [
            self._remote_store(encoder, variant, region, app, application, deltas=False)
            for region, application in sources
        ]
        signature: tuple[object, ...] = (local, *remote_stores)
        cached = previous.get(app)
        if (
            cached is not None
            and len(cached[0]) == len(signature)
            and all(a is b for a, b in zip(cached[0], signature, strict=True))
        ):
            built[app] = cached
            return cached[1]
        if local is None and len(remote_stores) == 1:
            fragments = list(remote_stores[0].fragments)
        else:
            by_id: dict[str, bytes] = {}
            if local is not None:
                for lease, fragment in zip(local.leases, local.fragments, strict=True):
                    by_id[lease.holder.id] = fragment
            for store in remote_stores:
                for iid, fragment in zip(store.ids, store.fragments, strict=True):
                    by_id.pop(iid, None)
                    by_id[iid] = fragment
            fragments = list(by_id.values())
        merged = _AppFragments(0, now)
        merged.fragments = fragments
        merged.total_len = sum(map(len, fragments))
        built[app] = (signature, merged)
        return merged

    @staticmethod
    def _variant(
        encoder: PayloadEncoder, fmt: Format, compact: bool, v1: bool, depth: int
    ) -> _Variant:
        if not encoder.context_sensitive:
            return _Variant(fmt, compact, False, 0)
        return _Variant(fmt, compact, v1, depth)

    def _app_fragments(
        self, encoder: PayloadEncoder, variant: _Variant, app: str, revision: int, now: int
    ) -> _AppFragments:
        """The application's fragments at `revision`, re-encoding only what changed."""
        stores = self._fragments.setdefault(variant, {})
        store = stores.get(app)
        fresh = store is not None and now - store.encoded_ms < self._expiry_ms
        if fresh and store is not None and store.revision == revision:
            return store
        # Reuse an instance's fragment while its lease is unchanged and the old list is not
        # past the auto-expiration (which refreshes lease timestamps in the payload).
        reusable: dict[Lease, tuple[int, bytes]] = {}
        if fresh and store is not None:
            reusable = {
                lease: (rev, fragment)
                for lease, rev, fragment in zip(
                    store.leases, store.revisions, store.fragments, strict=True
                )
            }
        encoded_ms = store.encoded_ms if fresh and store is not None else now
        new = _AppFragments(revision, encoded_ms)
        registry = self._registry
        total = 0
        for lease in registry.app_leases(app):
            cached = reusable.get(lease)
            if cached is not None and cached[0] == lease.revision:
                fragment = cached[1]
            else:
                fragment = self._encode(encoder, variant, lease)
            new.leases.append(lease)
            new.revisions.append(lease.revision)
            new.fragments.append(fragment)
            total += len(fragment)
        new.total_len = total
        stores[app] = new
        self._counters.app_encodes += 1
        return new

    def _full(self, encoder: PayloadEncoder, variant: _Variant, v1: bool) -> CachedPayload:
        registry = self._registry
        head, tail = encoder.envelope(
            _FULL_VERSION,
            registry.apps_hashcode(),
            empty=registry.instance_count() == 0,
            compact=variant.compact,
            v1=variant.v1,
        )
        document = self._document(self._full_documents, encoder, variant, self._gzip_level)
        gzip = document.build(
            head, tail, registry.app_revisions(), registry.app_leases, self._clock.now_ms()
        )
        return CachedPayload(None, encoder.content_type, gzip=gzip)

    def _document(
        self,
        documents: dict[_Variant, ChunkedDocument],
        encoder: PayloadEncoder,
        variant: _Variant,
        level: int,
    ) -> ChunkedDocument:
        document = documents.get(variant)
        if document is None:

            def join(
                name: str, fragments: list[bytes], *, first: bool, opens: bool, closes: bool
            ) -> bytes:
                return encoder.run(
                    name,
                    fragments,
                    first=first,
                    opens=opens,
                    closes=closes,
                    compact=variant.compact,
                    v1=variant.v1,
                )

            document = documents[variant] = ChunkedDocument(
                lambda lease: self._encode(encoder, variant, lease),
                join,
                self._counters,
                level=level,
                expiry_ms=self._expiry_ms,
            )
        return document

    def _full_merged(
        self, encoder: PayloadEncoder, variant: _Variant, v1: bool, regions: tuple[str, ...]
    ) -> CachedPayload:
        """Local applications first, merged with the regions' instances of the same name, then
        the applications only remote regions have, in region order (Java's merge, §9.3)."""
        registry = self._registry
        remote = self._remote
        assert remote is not None
        now = self._clock.now_ms()
        contributions = remote.contributions(regions)
        previous = self._merged.get((variant, regions), {})
        built: dict[str, tuple[tuple[object, ...], _AppFragments]] = {}
        names: list[str] = []
        stores: list[_AppFragments] = []
        for app, revision in registry.app_revisions():
            store = self._app_fragments(encoder, variant, app, revision, now)
            sources = contributions.get(app)
            if sources is not None:
                store = self._merged_store(
                    encoder, variant, app, store, sources, previous=previous, built=built, now=now
                )
            names.append(app)
            stores.append(store)
        for app, sources in contributions.items():
            if registry.app_revision(app) is None:
                names.append(app)
                stores.append(
                    self._merged_store(
                        encoder,
                        variant,
                        app,
                        None,
                        sources,
                        previous=previous,
                        built=built,
                        now=now,
                    )
                )
        self._merged[(variant, regions)] = built
        parts = [(name, store.fragments) for name, store in zip(names, stores, strict=True)]
        apps_hashcode = remote.merged_hash(registry, regions)
        body = encoder.applications(
            _FULL_VERSION, apps_hashcode, parts, compact=variant.compact, v1=v1
        )
        return CachedPayload(
            body, encoder.content_type, lambda: self._chunked_gzip(variant, body, stores)
        )

    def _delta(
        self,
        encoder: PayloadEncoder,
        variant: _Variant,
        v1: bool,
        with_regions: bool,
        remote_part: tuple[Contributions, str] | None = None,
    ) -> CachedPayload:
        registry = self._registry
        now = self._clock.now_ms()
        version, apps_hashcode, groups = registry.delta_leases(with_regions=with_regions)
        parts = self._delta_parts(encoder, variant, groups, now)
        if remote_part is not None:
            contributions, apps_hashcode = remote_part
            self._add_remote_delta(encoder, variant, parts, groups, contributions)
        body = encoder.applications(version, apps_hashcode, parts, compact=variant.compact, v1=v1)
        return CachedPayload(
            body, encoder.content_type, self._whole_gzip(body, self._delta_gzip_level)
        )

    def _delta_parts(
        self,
        encoder: PayloadEncoder,
        variant: _Variant,
        groups: Mapping[str, Mapping[str, Lease]],
        now: int,
    ) -> list[tuple[str, Sequence[bytes]]]:
        """The local delta's instance fragments per application (merged regions' deltas add
        theirs to these), each encoded once while it
        stays in the window (unchanged revision), and again `expiry_ms` after it was (lease
        timestamps move without a revision, as the response cache's auto-expiration allows).

        The delta is compressed whole, not in per-application chunks as the full registry is:
        its applications hold one or two changed instances each, and a chunk that small costs
        its own Huffman tables — measured on 800 instances in 700 applications, 52.7 KB as
        chunks at level 6 against 34.2 KB as one stream at level 4 (0.75 ms), and every poller
        downloads those bytes between two changes.
        """
        old = self._delta_leases.get(variant, {})
        memo: dict[Lease, tuple[int, int, bytes]] = {}
        expiry = self._expiry_ms
        parts: list[tuple[str, Sequence[bytes]]] = []
        for app, by_id in groups.items():
            fragments = []
            for lease in by_id.values():
                cached = old.get(lease)
                if cached is None or cached[0] != lease.revision or now - cached[1] >= expiry:
                    cached = (lease.revision, now, self._encode(encoder, variant, lease))
                memo[lease] = cached
                fragments.append(cached[2])
            parts.append((app, fragments))
        self._delta_leases[variant] = memo
        return parts

    def _add_remote_delta(
        self,
        encoder: PayloadEncoder,
        variant: _Variant,
        parts: list[tuple[str, Sequence[bytes]]],
        groups: Mapping[str, Mapping[str, Lease]],
        contributions: Contributions,
    ) -> None:
        """Merge the regions' current deltas into the local delta's parts, per instance."""
        position = {app: i for i, (app, _) in enumerate(parts)}
        for app, sources in contributions.items():
            i = position.get(app)
            by_id: dict[str, bytes] = (
                {} if i is None else dict(zip(groups[app], parts[i][1], strict=True))
            )
            for region, application in sources:
                store = self._remote_store(encoder, variant, region, app, application, deltas=True)
                for iid, fragment in zip(store.ids, store.fragments, strict=True):
                    by_id.pop(iid, None)
                    by_id[iid] = fragment
            if i is None:
                position[app] = len(parts)
                parts.append((app, list(by_id.values())))
            else:
                parts[i] = (app, list(by_id.values()))

    def _application(
        self, encoder: PayloadEncoder, variant: _Variant, app: str, v1: bool
    ) -> CachedPayload | None:
        revision = self._registry.app_revision(app)
        if revision is None:
            # Transparent fallback (§2.3 (9)): the first region that has the application.
            found = self._remote.find_application(app) if self._remote is not None else None
            if found is None:
                return None
            region, application = found
            remote = self._remote_store(encoder, variant, region, app, application, deltas=False)
            body = encoder.application(app, remote.fragments, compact=variant.compact, v1=v1)
            return CachedPayload(body, encoder.content_type, self._whole_gzip(body))
        store = self._app_fragments(encoder, variant, app, revision, self._clock.now_ms())
        body = encoder.application(app, store.fragments, compact=variant.compact, v1=v1)
        return CachedPayload(body, encoder.content_type, self._whole_gzip(body))

    def _vip(
        self, encoder: PayloadEncoder, variant: _Variant, vip: str, secure: bool, v1: bool
    ) -> CachedPayload:
        registry = self._registry
        now = self._clock.now_ms()
        groups = registry.vip_leases(vip, secure)
        parts: list[tuple[str, Sequence[bytes]]] = []
        for app, by_id in groups.items():
            revision = registry.app_revision(app)
            assert revision is not None  # vip_leases only yields current applications
            index = self._app_fragments(encoder, variant, app, revision, now).index()
            parts.append((app, [index[lease] for lease in by_id.values()]))
        apps_hashcode = reconcile_hash(
            lease.holder for by_id in groups.values() for lease in by_id.values()
        )
        body = encoder.applications(
            _VIP_VERSION, apps_hashcode, parts, compact=variant.compact, v1=v1
        )
        return CachedPayload(body, encoder.content_type, self._whole_gzip(body))

    def _vip_merged(
        self,
        encoder: PayloadEncoder,
        variant: _Variant,
        vip: str,
        secure: bool,
        v1: bool,
        *,
        regions: tuple[str, ...],
    ) -> CachedPayload:
        """VIP payload over the merged full view (Java builds VIPs from `getApplications()`,
        which merges remote regions under transparent fallback): merge, then filter."""
        registry = self._registry
        remote = self._remote
        assert remote is not None
        now = self._clock.now_ms()
        contributions = remote.contributions(regions)
        local_matches = registry.vip_leases(vip, secure)
        parts: list[tuple[str, Sequence[bytes]]] = []
        matched: list[InstanceInfo] = []

        def add_merged(app: str, local: _AppFragments | None) -> None:
            entries: dict[str, tuple[InstanceInfo, bytes]] = {}
            if local is not None:
                for lease, fragment in zip(local.leases, local.fragments, strict=True):
                    entries[lease.holder.id] = (lease.holder, fragment)
            for region, application in contributions[app]:
                store = self._remote_store(encoder, variant, region, app, application, deltas=False)
                for iid, instance, fragment in zip(
                    store.ids, store.instances, store.fragments, strict=True
                ):
                    entries.pop(iid, None)
                    entries[iid] = (instance, fragment)
            fragments = []
            for instance, fragment in entries.values():
                address = instance.secure_vip_address if secure else instance.vip_address
                if address and vip in split_vips(address):
                    matched.append(instance)
                    fragments.append(fragment)
            if fragments:
                parts.append((app, fragments))

        for app, revision in registry.app_revisions():
            if app in contributions:
                add_merged(app, self._app_fragments(encoder, variant, app, revision, now))
                continue
            by_id = local_matches.get(app)
            if by_id:
                index = self._app_fragments(encoder, variant, app, revision, now).index()
                parts.append((app, [index[lease] for lease in by_id.values()]))
                matched.extend(lease.holder for lease in by_id.values())
        for app in contributions:
            if registry.app_revision(app) is None:
                add_merged(app, None)
        body = encoder.applications(
            _VIP_VERSION, reconcile_hash(matched), parts, compact=variant.compact, v1=v1
        )
        return CachedPayload(body, encoder.content_type, self._whole_gzip(body))

    def _encode(self, encoder: PayloadEncoder, variant: _Variant, lease: Lease) -> bytes:
        self._counters.instance_encodes += 1
        return encoder.instance(
            self._registry.decorate(lease),
            compact=variant.compact,
            v1=variant.v1,
            depth=variant.depth,
        )

    # ------------------------------------------------------------------------------------------
    # Gzip
    # ------------------------------------------------------------------------------------------

    def _whole_gzip(self, body: bytes, level: int | None = None) -> Callable[[], bytes]:
        chosen = self._gzip_level if level is None else level
        return lambda: gzip_whole(body, chosen)

    def _chunked_gzip(self, variant: _Variant, body: bytes, stores: list[_AppFragments]) -> bytes:
        """Gzip of a full document from per-application chunks, reusing unchanged ones.

        Segment i runs from the first fragment of application i to the first fragment of
        application i+1 (the last one to the end of the document); the text before the first
        fragment is the header segment. Fragments appear verbatim and in order in the document,
        so each segment is found with one short `find`.

        A chunk is reused when its segment is unchanged: the same fragment list (the encoders
        render an application's instance list from its fragments alone) followed by the same
        tail bytes, and the same predecessor (its dictionary). Should that ever be wrong, the
        CRC-32, always computed over the actual body, makes the client reject the payload
        rather than accept different text.
        """
        level = self._gzip_level
        if not stores:
            return gzip_whole(body, level)
        starts: list[int] = []
        position = 0
        for store in stores:
            found = body.find(store.fragments[0], position) if store.fragments else -1
            if found < 0:
                # The encoder did not embed fragments verbatim: compress the whole document.
                return gzip_whole(body, level)
            starts.append(found)
            position = found + store.total_len
        chunks: list[bytes] = []
        header = body[: starts[0]]
        cached_header = self._header_chunks.get(variant)
        if cached_header is not None and cached_header[0] == header:
            chunks.append(cached_header[1])
        else:
            chunk = deflate_chunk(header, level)
            self._counters.gzip_chunks += 1
            self._header_chunks[variant] = (header, chunk)
            chunks.append(chunk)
        ends = [*starts[1:], len(body)]
        previous: tuple[_AppFragments, bytes] | None = None
        previous_start = 0
        for store, start, end in zip(stores, starts, ends, strict=True):
            tail = body[start + store.total_len : end]
            if not (
                store.chunk is not None
                and store.chunk_tail == tail
                and _same_context(store.chunk_context, previous)
            ):
                # Prime with the previous segment's end (not the header, which changes on
                # every build), so that a chunk depends on its neighbour only.
                dictionary = (
                    b"" if previous is None else body[max(previous_start, start - WINDOW) : start]
                )
                store.chunk = deflate_chunk(body[start:end], level, dictionary)
                store.chunk_tail = tail
                store.chunk_context = previous
                self._counters.gzip_chunks += 1
            chunks.append(store.chunk)
            previous, previous_start = (store, tail), start
        return assemble(chunks, crc32(body), len(body))


def _same_context(
    a: tuple[_AppFragments, bytes] | None, b: tuple[_AppFragments, bytes] | None
) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] is b[0] and a[1] == b[1]

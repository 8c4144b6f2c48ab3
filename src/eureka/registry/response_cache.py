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

Cheap regeneration. Instances are encoded once into fragments held per application; a change
re-encodes only the changed instances of one application, and the full document is a join of
cached fragments. Its gzip is assembled from per-application deflate chunks (see `gzip_chunks`),
each primed with the text before it, so only the changed application's chunk and its successor's
are compressed again (and the small header). Renewals change no fragment: lease
timestamps in cached payloads may lag, as in Java, but never by more than the auto-expiration
time, after which an application's fragments are encoded afresh.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from eureka.clock import Clock
from eureka.reconcile import reconcile_hash
from eureka.registry.cache_key import Accept, ApiVersion, CacheKey, EntityType, Format
from eureka.registry.config import RegistryConfig
from eureka.registry.encoders import (
    DEPTH_IN_APPLICATION,
    DEPTH_IN_APPLICATIONS,
    PayloadEncoder,
    default_encoders,
)
from eureka.registry.gzip_chunks import WINDOW, assemble, deflate_chunk, gzip_whole
from eureka.registry.lease import Lease
from eureka.registry.registry import Registry

__all__ = ["CacheStats", "CachedPayload", "ResponseCache"]

# Version written in full payloads and VIP payloads (§5.3).
_FULL_VERSION = 1
_VIP_VERSION = -1


class CachedPayload:
    """One generated payload. `gzip` is computed on first use, once per payload."""

    __slots__ = ("_gzip", "_gzip_factory", "body", "content_type")

    def __init__(
        self, body: bytes, content_type: str, gzip_factory: Callable[[], bytes] | None = None
    ) -> None:
        self.body = body
        self.content_type = content_type
        self._gzip: bytes | None = None
        self._gzip_factory = gzip_factory

    @property
    def gzip(self) -> bytes:
        if self._gzip is None:
            factory = self._gzip_factory
            self._gzip = factory() if factory is not None else gzip_whole(self.body)
            self._gzip_factory = None
        return self._gzip

    def __repr__(self) -> str:
        return f"CachedPayload({self.content_type}, {len(self.body)} bytes)"


@dataclass(slots=True)
class CacheStats:
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
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._encoders = dict(encoders) if encoders is not None else default_encoders()
        self._gzip_level = gzip_level
        self._expiry_ms = config.response_cache_auto_expiration_in_seconds * 1000
        self._read_only_enabled = config.use_read_only_response_cache
        self.stats = CacheStats()

        self._seen_revision = registry.revision
        # Read-write tier, grouped by (entity, name) so a change drops its group in one step.
        self._rw: dict[tuple[EntityType, str], dict[CacheKey, _Entry]] = {}
        self._ro: dict[CacheKey, CachedPayload | None] = {}
        self._fragments: dict[_Variant, dict[str, _AppFragments]] = {}
        # Fragments of delta entries whose lease is no longer current (cancelled, superseded).
        self._delta_memo: dict[_Variant, dict[Lease, tuple[int, bytes]]] = {}
        self._header_chunks: dict[_Variant, tuple[bytes, bytes]] = {}
        # Expired entries are swept at most once per expiry period, so that GETs of ever new
        # names (unknown applications, VIPs) cannot grow the read-write tier without bound.
        self._next_sweep_ms = clock.now_ms() + self._expiry_ms

    # ------------------------------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------------------------------

    def get(self, key: CacheKey) -> CachedPayload | None:
        """The payload for `key`; None only for an application without instances (→ 404)."""
        key = key.normalized()
        if self._read_only_enabled:
            if key in self._ro:
                self.stats.hits += 1
                return self._ro[key]
            payload = self._get_read_write(key)
            self._ro[key] = payload
            return payload
        return self._get_read_write(key)

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

    def entry_count(self) -> int:
        """Payloads held by the read-write tier (for status pages and tests)."""
        return sum(len(group) for group in self._rw.values())

    def invalidate_all(self) -> None:
        """Drop every generated payload of the read-write tier (fragments self-validate)."""
        self.stats.invalidations += sum(len(group) for group in self._rw.values())
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
            self.stats.hits += 1
            return entry.payload
        self.stats.misses += 1
        if now >= self._next_sweep_ms:
            self._sweep_expired(now)
        payload = self._generate(key)
        self.stats.rebuilds += 1
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
        registry = self._registry
        revision = registry.revision
        if revision == self._seen_revision:
            return
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
        for group_key in dropped:
            group = self._rw.pop(group_key, None)
            if group is not None:
                self.stats.invalidations += len(group)
        self._forget_absent_apps(summary.apps)

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
            return self._full(encoder, in_applications, v1)
        if entity is EntityType.ALL_APPS_DELTA:
            return self._delta(encoder, in_applications, v1, bool(key.regions))
        if entity is EntityType.APP:
            in_application = self._variant(encoder, key.fmt, compact, v1, DEPTH_IN_APPLICATION)
            return self._application(encoder, in_application, key.name, v1)
        return self._vip(encoder, in_applications, key.name, entity is EntityType.SVIP, v1)

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
        self.stats.app_encodes += 1
        return new

    def _full(self, encoder: PayloadEncoder, variant: _Variant, v1: bool) -> CachedPayload:
        registry = self._registry
        now = self._clock.now_ms()
        names: list[str] = []
        stores: list[_AppFragments] = []
        for app, revision in registry.app_revisions():
            names.append(app)
            stores.append(self._app_fragments(encoder, variant, app, revision, now))
        parts = [(name, store.fragments) for name, store in zip(names, stores, strict=True)]
        body = encoder.applications(
            _FULL_VERSION, registry.apps_hashcode(), parts, compact=variant.compact, v1=v1
        )
        return CachedPayload(
            body, encoder.content_type, lambda: self._chunked_gzip(variant, body, stores)
        )

    def _delta(
        self, encoder: PayloadEncoder, variant: _Variant, v1: bool, with_regions: bool
    ) -> CachedPayload:
        registry = self._registry
        now = self._clock.now_ms()
        version, apps_hashcode, groups = registry.delta_leases(with_regions=with_regions)
        old_memo = self._delta_memo.get(variant, {})
        memo: dict[Lease, tuple[int, bytes]] = {}
        parts: list[tuple[str, Sequence[bytes]]] = []
        for app, by_id in groups.items():
            revision = registry.app_revision(app)
            current = (
                {}
                if revision is None
                else self._app_fragments(encoder, variant, app, revision, now).index()
            )
            fragments = []
            for lease in by_id.values():
                fragment = current.get(lease)
                if fragment is None:
                    # A cancelled or superseded lease: encoded once while it stays in the window.
                    cached = old_memo.get(lease)
                    if cached is not None and cached[0] == lease.revision:
                        fragment = cached[1]
                    else:
                        fragment = self._encode(encoder, variant, lease)
                    memo[lease] = (lease.revision, fragment)
                fragments.append(fragment)
            parts.append((app, fragments))
        self._delta_memo[variant] = memo
        body = encoder.applications(version, apps_hashcode, parts, compact=variant.compact, v1=v1)
        return CachedPayload(body, encoder.content_type, self._whole_gzip(body))

    def _application(
        self, encoder: PayloadEncoder, variant: _Variant, app: str, v1: bool
    ) -> CachedPayload | None:
        revision = self._registry.app_revision(app)
        if revision is None:
            return None
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

    def _encode(self, encoder: PayloadEncoder, variant: _Variant, lease: Lease) -> bytes:
        self.stats.instance_encodes += 1
        return encoder.instance(
            self._registry.decorate(lease),
            compact=variant.compact,
            v1=variant.v1,
            depth=variant.depth,
        )

    # ------------------------------------------------------------------------------------------
    # Gzip
    # ------------------------------------------------------------------------------------------

    def _whole_gzip(self, body: bytes) -> Callable[[], bytes]:
        level = self._gzip_level
        return lambda: gzip_whole(body, level)

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
            self.stats.gzip_chunks += 1
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
                self.stats.gzip_chunks += 1
            chunks.append(store.chunk)
            previous, previous_start = (store, tail), start
        return assemble(chunks, zlib.crc32(body), len(body))


def _same_context(
    a: tuple[_AppFragments, bytes] | None, b: tuple[_AppFragments, bytes] | None
) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] is b[0] and a[1] == b[1]

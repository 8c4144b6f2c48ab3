"""The registry's HTTP application: one request in, one core call, one response out.

Thin by design (architecture.md): parse and validate, call the registry core, encode. All of it is
synchronous — the core is pure and in memory, and the response cache makes reads a dictionary
lookup — so the RSGI/ASGI adapters only collect the body and call `EurekaApp.handle`.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from importlib import resources
from time import perf_counter
from typing import TYPE_CHECKING, Protocol

import msgspec

from eureka import __version__
from eureka.clock import Clock
from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.digest import format_digest
from eureka.errors import BadInput, Denied
from eureka.model import InstanceInfo, InstanceStatus
from eureka.registry import Registry, RenewOutcome, ResponseCache
from eureka.registry.cache_key import Accept, ApiVersion, CacheKey, EntityType, Format
from eureka.registry.cursor_payloads import CursorPayloads, PayloadShape
from eureka.registry.remote_regions import RemoteRegions
from eureka.registry.response_cache import CachedPayload
from eureka.replication.protocol import (
    Action,
    ReplicationInstance,
    ReplicationItemResult,
    apply_batch,
    decode_batch,
    encode_batch_response,
)
from eureka.server import dashboard, health, propagation
from eureka.server.auth import Authenticator
from eureka.server.config import ServerConfig
from eureka.server.gc_policy import GcStats
from eureka.server.http import (
    JSON,
    REPLICATION_HEADER,
    XML,
    Parked,
    Request,
    Response,
    decompress_body,
    empty,
    parse_query,
    text,
)
from eureka.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from eureka.server.metrics import PARKED, UNROUTED, Metrics, RequestTallies, RouteKey
from eureka.server.process import process_facts
from eureka.server.rate_limit import FetchLimiter, FetchTarget
from eureka.server.replicator import NoPeers, Replicator
from eureka.server.routes import Route, route
from eureka.server.status import (
    AuthStatus,
    NodeStatus,
    RateLimiterStatus,
    StartupSync,
    build_status,
)

if TYPE_CHECKING:
    from eureka.replication.anti_entropy import AntiEntropyStats
    from eureka.server.cluster import SyncResult
from eureka.server.watch import WatchHub


class AntiEntropySource(Protocol):
    """The node's anti-entropy (`server.anti_entropy.AntiEntropyRunner`), for the status."""

    def stats(self) -> dict[str, AntiEntropyStats]: ...


__all__ = ["EurekaApp"]

log = logging.getLogger("eureka.server")

# Header tuples of cached payloads, built once: these are the registry's hottest responses.
# (Each response gets its own list: `handle` appends the features header to it.)
_GZIP_JSON = (("content-type", JSON), ("content-encoding", "gzip"), ("vary", "Accept-Encoding"))
_GZIP_XML = (("content-type", XML), ("content-encoding", "gzip"), ("vary", "Accept-Encoding"))
_PLAIN_JSON = (("content-type", JSON), ("vary", "Accept-Encoding"))
_PLAIN_XML = (("content-type", XML), ("vary", "Accept-Encoding"))
_PARSE_ERROR_JSON = b'{"error": "cannot parse request body"}'
_PARSE_ERROR_XML = b"<error><message>cannot parse request body</message></error>"
_TEXT = "text/plain; charset=utf-8"
# A refusal of each reason is logged at once, then at most once per this many seconds.
_REFUSAL_LOG_INTERVAL_S = 10.0
# Held answers shared within one registry revision: (revision, oldest revision, since, apps,
# shape, gzip). Distinct keys per revision are few (watchers mostly share `since`); the cap
# bounds a pathological mix of subsets.
_HeldKey = tuple[int, int, int, "frozenset[str] | None", PayloadShape, bool]
_HELD_MEMO_MAX = 1024
# Java answers 500 for these; a bad query value is the caller's fault, so we say 400.
_BAD_STATUS = "value must be one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN"


class EurekaApp:
    def __init__(
        self,
        config: ServerConfig,
        registry: Registry,
        cache: ResponseCache,
        clock: Clock,
        *,
        replicator: Replicator | None = None,
        remote_regions: RemoteRegions | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.cache = cache
        self.clock = clock
        self.replicator: Replicator = replicator or NoPeers()
        # Other regions' registries: instance lookups fall back on them (§2.3 (10), (11)).
        self.remote_regions = remote_regions
        self.started_ms = clock.now_ms()
        # False while a clustered node copies its peers' registries at start-up.
        self.ready = True
        # What that copy found, once it is done (None on a single node).
        self.startup_sync: SyncResult | None = None
        # Anti-entropy between peers, once the node runs it (None on a single node).
        self.anti_entropy: AntiEntropySource | None = None
        # The process's collector (server/gc_freezer.py), when `eureka server` runs it.
        self.gc_stats: Callable[[], GcStats] | None = None
        self._prefix = tuple(s for s in config.prefix.split("/") if s)
        self.metrics: Metrics | None = None
        self._request_tallies: RequestTallies | None = None
        if config.metrics_enabled:
            self.metrics = Metrics(self.node_status, registry.application_summaries)
            self._request_tallies = self.metrics.requests
        # This node's revision space (docs/design/propagation.md): another node or a restart
        # is another epoch, so a client's revision is only meaningful together with it.
        self.epoch = propagation.make_epoch(
            config.my_url or f"{config.host}:{config.port}", self.started_ms
        )
        self._epoch_header = (propagation.EPOCH, self.epoch)
        features = (
            "digest,subset" if config.registry.disable_delta else "cursor,watch,digest,subset"
        )
        self._features_header = (propagation.FEATURES, features)
        # Cursor deltas and subsets (not legacy keys: the response cache does not hold them),
        # and the held watches.
        self.payloads = CursorPayloads(
            registry,
            gzip_level=config.gzip_level,
            expiry_ms=config.registry.response_cache_auto_expiration_in_seconds * 1000,
        )
        self.watch = WatchHub(registry, clock)
        self._rng = random.Random()
        self._held_memo: tuple[int, dict[_HeldKey, tuple[Response, int | None]]] = (-1, {})
        # Revisions describe cached payloads only when the read-write tier serves them (the
        # read-only tier may be 30 s old) and no remote region's data is merged into them.
        self._cache_is_current = not config.registry.use_read_only_response_cache
        self._digests_memo: tuple[int, frozenset[str] | None, bytes] | None = None
        # None when off: then neither costs the hot path more than an attribute test.
        self.auth = Authenticator(config.auth, clock) if config.auth.enabled else None
        self.fetch_limiter = (
            FetchLimiter(
                clock,
                burst_size=config.rate_limiter_burst_size,
                registry_fetch_average_rate=config.rate_limiter_registry_fetch_average_rate,
                full_fetch_average_rate=config.rate_limiter_full_fetch_average_rate,
                privileged_clients=config.rate_limiter_privileged_clients,
                throttle_standard_clients=config.rate_limiter_throttle_standard_clients,
            )
            if config.rate_limiter_enabled
            else None
        )
        self._refusals_logged: dict[str, tuple[float, int]] = {}

    # -- entry point -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response | Parked:
        # Observed once here, around everything (style.md §2.2): one clock read on each side.
        tallies = self._request_tallies
        started = perf_counter() if tallies is not None else 0.0
        key, target, handler = self._resolve(request)
        try:
            result = self._dispatch(request, key, target, handler)
        except BadInput as exc:
            result = text(400, exc.reason)
        except Denied as exc:
            self._log_refusal(request, exc)
            result = Response(
                exc.status, [("content-type", _TEXT), *exc.headers], exc.message.encode()
            )
        except Exception:
            # A bug of ours, never the caller's input: say so, keep serving.
            log.exception("internal error on %s %s", request.method, request.path)
            result = text(500, "internal error")
        if type(result) is Response:
            # Every handler builds its own header list, so this never touches a shared one.
            result.headers.append(self._features_header)
        # After every request, so after every write (one integer compare when nothing changed):
        # the held watches that a change concerns are woken in this same turn of the loop.
        self.watch.unpark_ready()
        if tallies is not None:
            # The application's own time: a held request is counted when it is parked.
            status = result.status if type(result) is Response else PARKED
            tallies.observe(key, status, perf_counter() - started)
        return result

    def _resolve(self, request: Request) -> tuple[RouteKey, Route | None, _Handler | None]:
        """The routing-table row of a request (UNROUTED if none), its target and handler."""
        target = route(request.path, self._prefix)
        if target is None:
            return UNROUTED, None, None
        method = request.method.upper()
        if method == "HEAD":
            method = "GET"
        key = (target.resource, len(target.args), method)
        handler = _HANDLERS.get(key)
        return (key if handler is not None else UNROUTED), target, handler

    def _dispatch(
        self, request: Request, key: RouteKey, target: Route | None, handler: _Handler | None
    ) -> Response | Parked:
        if target is None:
            return text(404, "not found")
        if handler is None:
            if any(r == target.resource and n == len(target.args) for r, n, _ in _HANDLERS):
                return text(405, "method not allowed")
            return text(404, "not found")
        if self.auth is not None:
            # Raises Denied before anything reaches the registry (server/auth.py: POLICY).
            principal = self.auth.authorize(
                key, request.header("authorization"), request.header(REPLICATION_HEADER) == "true"
            )
            request.replication_allowed = principal is not None and principal.is_peer
        if self.fetch_limiter is not None and key in _FETCHES:
            fetch = _FETCHES[key] if target.args[:1] != ("delta",) else FetchTarget.DELTA
            if not self.fetch_limiter.admit(fetch, request.header("discoveryidentity-name")):
                return empty(503)
        return handler(self, request, target)

    def _log_refusal(self, request: Request, denied: Denied) -> None:
        now = self.clock.monotonic()
        last, suppressed = self._refusals_logged.get(denied.reason, (None, 0))
        if last is not None and now - last < _REFUSAL_LOG_INTERVAL_S:
            self._refusals_logged[denied.reason] = (last, suppressed + 1)
            return
        self._refusals_logged[denied.reason] = (now, 0)
        log.warning(
            "refused %s %s with %d: %s%s%s",
            request.method,
            request.path[:200],
            denied.status,
            denied.reason,
            "" if denied.user is None else f" (user {denied.user[:64]!r})",
            f"; {suppressed} more refused for this reason since the last line"
            if suppressed
            else "",
        )

    # -- writes ------------------------------------------------------------------------------

    def _register(self, request: Request, target: Route) -> Response:
        content_type = request.header("content-type").lower()
        body = decompress_body(
            request.body, request.header("content-encoding"), self.config.max_body_bytes
        )
        if "json" in content_type or (not content_type and body.lstrip()[:1] == b"{"):
            is_json = True
        elif "xml" in content_type or (not content_type and body.lstrip()[:1] == b"<"):
            is_json = False
        else:
            return empty(415)
        reply_type = JSON if is_json else XML
        try:
            if is_json:
                info = json_codec.decode_instance(body, max_bytes=self.config.max_body_bytes)
            else:
                info = xml_codec.decode_instance(body, max_bytes=self.config.max_body_bytes)
        except BadInput:
            return Response(
                400,
                [("content-type", reply_type)],
                _PARSE_ERROR_JSON if is_json else _PARSE_ERROR_XML,
            )
        self.registry.validate_registration(target.args[0], info)
        self.registry.register(info, is_replication=request.is_replication)
        _log_registered(self.registry, info, request.is_replication)
        if not request.is_replication:
            self.replicator.register(info)
        return empty(204, reply_type)

    def _renew(self, request: Request, target: Route) -> Response:
        app, instance_id = target.args
        params = parse_query(request.query)
        last_dirty = _optional_int(params.get("lastDirtyTimestamp"), "lastDirtyTimestamp")
        overridden = _optional_status(params.get("overriddenstatus"))
        replicated = request.is_replication
        result = self.registry.renew(
            app,
            instance_id,
            is_replication=replicated,
            last_dirty_timestamp=last_dirty,
            overridden_status=overridden,
        )
        reply_type = JSON if request.entity_wants_json else XML
        # The lease was renewed even when the timestamps disagree (a 404 telling the client to
        # re-register, or a 409): replicate the heartbeat first, as Java does.
        if result.renewed and not replicated:
            self.replicator.heartbeat(app, instance_id)
        if result.outcome is RenewOutcome.NOT_FOUND:
            return empty(404, reply_type)
        if result.outcome is RenewOutcome.CONFLICT and result.instance is not None:
            return self._entity(request, result.instance, 409)
        return empty(200, reply_type)

    def _cancel(self, request: Request, target: Route) -> Response:
        app, instance_id = target.args
        if not self.registry.cancel(app, instance_id, is_replication=request.is_replication):
            return empty(404)
        _log_change("cancelled", app, instance_id, request.is_replication)
        if not request.is_replication:
            self.replicator.cancel(app, instance_id)
        return empty(200)

    def _status_update(self, request: Request, target: Route) -> Response:
        app, instance_id, _ = target.args
        params = parse_query(request.query)
        status = _required_status(params.get("value"))
        last_dirty = _optional_int(params.get("lastDirtyTimestamp"), "lastDirtyTimestamp")
        if not self.registry.status_update(
            app, instance_id, status, last_dirty, is_replication=request.is_replication
        ):
            return empty(404)
        _log_change("status override set", app, instance_id, request.is_replication, status)
        if not request.is_replication:
            self.replicator.status_update(app, instance_id)
        return empty(200)

    def _delete_override(self, request: Request, target: Route) -> Response:
        app, instance_id, _ = target.args
        params = parse_query(request.query)
        value = params.get("value")
        new_status = InstanceStatus.UNKNOWN if value is None else _required_status(value)
        last_dirty = _optional_int(params.get("lastDirtyTimestamp"), "lastDirtyTimestamp")
        if not self.registry.delete_status_override(
            app, instance_id, new_status, last_dirty, is_replication=request.is_replication
        ):
            return empty(404)
        _log_change("status override removed", app, instance_id, request.is_replication, new_status)
        if not request.is_replication:
            self.replicator.delete_status_override(app, instance_id)
        return empty(200)

    def _metadata(self, request: Request, target: Route) -> Response:
        app, instance_id, _ = target.args
        params = parse_query(request.query)
        if not self.registry.update_metadata(app, instance_id, params):
            return empty(404)
        log.info(
            "metadata updated",
            extra={
                "fields": {"app": app.upper(), "instance": instance_id, "keys": ",".join(params)}
            },
        )
        # Java re-registers the edited object, which replicates as a Register (§6.7).
        stored = self.registry.get_instance(app, instance_id)
        if stored is not None:
            self.replicator.register(stored)
        return empty(200)

    def _batch(self, request: Request, target: Route) -> Response:
        body = decompress_body(
            request.body, request.header("content-encoding"), self.config.max_body_bytes
        )
        items = decode_batch(body, max_bytes=self.config.max_body_bytes)
        results = apply_batch(self.registry, items)
        _log_replicated(self.registry, items, results)
        return Response(200, [("content-type", JSON)], encode_batch_response(results))

    def _asg(self, request: Request, target: Route) -> Response:
        # ASG state only exists on an AWS registry; the Java server answers 400 elsewhere (§2.3).
        return text(400, "ASG status is only supported on an AWS registry")

    # -- reads -------------------------------------------------------------------------------

    def _cached(self, request: Request, key: CacheKey, *, not_found: int = 404) -> Response:
        payload = self.cache.get(key)
        if payload is None:
            return empty(not_found)
        is_json = key.fmt is Format.JSON
        if request.accepts_gzip:
            headers = [*(_GZIP_JSON if is_json else _GZIP_XML), *self._revision_headers(key)]
            return Response(200, headers, payload.gzip)
        headers = [*(_PLAIN_JSON if is_json else _PLAIN_XML), *self._revision_headers(key)]
        return Response(200, headers, payload.body)

    def _revision_headers(self, key: CacheKey) -> list[tuple[str, str]]:
        """Epoch, and the revision and digest of what a cached payload shows, when it shows
        exactly the local registry now (docs/design/propagation.md)."""
        epoch = self._epoch_header
        registry = self.registry
        if not self._cache_is_current:
            return [epoch]
        entity = key.entity
        if entity is EntityType.APP:
            if registry.app_revision(key.name) is None:
                return [epoch]  # another region's application (transparent fallback)
            digest = registry.app_digest(key.name)
        elif self.remote_regions is not None:
            return [epoch]  # may merge other regions' instances
        elif entity is EntityType.ALL_APPS or entity is EntityType.ALL_APPS_DELTA:
            digest = registry.digest
        else:
            return [epoch, (propagation.REVISION, str(registry.revision))]
        return [
            epoch,
            (propagation.REVISION, str(registry.revision)),
            (propagation.DIGEST, format_digest(digest)),
        ]

    def _key(
        self,
        request: Request,
        target: Route,
        entity: EntityType,
        name: str,
        regions: tuple[str, ...],
    ) -> CacheKey:
        return CacheKey(
            entity=entity,
            name=name,
            fmt=Format.JSON if request.wants_json else Format.XML,
            version=ApiVersion.V1 if target.v1 else ApiVersion.V2,
            accept=Accept.COMPACT if request.compact else Accept.FULL,
            regions=regions,
        )

    def _allow(self, *, remote_region_required: bool = False) -> bool:
        return self.ready and self.registry.should_allow_access(remote_region_required)

    def _apps(self, request: Request, target: Route) -> Response:
        params = parse_query(request.query)
        if "apps" in params:
            return self._subset_full(request, target, params)
        regions = _regions(params.get("regions"))
        if not self._allow(remote_region_required=bool(regions)):
            return empty(403)
        return self._cached(request, self._key(request, target, EntityType.ALL_APPS, "", regions))

    def _delta(self, request: Request, target: Route) -> Response | Parked:
        params = parse_query(request.query)
        if "since" in params or "wait" in params or "apps" in params:
            return self._propagation_delta(request, target, params)
        regions = _regions(params.get("regions"))
        if self.config.registry.disable_delta or not self._allow(
            remote_region_required=bool(regions)
        ):
            return empty(403)
        key = self._key(request, target, EntityType.ALL_APPS_DELTA, "", regions)
        return self._cached(request, key)

    # -- cursors, watches, subsets (docs/design/propagation.md) ------------------------------

    def _subset_full(self, request: Request, target: Route, params: dict[str, str]) -> Response:
        """`GET /apps?apps=A,B`: the full view of some applications, their hash and digest."""
        apps = _subset(params)
        if not self._allow():
            return empty(403)
        payload = self.payloads.full(apps, _shape(request, target), self.clock.now_ms())
        registry = self.registry
        return self._payload_response(
            request, payload, registry.revision, registry.subset_digest(apps)
        )

    def _propagation_delta(
        self, request: Request, target: Route, params: dict[str, str]
    ) -> Response | Parked:
        """`GET /apps/delta?since=R[&wait=S][&apps=A,B]`, or `?apps=A,B` (the legacy window of
        some applications)."""
        apps = _subset(params) if "apps" in params else None
        if "regions" in params:
            raise BadInput("since, wait and apps serve the local registry: drop regions")
        raw_since = params.get("since")
        if raw_since is None and "wait" in params:
            raise BadInput("wait needs since (the revision to watch from)")
        since = None if raw_since is None else propagation.parse_since(raw_since)
        wait_s = propagation.parse_wait(params["wait"]) if "wait" in params else None
        epoch = request.header(propagation.EPOCH) or params.get("epoch", "")
        if since is not None and not epoch:
            raise BadInput("since needs the epoch it belongs to (X-Eureka-Epoch or epoch=)")
        if self.config.registry.disable_delta or not self._allow():
            return empty(403)
        registry = self.registry
        shape = _shape(request, target)
        now_ms = self.clock.now_ms()
        if since is None:
            assert apps is not None
            payload = self.payloads.window(apps, shape, now_ms)
            return self._payload_response(
                request, payload, registry.revision, registry.subset_digest(apps)
            )
        gone = self._cursor_gone(epoch, since)
        if gone is not None:
            return gone
        delta = self.payloads.cursor(since, apps, shape, now_ms)
        assert delta is not None  # `_cursor_gone` checked the range
        gzip = request.accepts_gzip
        if wait_s is None:
            return self._cursor_response(gzip, delta.payload, apps, features=False)
        answer = functools.partial(self._held_answer, since, apps, shape, gzip)
        monotonic = self.clock.monotonic()
        earliest = self._earliest(since, now_ms, monotonic)
        if delta.changed:
            if earliest is None:
                return self._cursor_response(gzip, delta.payload, apps, features=False)
            # Under churn: at most one answer per watcher per min-interval, with all changes.
            return self.watch.park(
                since, apps, deadline=earliest, answer=answer, earliest=earliest, changed=True
            )
        hold = wait_s + self._rng.uniform(0.0, wait_s / 16)
        return self.watch.park(
            since, apps, deadline=monotonic + hold, answer=answer, earliest=earliest
        )

    def _earliest(self, since: int, now_ms: int, monotonic: float) -> float | None:
        """When a watch from `since` may be answered: `watch-min-interval-ms` after change
        `since`, which is about when this watcher got its previous answer. None: at once."""
        interval = self.config.watch_min_interval_ms
        changed_ms = self.registry.change_time_ms(since) if interval > 0 else None
        if changed_ms is None or changed_ms + interval <= now_ms:
            return None
        return monotonic + (changed_ms + interval - now_ms) / 1000

    def _cursor_gone(self, epoch: str, since: int) -> Response | None:
        """410 when `since` cannot be answered from here: another epoch, ahead, too old."""
        registry = self.registry
        if epoch != self.epoch:
            reason = f"epoch {epoch} is not this server's {self.epoch} (restarted, or another node)"
        elif since > registry.revision:
            reason = f"revision {since} is ahead of this server's {registry.revision}"
        elif since < registry.oldest_revision:
            reason = (
                f"revision {since} is older than the change log holds"
                f" (oldest {registry.oldest_revision})"
            )
        else:
            return None
        response = text(410, reason)
        response.headers += [self._epoch_header, (propagation.REVISION, str(registry.revision))]
        return response

    def _held_answer(
        self, since: int, apps: frozenset[str] | None, shape: PayloadShape, gzip: bool
    ) -> tuple[Response, int | None]:
        """A held watch resumes: its changes (200), nothing (304), or 410 if its revision fell
        out of the log meanwhile.

        One change wakes thousands of watches from the same `since`: they share one answer
        (its headers are never mutated after this point), built once per registry state."""
        registry = self.registry
        key = (registry.revision, registry.oldest_revision, since, apps, shape, gzip)
        memo = self._held_memo
        if memo[0] != registry.revision or len(memo[1]) >= _HELD_MEMO_MAX:
            memo = self._held_memo = (registry.revision, {})
        found = memo[1].get(key)
        if found is None:
            found = memo[1][key] = self._build_held_answer(since, apps, shape, gzip)
        return found

    def _build_held_answer(
        self, since: int, apps: frozenset[str] | None, shape: PayloadShape, gzip: bool
    ) -> tuple[Response, int | None]:
        delta = self.payloads.cursor(since, apps, shape, self.clock.now_ms())
        if delta is None:
            gone = self._cursor_gone(self.epoch, since)
            assert gone is not None
            gone.headers.append(self._features_header)
            return gone, None
        if not delta.changed:
            headers = self._state_headers(delta.revision, apps)
            headers.append(self._features_header)
            return Response(304, headers, b""), None
        return (
            self._cursor_response(gzip, delta.payload, apps, features=True),
            delta.first_change_ms,
        )

    def _cursor_response(
        self,
        gzip: bool,
        payload: CachedPayload,
        apps: frozenset[str] | None,
        *,
        features: bool,
    ) -> Response:
        if gzip:
            headers = [("content-type", payload.content_type), ("content-encoding", "gzip")]
            body = payload.gzip
        else:
            headers = [("content-type", payload.content_type)]
            body = payload.body
        headers.append(("vary", "Accept-Encoding"))
        headers += self._state_headers(self.registry.revision, apps)
        if features:
            headers.append(self._features_header)
        return Response(200, headers, body)

    def _payload_response(
        self, request: Request, payload: CachedPayload, revision: int, digest: int
    ) -> Response:
        gzip = request.accepts_gzip
        headers = [("content-type", payload.content_type)]
        if gzip:
            headers.append(("content-encoding", "gzip"))
        headers += [
            ("vary", "Accept-Encoding"),
            self._epoch_header,
            (propagation.REVISION, str(revision)),
            (propagation.DIGEST, format_digest(digest)),
        ]
        return Response(200, headers, payload.gzip if gzip else payload.body)

    def _state_headers(self, revision: int, apps: frozenset[str] | None) -> list[tuple[str, str]]:
        registry = self.registry
        digest = registry.digest if apps is None else registry.subset_digest(apps)
        return [
            self._epoch_header,
            (propagation.REVISION, str(revision)),
            (propagation.DIGEST, format_digest(digest)),
        ]

    def _app(self, request: Request, target: Route) -> Response | Parked:
        # JAX-RS prefers the literal path: "/apps/delta" is the delta, whatever the case rules.
        literal = _APPS_LITERALS.get(target.args[0])
        if literal is not None:
            return literal(self, request, target)
        if not self._allow():
            return empty(403)
        key = self._key(request, target, EntityType.APP, target.args[0].upper(), ())
        return self._cached(request, key)

    def _digests(self, request: Request, target: Route) -> Response:
        """`GET /apps/digests[?apps=A,B]`: per-application content digests and their total."""
        params = parse_query(request.query)
        raw_apps = params.get("apps")
        subset = None if raw_apps is None else propagation.parse_apps(raw_apps)
        if not self._allow():
            return empty(403)
        registry = self.registry
        revision = registry.revision
        memo = self._digests_memo
        if memo is not None and memo[0] == revision and memo[1] == subset:
            body = memo[2]
        else:
            digests = registry.app_digests()
            if subset is None:
                total = registry.digest
            else:
                digests = {name: digests[name] for name in subset if name in digests}
                total = registry.subset_digest(subset)
            body = propagation.digests_body(self.epoch, revision, total, digests)
            self._digests_memo = (revision, subset, body)
        total_digest = registry.digest if subset is None else registry.subset_digest(subset)
        formatted = format_digest(total_digest)
        headers = [
            ("content-type", JSON),
            self._epoch_header,
            (propagation.REVISION, str(revision)),
            (propagation.DIGEST, formatted),
            # Weak: two nodes with equal content send equal tags in different bodies (epoch).
            ("etag", f'W/"{formatted}"'),
        ]
        if propagation.etag_matches(request.header("if-none-match"), formatted):
            # A peer's anti-entropy round when nothing differs: headers only.
            return Response(304, headers, b"")
        return Response(200, headers, body)

    def _cancelled(self, request: Request, target: Route) -> Response:
        """`GET /peerreplication/cancelled?apps=A,B`: recent client cancels of those
        applications' instances (not evictions), for a peer's anti-entropy round."""
        raw_apps = parse_query(request.query).get("apps")
        if raw_apps is None:
            raise BadInput("apps is required")
        apps = propagation.parse_apps(raw_apps)
        if not self._allow():
            return empty(403)
        body = propagation.cancelled_body(self.registry.cancellations(apps))
        return Response(200, [("content-type", JSON), self._epoch_header], body)

    def _vip(self, request: Request, target: Route) -> Response:
        if not self._allow():
            return empty(403)
        entity = EntityType.SVIP if target.resource == "svips" else EntityType.VIP
        return self._cached(request, self._key(request, target, entity, target.args[0], ()))

    def _instance(self, request: Request, target: Route) -> Response:
        app, instance_id = target.args
        found = self.registry.get_instance(app, instance_id)
        if found is None and self.remote_regions is not None:
            found = self.remote_regions.find_instance(app, instance_id)
        return empty(404) if found is None else self._entity(request, found, 200)

    def _instance_by_id(self, request: Request, target: Route) -> Response:
        found = self.registry.find_instance(target.args[0])
        if found is None and self.remote_regions is not None:
            found = self.remote_regions.find_instance_by_id(target.args[0])
        return empty(404) if found is None else self._entity(request, found, 200)

    def _entity(self, request: Request, instance: InstanceInfo, status: int) -> Response:
        # We render the true status in XML too: the Java server's V1 mapping here is a bug
        # (protocol.md §11a), not a contract.
        if request.entity_wants_json:
            return Response(status, [("content-type", JSON)], json_codec.encode_instance(instance))
        return Response(status, [("content-type", XML)], xml_codec.encode_instance(instance))

    def _overrides(self, request: Request, target: Route) -> Response:
        body = {key: value.value for key, value in self.registry.overrides().items()}
        return Response(200, [("content-type", JSON)], msgspec.json.encode(body))

    def _status(self, request: Request, target: Route) -> Response:
        body = msgspec.json.encode(msgspec.to_builtins(self.node_status()))
        return Response(200, [("content-type", JSON)], body)

    def _metrics(self, request: Request, target: Route) -> Response:
        if self.metrics is None:
            return text(404, "metrics are disabled (eureka.server.metrics-enabled: false)")
        return Response(200, [("content-type", METRICS_CONTENT_TYPE)], self.metrics.exposition())

    def _actuator(self, request: Request, target: Route) -> Response:
        # Spring Boot's paths: /actuator/health[/liveness|/readiness]. (/actuator/prometheus
        # is routed to the /metrics row, server/routes.py.)
        match target.args:
            case ("health",):
                return health.health(self._readiness())
            case ("health", "liveness"):
                return health.liveness()
            case ("health", "readiness"):
                return health.readiness(self._readiness())
        return text(404, "not found")

    def _readiness(self) -> health.Readiness:
        return health.Readiness(ready=self.ready, allow_access=self._allow())

    # -- dashboard (server/dashboard.py) -------------------------------------------------------

    def _dashboard(self, request: Request, target: Route) -> Response:
        status = self.node_status()
        page = dashboard.render_dashboard(
            status, self.registry.application_summaries(), api=self.config.prefix.strip("/")
        )
        return _html(page)

    def _openapi(self, request: Request, target: Route) -> Response:
        return Response(200, [("content-type", JSON)], _openapi_document())

    def _lastn(self, request: Request, target: Route) -> Response:
        page = dashboard.render_lastn(
            self.registry, now_ms=self.clock.now_ms(), hostname=process_facts().hostname
        )
        return _html(page)

    def _static(self, request: Request, target: Route) -> Response:
        asset = dashboard.static_asset(target.args[0])
        if asset is None:
            return text(404, "not found")
        headers = [
            ("content-type", asset.content_type),
            ("cache-control", "public, max-age=86400"),
            ("x-content-type-options", "nosniff"),
        ]
        return Response(200, headers, asset.body)

    def _summary(self, request: Request, target: Route) -> Response:
        """`<prefix>/summary/apps[/{app}]`: the dashboard's feeds (ours, not Eureka's API)."""
        if target.args[0] != "apps":
            return text(404, "not found")
        params = parse_query(request.query)
        if len(target.args) == 2:
            body = dashboard.instance_page_body(self.registry, target.args[1], params)
            if body is None:
                return text(404, "no such application")
            return Response(200, [("content-type", JSON), _NO_STORE], body)
        # The summaries change only with the revision: a poll that saw it gets a 304.
        etag = f'W/"{self.epoch}.{self.registry.revision}"'
        if request.header("if-none-match") == etag:
            return Response(304, [("etag", etag)], b"")
        body = dashboard.applications_body(self.registry, params.get("q"))
        return Response(
            200, [("content-type", JSON), ("etag", etag), ("cache-control", "no-cache")], body
        )

    def node_status(self) -> NodeStatus:
        """The node's state, from the cores' public reads (server/status.py)."""
        config = self.config
        sync = self.startup_sync
        return build_status(
            version=__version__,
            now_ms=self.clock.now_ms(),
            started_ms=self.started_ms,
            host=config.host,
            port=config.port,
            prefix=config.prefix,
            my_url=config.my_url,
            environment=config.environment,
            datacenter=config.datacenter,
            process=process_facts(),
            registry=self.registry,
            cache=self.cache.stats(),
            ready=self.ready,
            allow_access=self._allow(),
            peers=self.replicator.peer_stats(),
            startup_sync=None
            if sync is None
            else StartupSync(sync.copied, sync.answered, sync.unreachable),
            remote_regions=None if self.remote_regions is None else self.remote_regions.stats(),
            anti_entropy=None if self.anti_entropy is None else self.anti_entropy.stats(),
            auth=None
            if self.auth is None
            else AuthStatus(
                enabled=True,
                read_access=self.auth.config.read_access.value,
                users=len(self.auth.config.users),
                refused=self.auth.refused_counts(),
            ),
            rate_limiter=None
            if self.fetch_limiter is None
            else RateLimiterStatus(enabled=True, **self.fetch_limiter.stats()),
            watch=self.watch.stats(),
            gc=None if self.gc_stats is None else self.gc_stats(),
        )


_NO_STORE = ("cache-control", "no-store")
_PAGE_HEADERS = (
    ("content-security-policy", dashboard.CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
)


def _html(page: str) -> Response:
    return Response(
        200, [("content-type", "text/html; charset=utf-8"), *_PAGE_HEADERS], page.encode()
    )


def _log_change(
    event: str,
    app: str,
    instance_id: str,
    replication: bool,
    status: InstanceStatus | str | None = None,
) -> None:
    """One operator line per change, the way Java logs them (app, id, status, replication)."""
    fields: dict[str, object] = {"app": app.upper(), "instance": instance_id}
    if status is not None:
        fields["status"] = str(status)
    fields["replication"] = replication
    log.info(event, extra={"fields": fields})


def _log_registered(registry: Registry, info: InstanceInfo, replication: bool) -> None:
    # The registry owns `info` now; it holds the effective status the override rules chose.
    stored = registry.stored_instance(info.app, info.id)
    if stored is info:
        _log_change("registered", info.app, info.id, replication, stored.status)


# Replicated items that change what clients see; heartbeats are the hot path and stay silent.
_LOGGED_ACTIONS = {
    Action.CANCEL: "cancelled",
    Action.STATUS_UPDATE: "status override set",
    Action.DELETE_STATUS_OVERRIDE: "status override removed",
}


def _log_replicated(
    registry: Registry,
    items: list[ReplicationInstance],
    results: list[ReplicationItemResult],
) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    # Most batches are heartbeats only: find that out with one cheap pass (3 µs per 250 items,
    # measured, against 29 µs for the general loop below).
    heartbeat = Action.HEARTBEAT
    for item in items:
        if item.action is not heartbeat:
            break
    else:
        return
    for item, result in zip(items, results, strict=True):
        if item.action is heartbeat or result.status_code != 200:
            continue
        if item.action is Action.REGISTER:
            if item.instance_info is not None:
                _log_registered(registry, item.instance_info, True)
        elif (event := _LOGGED_ACTIONS.get(item.action)) is not None:
            status = None if item.action is Action.CANCEL else item.status
            _log_change(event, item.app_name, item.id, True, status)


@functools.cache
def _openapi_document() -> bytes:
    """The REST API's OpenAPI document, kept in the repository beside this module (a test
    checks it against `_HANDLERS`: a route missing from it fails the suite)."""
    return resources.files("eureka.server").joinpath("openapi.json").read_bytes()


def _optional_int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise BadInput(f"{name} must be a whole number") from None


def _optional_status(value: str | None) -> InstanceStatus | None:
    if value is None or value == "":
        return None
    return _required_status(value)


def _required_status(value: str | None) -> InstanceStatus:
    try:
        return InstanceStatus(value or "")
    except ValueError:
        raise BadInput(_BAD_STATUS) from None


def _subset(params: dict[str, str]) -> frozenset[str]:
    if "regions" in params:
        raise BadInput("apps serves the local registry: it cannot be combined with regions")
    return propagation.parse_apps(params["apps"])


def _shape(request: Request, target: Route) -> PayloadShape:
    is_json = request.wants_json
    return PayloadShape(
        Format.JSON if is_json else Format.XML, request.compact, target.v1 and not is_json
    )


def _regions(value: str | None) -> tuple[str, ...]:
    # Lower-cased, split on "," without trimming, sorted (§2.3 (7)).
    if not value:
        return ()
    return tuple(sorted(value.lower().split(",")))


# Java's RateLimitingFilter targets: GET …/apps, …/apps/delta and …/apps/<app> (§11.3).
_FETCHES = {("apps", 0, "GET"): FetchTarget.FULL, ("apps", 1, "GET"): FetchTarget.APPLICATION}

_Handler = Callable[[EurekaApp, Request, Route], Response | Parked]
_HANDLERS: dict[tuple[str, int, str], _Handler] = {
    ("", 0, "GET"): EurekaApp._dashboard,
    ("apps", 0, "GET"): EurekaApp._apps,
    ("apps", 1, "GET"): EurekaApp._app,
    ("apps", 1, "POST"): EurekaApp._register,
    ("apps", 2, "GET"): EurekaApp._instance,
    ("apps", 2, "PUT"): EurekaApp._renew,
    ("apps", 2, "DELETE"): EurekaApp._cancel,
    ("apps", 3, "PUT"): lambda app, req, t: _sub_resource(app, req, t, put=True),
    ("apps", 3, "DELETE"): lambda app, req, t: _sub_resource(app, req, t, put=False),
    ("instances", 1, "GET"): EurekaApp._instance_by_id,
    ("vips", 1, "GET"): EurekaApp._vip,
    ("svips", 1, "GET"): EurekaApp._vip,
    ("peerreplication", 1, "POST"): lambda app, req, t: (
        EurekaApp._batch(app, req, t) if t.args[0] == "batch" else text(404, "not found")
    ),
    ("peerreplication", 1, "GET"): lambda app, req, t: (
        EurekaApp._cancelled(app, req, t) if t.args[0] == "cancelled" else text(404, "not found")
    ),
    ("asg", 2, "PUT"): EurekaApp._asg,
    ("status", 0, "GET"): EurekaApp._status,
    ("metrics", 0, "GET"): EurekaApp._metrics,
    ("lastn", 0, "GET"): EurekaApp._lastn,
    ("openapi.json", 0, "GET"): EurekaApp._openapi,
    ("static", 1, "GET"): EurekaApp._static,
    ("summary", 1, "GET"): EurekaApp._summary,
    ("summary", 2, "GET"): EurekaApp._summary,
    ("actuator", 1, "GET"): EurekaApp._actuator,
    ("actuator", 2, "GET"): EurekaApp._actuator,
    ("serverinfo", 1, "GET"): lambda app, req, t: (
        EurekaApp._overrides(app, req, t)
        if t.args[0] == "statusoverrides"
        else text(404, "not found")
    ),
}


# Literal segments under /apps that JAX-RS routes before the `{appName}` template.
_APPS_LITERALS: dict[str, _Handler] = {
    "delta": EurekaApp._delta,
    "digests": EurekaApp._digests,
}


def _sub_resource(app: EurekaApp, request: Request, target: Route, *, put: bool) -> Response:
    kind = target.args[2]
    if kind == "status":
        return app._status_update(request, target) if put else app._delete_override(request, target)
    if kind == "metadata" and put:
        return app._metadata(request, target)
    return text(404, "not found")

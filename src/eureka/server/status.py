"""The node's state as one frozen value: what `/eureka/status`, the dashboard and `/metrics` show.

Pure: `build_status` reads only public reads of the cores (registry revision, counts, tallies
and self-preservation state, the response cache's `stats()`, each peer's `DispatcherStats`,
the remote regions' `RegionStats`, the start-up sync's result) plus facts the adapter hands in
(process facts, readiness). Nothing here walks a lease or re-parses a dict, so a renamed field
is a type error, not a silently empty column (style.md smell 2).

`/eureka/status` is `msgspec.to_builtins(status)`: the keys it had before this module existed
are kept, sections that do not apply (start-up sync of a single node, remote regions) are absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import msgspec

from eureka.registry import CacheStats, Registry
from eureka.registry.remote_regions import RegionStats
from eureka.registry.summary import STATUS_ORDER, RecentLease, RegistryStats
from eureka.registry.watch import WatchStats
from eureka.replication.anti_entropy import AntiEntropyStats
from eureka.replication.dispatcher import DispatcherStats
from eureka.server.gc_policy import GcStats
from eureka.urls import redact_url

__all__ = [
    "LAGGING_AFTER_MS",
    "RECENT_IN_STATUS",
    "NodeInfo",
    "NodeStatus",
    "PeerState",
    "PeerStatus",
    "ProcessFacts",
    "RecentEntry",
    "RegistryStatus",
    "SelfPreservationStatus",
    "StartupSync",
    "build_status",
    "peer_status",
    "recent_entries",
]

# A peer whose oldest undelivered task is older than this is "lagging": the batching delay is
# 20 ms, so a second means batches are not getting through in time (paused, or slow).
LAGGING_AFTER_MS = 1000
# Entries of the recently registered / cancelled lists in the status body; `/lastn` has them all.
RECENT_IN_STATUS = 20


class ProcessFacts(msgspec.Struct, frozen=True):
    """Facts about this process and machine, read by the adapter (`server/process.py`)."""

    pid: int
    hostname: str
    python: str
    cpus: int
    memory_total_bytes: int | None
    memory_rss_bytes: int | None


class NodeInfo(msgspec.Struct, frozen=True):
    host: str
    port: int
    pid: int
    python: str
    uptime_ms: int
    started_ms: int
    hostname: str
    my_url: str | None
    prefix: str
    environment: str
    datacenter: str
    cpus: int
    memory_total_bytes: int | None
    memory_rss_bytes: int | None


class RegistryStatus(msgspec.Struct, frozen=True):
    instances: int
    revision: int
    # False → reads answer 403 (start-up sync running, or the empty-sync wait window).
    allow_access: bool
    # False only while the start-up sync copies the peers' registries.
    ready: bool
    applications: int
    oldest_revision: int
    # Instances per status in `STATUS_ORDER`, absent when 0.
    status_counts: dict[str, int]
    operations: RegistryStats


class SelfPreservationStatus(msgspec.Struct, frozen=True):
    """`SelfPreservationState` plus what an operator needs to read it."""

    enabled: bool
    expected_clients: int
    threshold: int
    renews_last_min: int
    expiration_enabled: bool
    reason: str | None
    renewal_percent_threshold: float
    # Self-preservation is switched on and holds expiry back right now.
    engaged: bool
    # Leases past their expiry still listed (only counted while expiry is suspended).
    expired_leases: int | None


class PeerState(msgspec.Struct, frozen=True):
    """`healthy`, `lagging` (tasks wait longer than LAGGING_AFTER_MS, or sending is paused after
    congestion) or `unreachable` (the last batch failed) — since `since_ms` when known."""

    name: str
    since_ms: int | None


class PeerStatus(msgspec.Struct, frozen=True):
    """One peer: today's flat keys (the `DispatcherStats` fields, `url`, `last_error`,
    `replication_lag_ms`) plus its state and the address of its dashboard."""

    url: str
    dashboard_url: str
    state: PeerState
    replication_lag_ms: int
    pending: int
    oldest_pending_age_ms: int
    in_flight: int
    paused_for_ms: int
    last_success_ms: int | None
    consecutive_failures: int
    last_error: str | None
    last_failure_ms: int | None
    failing_since_ms: int | None
    submitted: int
    overridden: int
    dropped_overflow: int
    expired: int
    requeued: int
    dropped_permanent: int
    batches_sent: int
    batches_succeeded: int
    batches_congested: int
    batches_transient: int
    batches_permanent: int
    items_succeeded: int
    items_failed: int
    mismatched_responses: int
    follow_ups: int
    # Change → the peer's acknowledgement of its item (docs/design/propagation.md).
    ack_lag_samples: int
    ack_lag_p50_ms: int | None
    ack_lag_p99_ms: int | None
    ack_lag_max_ms: int | None
    # Anti-entropy rounds with this peer (None while the node runs none).
    anti_entropy: AntiEntropyStats | None = None


class RecentEntry(msgspec.Struct, frozen=True):
    time_ms: int
    instance: str  # "APP(id)", as Java's status page writes it
    app: str
    id: str


class StartupSync(msgspec.Struct, frozen=True):
    copied: int
    answered: int
    unreachable: tuple[str, ...]


class AuthStatus(msgspec.Struct, frozen=True):
    """Basic auth (server/auth.py): refusals counted by reason, never a name or a password."""

    enabled: bool
    read_access: str | None = None
    users: int = 0
    refused: dict[str, int] = msgspec.field(default_factory=dict)


class RateLimiterStatus(msgspec.Struct, frozen=True):
    """Java's RateLimitingFilter (server/rate_limit.py): fetches answered 503."""

    enabled: bool
    rate_limited: int = 0
    rate_limited_full_fetch: int = 0


class NodeStatus(msgspec.Struct, frozen=True, omit_defaults=True):
    version: str
    time_ms: int
    node: NodeInfo
    registry: RegistryStatus
    self_preservation: SelfPreservationStatus
    peers: tuple[PeerStatus, ...]
    recently_registered: tuple[RecentEntry, ...]
    recently_cancelled: tuple[RecentEntry, ...]
    cache: CacheStats
    startup_sync: StartupSync | None = None
    remote_regions: dict[str, RegionStats] | None = None
    auth: AuthStatus = AuthStatus(enabled=False)
    rate_limiter: RateLimiterStatus = RateLimiterStatus(enabled=False)
    # Held long-poll watches and their change → answer lag (docs/design/propagation.md).
    watch: WatchStats | None = None
    # The process's garbage collector, under `eureka server` (server/gc_policy.py).
    gc: GcStats | None = None


def peer_status(
    url: str, stats: DispatcherStats, anti_entropy: AntiEntropyStats | None = None
) -> PeerStatus:
    if stats.consecutive_failures > 0:
        state = PeerState("unreachable", stats.failing_since_ms)
    elif stats.oldest_pending_age_ms > LAGGING_AFTER_MS or stats.paused_for_ms > 0:
        state = PeerState("lagging", None)
    else:
        state = PeerState("healthy", None)
    parts = urlsplit(url)
    return PeerStatus(
        # Credentials in a peer URL are for basic auth, never for the status page.
        url=redact_url(url),
        # Every node serves its dashboard at the root, whatever its API prefix.
        dashboard_url=f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/",
        state=state,
        # The age of the oldest task not yet delivered: how far this peer lags behind us.
        replication_lag_ms=stats.oldest_pending_age_ms,
        pending=stats.pending,
        oldest_pending_age_ms=stats.oldest_pending_age_ms,
        in_flight=stats.in_flight,
        paused_for_ms=stats.paused_for_ms,
        last_success_ms=stats.last_success_ms,
        consecutive_failures=stats.consecutive_failures,
        last_error=stats.last_error,
        last_failure_ms=stats.last_failure_ms,
        failing_since_ms=stats.failing_since_ms,
        submitted=stats.submitted,
        overridden=stats.overridden,
        dropped_overflow=stats.dropped_overflow,
        expired=stats.expired,
        requeued=stats.requeued,
        dropped_permanent=stats.dropped_permanent,
        batches_sent=stats.batches_sent,
        batches_succeeded=stats.batches_succeeded,
        batches_congested=stats.batches_congested,
        batches_transient=stats.batches_transient,
        batches_permanent=stats.batches_permanent,
        items_succeeded=stats.items_succeeded,
        items_failed=stats.items_failed,
        mismatched_responses=stats.mismatched_responses,
        follow_ups=stats.follow_ups,
        ack_lag_samples=stats.ack_lag_samples,
        ack_lag_p50_ms=stats.ack_lag_p50_ms,
        ack_lag_p99_ms=stats.ack_lag_p99_ms,
        ack_lag_max_ms=stats.ack_lag_max_ms,
        anti_entropy=anti_entropy,
    )


def recent_entries(entries: Iterable[RecentLease]) -> tuple[RecentEntry, ...]:
    return tuple(RecentEntry(e.time_ms, f"{e.app}({e.id})", e.app, e.id) for e in entries)


def build_status(
    *,
    version: str,
    now_ms: int,
    started_ms: int,
    host: str,
    port: int,
    prefix: str,
    my_url: str | None,
    environment: str,
    datacenter: str,
    process: ProcessFacts,
    registry: Registry,
    cache: CacheStats,
    ready: bool,
    allow_access: bool,
    peers: Mapping[str, DispatcherStats],
    startup_sync: StartupSync | None = None,
    remote_regions: Mapping[str, RegionStats] | None = None,
    anti_entropy: Mapping[str, AntiEntropyStats] | None = None,
    auth: AuthStatus | None = None,
    rate_limiter: RateLimiterStatus | None = None,
    watch: WatchStats | None = None,
    gc: GcStats | None = None,
) -> NodeStatus:
    sp = registry.self_preservation_state()
    engaged = sp.enabled and not sp.expiration_enabled
    counts = registry.status_counts()
    registered, cancelled = registry.recently_registered, registry.recently_cancelled
    return NodeStatus(
        version=version,
        time_ms=now_ms,
        node=NodeInfo(
            host=host,
            port=port,
            pid=process.pid,
            python=process.python,
            uptime_ms=now_ms - started_ms,
            started_ms=started_ms,
            hostname=process.hostname,
            my_url=my_url,
            prefix=prefix,
            environment=environment,
            datacenter=datacenter,
            cpus=process.cpus,
            memory_total_bytes=process.memory_total_bytes,
            memory_rss_bytes=process.memory_rss_bytes,
        ),
        registry=RegistryStatus(
            instances=registry.instance_count(),
            revision=registry.revision,
            allow_access=allow_access,
            ready=ready,
            applications=registry.application_count(),
            oldest_revision=registry.oldest_revision,
            status_counts={s.value: counts[s] for s in STATUS_ORDER if counts.get(s)},
            operations=registry.stats(),
        ),
        self_preservation=SelfPreservationStatus(
            enabled=sp.enabled,
            expected_clients=sp.expected_clients,
            threshold=sp.threshold,
            renews_last_min=sp.renews_last_min,
            expiration_enabled=sp.expiration_enabled,
            reason=sp.reason,
            renewal_percent_threshold=registry.config.renewal_percent_threshold,
            engaged=engaged,
            expired_leases=registry.expired_lease_count() if engaged else None,
        ),
        peers=tuple(
            peer_status(url, stats, None if anti_entropy is None else anti_entropy.get(url))
            for url, stats in peers.items()
        ),
        recently_registered=recent_entries(_last(registered, RECENT_IN_STATUS)),
        recently_cancelled=recent_entries(_last(cancelled, RECENT_IN_STATUS)),
        cache=cache,
        startup_sync=startup_sync,
        remote_regions=None if remote_regions is None else dict(remote_regions),
        auth=AuthStatus(enabled=False) if auth is None else auth,
        rate_limiter=RateLimiterStatus(enabled=False) if rate_limiter is None else rate_limiter,
        watch=watch,
        gc=gc,
    )


def _last(entries: Iterable[RecentLease], n: int) -> list[RecentLease]:
    items = list(entries)
    return items[-n:]

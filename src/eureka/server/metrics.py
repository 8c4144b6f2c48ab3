"""`GET /metrics`: Prometheus exposition of the node, read from one `NodeStatus` at scrape time.

Nothing is pushed into prometheus_client while serving. A custom collector turns the node's
snapshot (server/status.py), the registry's application summaries and the request tallies into
metric families when Prometheus scrapes, so the registry's hot paths pay nothing for metrics but
the request tally: one dictionary update and one bucket increment per request, keyed by the
routing table's row (a handful of values), never by the raw path, so no request can create a
new time series.

prometheus_client is imported here only: no pure room knows it (style.md §2.2).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from eureka.registry.response_cache import REBUILD_BUCKETS_S
from eureka.registry.summary import AppSummary
from eureka.server.status import NodeStatus

__all__ = [
    "CONTENT_TYPE",
    "LATENCY_BUCKETS_S",
    "PARKED",
    "UNROUTED",
    "Metrics",
    "NodeCollector",
    "RequestTallies",
    "RouteKey",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# (resource, number of path arguments, method): a row of the application's routing table.
RouteKey = tuple[str, int, str]
# Requests that matched no row (unknown path or method), counted under one label.
UNROUTED: RouteKey = ("", -1, "")
# The "status code" of a request the application holds (a long-poll watch) instead of answering.
PARKED = 0

# Upper bounds of the request latency histogram: a cached read or a renewal takes tens of
# microseconds, a full registry rebuild up to a second.
LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.0001,
    0.00025,
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

# Names of the path arguments per resource, for the `endpoint` label ("/apps/{app}/{id}").
_ARGUMENTS = {
    "apps": ("{app}", "{id}", "{action}"),
    "instances": ("{id}",),
    "vips": ("{vip}",),
    "svips": ("{svip}",),
    "asg": ("{asg}", "status"),
}


def endpoint_label(key: RouteKey) -> str:
    resource, nargs, _ = key
    if key == UNROUTED:
        return "unrouted"
    names = _ARGUMENTS.get(resource, ())
    args = [names[i] if i < len(names) else "{name}" for i in range(nargs)]
    if not resource:
        return "/"
    if resource not in _ARGUMENTS and nargs:
        # Literal sub-resources (`/peerreplication/batch`, `/actuator/health`) keep a name
        # for each argument count only; the table's handler tells them apart.
        args = ["{name}"] * nargs
    return "/" + "/".join([resource, *args])


class _Row:
    """One routing-table row's tallies: requests per status code and a latency histogram."""

    __slots__ = ("buckets", "codes", "total")

    def __init__(self) -> None:
        self.codes: dict[int, int] = {}
        self.buckets = [0] * (len(LATENCY_BUCKETS_S) + 1)
        self.total = 0.0


class RequestTallies:
    """Requests by routing-table row and status code, with a latency histogram per row.

    Owned by the HTTP application (one event loop: no locking) and read by the collector.
    """

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: dict[RouteKey, _Row] = {}

    def observe(self, key: RouteKey, status: int, seconds: float) -> None:
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = _Row()
        codes = row.codes
        codes[status] = codes.get(status, 0) + 1
        row.buckets[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
        row.total += seconds

    def counts(self) -> dict[tuple[RouteKey, int], int]:
        return {(key, code): n for key, row in self._rows.items() for code, n in row.codes.items()}

    def latencies(self) -> dict[RouteKey, tuple[tuple[int, ...], float]]:
        """Per row: (count per bucket, overflow last; not cumulative), total seconds."""
        return {key: (tuple(row.buckets), row.total) for key, row in self._rows.items()}


def _histogram_buckets(bounds: Sequence[float], counts: Sequence[int]) -> list[tuple[str, float]]:
    cumulative = list(accumulate(counts))
    buckets = [(_bound(b), float(n)) for b, n in zip(bounds, cumulative, strict=False)]
    buckets.append(("+Inf", float(cumulative[-1] if cumulative else 0)))
    return buckets


def _bound(value: float) -> str:
    return repr(float(value))


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


class NodeCollector(Collector):
    """Builds every `eureka_*` family from a fresh `NodeStatus` on each scrape."""

    def __init__(
        self,
        status: Callable[[], NodeStatus],
        applications: Callable[[], Iterable[AppSummary]],
        requests: RequestTallies,
    ) -> None:
        self._status = status
        self._applications = applications
        self._requests = requests

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        yield from self._node(status)
        yield from self._registry(status)
        yield from self._http()
        yield from self._cache(status)
        yield from self._self_preservation(status)
        yield from self._peers(status)
        yield from self._startup_sync(status)
        yield from self._remote_regions(status)
        yield from self._gc(status)

    # -- families ----------------------------------------------------------------------------

    def _node(self, status: NodeStatus) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "eureka_build_info", "The eureka-py version serving.", labels=["version"]
        )
        info.add_metric([status.version], 1)
        yield info
        yield GaugeMetricFamily(
            "eureka_uptime_seconds", "Time since the node started.", status.node.uptime_ms / 1000
        )
        yield GaugeMetricFamily(
            "eureka_node_ready",
            "1 once the start-up sync is done (0 while the node copies its peers' registries).",
            1 if status.registry.ready else 0,
        )
        yield GaugeMetricFamily(
            "eureka_reads_allowed",
            "1 when registry reads are served, 0 while they answer 403 (readiness).",
            1 if status.registry.allow_access else 0,
        )

    def _gc(self, status: NodeStatus) -> Iterator[Metric]:
        # Beside prometheus_client's python_gc_* counts: what freezing (server/gc_policy.py) does.
        gc = status.gc
        if gc is None:
            return
        yield GaugeMetricFamily(
            "eureka_gc_frozen_objects",
            "Objects frozen out of the garbage collector's scans (survivors of full collections).",
            gc.frozen_objects,
        )
        yield GaugeMetricFamily(
            "eureka_gc_longest_full_pause_seconds",
            "Longest full (generation 2) garbage collection since start, sweeps aside.",
            gc.longest_full_pause_ms / 1000,
        )
        yield CounterMetricFamily(
            "eureka_gc_sweeps", "Collections of the frozen objects, for garbage cycles.", gc.sweeps
        )
        yield CounterMetricFamily(
            "eureka_gc_sweep_collected_objects",
            "Garbage the sweeps found among frozen objects (0: sweeps could be rarer).",
            gc.sweep_collected,
        )

    def _registry(self, status: NodeStatus) -> Iterator[Metric]:
        registry = status.registry
        by_app = GaugeMetricFamily(
            "eureka_instances",
            "Registered instances by application and status.",
            labels=["application", "status"],
        )
        for app in self._applications():
            for instance_status, count in app.status_counts:
                by_app.add_metric([app.name, instance_status.value], count)
        yield by_app
        yield GaugeMetricFamily(
            "eureka_registry_instances", "Registered instances.", registry.instances
        )
        yield GaugeMetricFamily(
            "eureka_registry_applications", "Registered applications.", registry.applications
        )
        yield GaugeMetricFamily(
            "eureka_registry_revision", "Revision of the registry's last change.", registry.revision
        )
        ops = registry.operations
        for name, doc, total, replicated in (
            ("registrations", "Registrations", ops.registrations, ops.replicated_registrations),
            ("renewals", "Lease renewals", ops.renewals, ops.replicated_renewals),
            ("cancels", "Cancellations", ops.cancels, ops.replicated_cancels),
        ):
            family = CounterMetricFamily(
                f"eureka_{name}",
                f"{doc}, by origin: a client, or a peer replicating one.",
                labels=["origin"],
            )
            family.add_metric(["client"], total - replicated)
            family.add_metric(["peer"], replicated)
            yield family
        for name, doc, value in (
            ("renewals_not_found", "Renewals of unknown leases (404).", ops.renewals_not_found),
            ("cancels_not_found", "Cancellations of unknown leases (404).", ops.cancels_not_found),
            ("evictions", "Expired leases evicted.", ops.evictions),
            ("status_updates", "Status overrides set.", ops.status_updates),
            ("status_override_deletions", "Status overrides removed.", ops.override_deletions),
        ):
            yield CounterMetricFamily(f"eureka_{name}", doc, value)

    def _http(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "eureka_http_requests",
            "HTTP requests by endpoint, method and status code ('parked': held by a watch).",
            labels=["endpoint", "method", "code"],
        )
        for (key, code), count in sorted(self._requests.counts().items()):
            method = key[2] or "other"
            label = "parked" if code == PARKED else str(code)
            requests.add_metric([endpoint_label(key), method, label], count)
        yield requests
        latency = HistogramMetricFamily(
            "eureka_http_request_duration_seconds",
            "Time spent in the application per request (routing, core call, encoding).",
            labels=["endpoint", "method"],
        )
        for key, (counts, total) in sorted(self._requests.latencies().items()):
            latency.add_metric(
                [endpoint_label(key), key[2] or "other"],
                _histogram_buckets(LATENCY_BUCKETS_S, counts),
                total,
            )
        yield latency

    def _cache(self, status: NodeStatus) -> Iterator[Metric]:
        cache = status.cache
        for name, doc, value in (
            ("hits", "Response-cache hits.", cache.hits),
            ("misses", "Response-cache misses (each one rebuilds a payload).", cache.misses),
            ("invalidations", "Cached payloads dropped because of changes.", cache.invalidations),
            ("instance_encodes", "Instances encoded while rebuilding.", cache.instance_encodes),
            ("gzip_chunks", "Deflate chunks compressed while rebuilding.", cache.gzip_chunks),
        ):
            yield CounterMetricFamily(f"eureka_response_cache_{name}", doc, value)
        yield GaugeMetricFamily(
            "eureka_response_cache_entries", "Payloads held by the cache.", cache.entries
        )
        yield HistogramMetricFamily(
            "eureka_response_cache_rebuild_seconds",
            "Time to generate a payload on a miss.",
            buckets=_histogram_buckets(REBUILD_BUCKETS_S, cache.rebuild_buckets),
            sum_value=cache.rebuild_seconds,
        )

    def _self_preservation(self, status: NodeStatus) -> Iterator[Metric]:
        sp = status.self_preservation
        for name, doc, value in (
            ("self_preservation_enabled", "1 when self-preservation is switched on.", sp.enabled),
            (
                "self_preservation_engaged",
                "1 while self-preservation suspends lease expiry (instances may be listed as UP "
                "that are not).",
                sp.engaged,
            ),
            ("lease_expiration_enabled", "1 while leases expire.", sp.expiration_enabled),
            ("renewal_threshold", "Renewals/min at or below which expiry stops.", sp.threshold),
            ("renewals_last_minute", "Renewals in the last full minute.", sp.renews_last_min),
            ("expected_clients", "Clients expected to renew.", sp.expected_clients),
        ):
            yield GaugeMetricFamily(f"eureka_{name}", doc, float(value))
        if sp.expired_leases is not None:
            yield GaugeMetricFamily(
                "eureka_expired_leases",
                "Expired leases kept while self-preservation is engaged.",
                sp.expired_leases,
            )

    def _peers(self, status: NodeStatus) -> Iterator[Metric]:
        labels = ["peer"]
        state = GaugeMetricFamily(
            "eureka_peer_state",
            "1 for the peer's current state (healthy, lagging, unreachable).",
            labels=["peer", "state"],
        )
        gauges = {
            name: GaugeMetricFamily(f"eureka_peer_{name}", doc, labels=labels)
            for name, doc in (
                ("replication_pending", "Replication tasks waiting for a batch."),
                ("replication_in_flight", "Replication batches on the wire."),
                ("replication_lag_seconds", "Age of the oldest undelivered replication task."),
                ("consecutive_failures", "Batches failed in a row."),
                ("last_success_timestamp_seconds", "When a batch last succeeded."),
            )
        }
        batches = CounterMetricFamily(
            "eureka_peer_replication_batches",
            "Replication batches by outcome.",
            labels=["peer", "outcome"],
        )
        items = CounterMetricFamily(
            "eureka_peer_replication_items",
            "Replicated items by the peer's verdict.",
            labels=["peer", "result"],
        )
        dropped = CounterMetricFamily(
            "eureka_peer_replication_dropped",
            "Replication tasks given up, by reason.",
            labels=["peer", "reason"],
        )
        submitted = CounterMetricFamily(
            "eureka_peer_replication_submitted", "Replication tasks submitted.", labels=labels
        )
        for peer in status.peers:
            url = peer.url
            for name in ("healthy", "lagging", "unreachable"):
                state.add_metric([url, name], 1 if peer.state.name == name else 0)
            gauges["replication_pending"].add_metric([url], peer.pending)
            gauges["replication_in_flight"].add_metric([url], peer.in_flight)
            gauges["replication_lag_seconds"].add_metric([url], peer.replication_lag_ms / 1000)
            gauges["consecutive_failures"].add_metric([url], peer.consecutive_failures)
            last_success = _seconds(peer.last_success_ms)
            if last_success is not None:
                gauges["last_success_timestamp_seconds"].add_metric([url], last_success)
            for outcome, count in (
                ("succeeded", peer.batches_succeeded),
                ("congested", peer.batches_congested),
                ("transient", peer.batches_transient),
                ("permanent", peer.batches_permanent),
            ):
                batches.add_metric([url, outcome], count)
            items.add_metric([url, "succeeded"], peer.items_succeeded)
            items.add_metric([url, "failed"], peer.items_failed)
            for reason, count in (
                ("overflow", peer.dropped_overflow),
                ("expired", peer.expired),
                ("permanent", peer.dropped_permanent),
            ):
                dropped.add_metric([url, reason], count)
            submitted.add_metric([url], peer.submitted)
        yield state
        yield from gauges.values()
        yield batches
        yield items
        yield dropped
        yield submitted
        yield from self._anti_entropy(status)

    def _anti_entropy(self, status: NodeStatus) -> Iterator[Metric]:
        peers = [(p.url, p.anti_entropy) for p in status.peers if p.anti_entropy is not None]
        rounds = CounterMetricFamily(
            "eureka_anti_entropy_rounds",
            "Digest comparisons with a peer, by result.",
            labels=["peer", "result"],
        )
        repaired = CounterMetricFamily(
            "eureka_anti_entropy_repairs",
            "What anti-entropy changed here: applications repaired, instances adopted, dropped.",
            labels=["peer", "kind"],
        )
        differing = GaugeMetricFamily(
            "eureka_anti_entropy_differing_applications",
            "Applications whose digests differed in the last round.",
            labels=["peer"],
        )
        for url, ae in peers:
            failed, equal = ae.rounds_failed, ae.rounds_equal
            rounds.add_metric([url, "equal"], equal)
            rounds.add_metric([url, "different"], max(0, ae.rounds - equal - failed))
            rounds.add_metric([url, "failed"], failed)
            repaired.add_metric([url, "applications"], ae.apps_repaired)
            repaired.add_metric([url, "adopted"], ae.instances_adopted)
            repaired.add_metric([url, "dropped"], ae.instances_dropped)
            differing.add_metric([url], ae.differing_apps)
        yield rounds
        yield repaired
        yield differing

    def _startup_sync(self, status: NodeStatus) -> Iterator[Metric]:
        # Families without samples on a single node, so that every node lists the same names.
        sync = status.startup_sync
        for name, doc, value in (
            ("instances_copied", "Instances copied from the peers at start-up.", "copied"),
            ("peers_answered", "Peers that answered the start-up sync.", "answered"),
            ("peers_unreachable", "Peers the start-up sync could not read.", "unreachable"),
        ):
            family = GaugeMetricFamily(f"eureka_startup_sync_{name}", doc, labels=[])
            if sync is not None:
                found = getattr(sync, value)
                family.add_metric([], len(found) if isinstance(found, tuple) else found)
            yield family

    def _remote_regions(self, status: NodeStatus) -> Iterator[Metric]:
        regions = status.remote_regions or {}
        labels = ["region"]
        gauges = {
            name: GaugeMetricFamily(f"eureka_remote_region_{name}", doc, labels=labels)
            for name, doc in (
                ("ready", "1 once the region has been fetched successfully."),
                ("instances", "Instances in the region's copy."),
                ("applications", "Applications in the region's copy."),
                ("consecutive_failures", "Fetches failed in a row."),
                ("last_fetch_timestamp_seconds", "When a fetch last succeeded."),
            )
        }
        fetches = CounterMetricFamily(
            "eureka_remote_region_fetches", "Successful fetches by kind.", labels=["region", "kind"]
        )
        mismatches = CounterMetricFamily(
            "eureka_remote_region_hash_mismatches",
            "Deltas whose hash did not match the copy.",
            labels=labels,
        )
        for name, region in regions.items():
            gauges["ready"].add_metric([name], 1 if region.ready else 0)
            gauges["instances"].add_metric([name], region.instances)
            gauges["applications"].add_metric([name], region.applications)
            gauges["consecutive_failures"].add_metric([name], region.consecutive_failures)
            last_fetch = _seconds(region.last_fetch_ms)
            if last_fetch is not None:
                gauges["last_fetch_timestamp_seconds"].add_metric([name], last_fetch)
            fetches.add_metric([name, "full"], region.full_fetches)
            fetches.add_metric([name, "delta"], region.delta_fetches)
            mismatches.add_metric([name], region.hash_mismatches)
        yield from gauges.values()
        yield fetches
        yield mismatches


class Metrics:
    """The node's metrics: request tallies plus a registry of collectors for `/metrics`."""

    def __init__(
        self,
        status: Callable[[], NodeStatus],
        applications: Callable[[], Iterable[AppSummary]],
    ) -> None:
        self.requests = RequestTallies()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(NodeCollector(status, applications, self.requests))
        # The process's CPU, memory, file descriptors and the interpreter's GC, as every
        # prometheus_client exporter shows them.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

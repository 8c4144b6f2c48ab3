"""`GET /metrics`: Prometheus families read from the node's snapshot at scrape time."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from eureka.clock import ManualClock
from eureka.model import InstanceInfo
from eureka.replication.anti_entropy import AntiEntropyStats
from eureka.replication.dispatcher import (
    DispatcherConfig,
    DispatcherStats,
    TaskDispatcher,
    TransientFailure,
)
from eureka.replication.protocol import Action, ReplicationInstance
from eureka.server.metrics import LATENCY_BUCKETS_S, RequestTallies, endpoint_label
from tests.server.app_support import AppHarness, make_app

PEER = "http://10.0.0.2:8762/eureka/"


def scrape(
    t: AppHarness, path: str = "/metrics"
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = t.get(path)
    assert response.status == 200
    assert dict(response.headers)["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_instances_by_application_and_status_and_operation_counters() -> None:
    t = make_app()
    t.register_new("ORDERS", "o-1")
    t.register_new("ORDERS", "o-2")
    t.register_new("BILLING", "b-1")
    t.request("PUT", "/eureka/apps/ORDERS/o-1/status", "value=OUT_OF_SERVICE")
    t.request("PUT", "/eureka/apps/ORDERS/o-2")
    t.request("PUT", "/eureka/apps/ORDERS/o-2", headers={"x-netflix-discovery-replication": "true"})
    t.request("PUT", "/eureka/apps/ORDERS/missing")
    t.request("DELETE", "/eureka/apps/BILLING/b-1")
    samples = scrape(t)
    assert value(samples, "eureka_instances", application="ORDERS", status="UP") == 1
    assert value(samples, "eureka_instances", application="ORDERS", status="OUT_OF_SERVICE") == 1
    assert ("eureka_instances", (("application", "BILLING"), ("status", "UP"))) not in samples
    assert value(samples, "eureka_registry_instances") == 2
    assert value(samples, "eureka_registrations_total", origin="client") == 3
    assert value(samples, "eureka_renewals_total", origin="client") == 1
    assert value(samples, "eureka_renewals_total", origin="peer") == 1
    assert value(samples, "eureka_renewals_not_found_total") == 1
    assert value(samples, "eureka_cancels_total", origin="client") == 1
    assert value(samples, "eureka_status_updates_total") == 1
    assert value(samples, "eureka_evictions_total") == 0


def test_requests_are_counted_by_route_not_by_raw_path() -> None:
    t = make_app()
    t.register_new("APP", "i-1")
    for _ in range(3):
        t.request("PUT", "/eureka/apps/APP/i-1")
    for n in range(50):
        t.request("GET", f"/no/such/path/{n}")
    t.request("BREW", "/eureka/apps/APP")
    samples = scrape(t)
    renew = {"endpoint": "/apps/{app}/{id}", "method": "PUT"}
    assert value(samples, "eureka_http_requests_total", code="200", **renew) == 3
    assert value(samples, "eureka_http_request_duration_seconds_count", **renew) == 3
    assert value(samples, "eureka_http_request_duration_seconds_bucket", le="+Inf", **renew) == 3
    # Fifty distinct unknown paths and an unknown method: one series, not fifty-one.
    unrouted = [
        k
        for k in samples
        if k[0] == "eureka_http_requests_total" and ("endpoint", "unrouted") in k[1]
    ]
    assert len(unrouted) == 2  # 404 and 405
    assert (
        value(
            samples, "eureka_http_requests_total", endpoint="unrouted", method="other", code="404"
        )
        == 50
    )


def test_response_cache_and_self_preservation_families() -> None:
    t = make_app()
    t.register_new("APP", "i-1")
    t.get("/eureka/apps", accept="application/json")
    t.get("/eureka/apps", accept="application/json")
    t.clock.advance(120)
    t.registry.tick_renews_bucket()
    samples = scrape(t)
    assert value(samples, "eureka_response_cache_misses_total") == 1
    assert value(samples, "eureka_response_cache_hits_total") == 1
    assert value(samples, "eureka_response_cache_rebuild_seconds_count") == 1
    assert value(samples, "eureka_self_preservation_enabled") == 1
    assert value(samples, "eureka_self_preservation_engaged") == 1
    assert value(samples, "eureka_lease_expiration_enabled") == 0
    assert value(samples, "eureka_expired_leases") == 1
    assert (
        value(samples, "eureka_renewal_threshold") == t.registry.self_preservation_state().threshold
    )
    assert value(samples, "eureka_reads_allowed") == 1


class _Peers:
    """The replicator seam with one real dispatcher behind it (no network in a unit test)."""

    def __init__(self, dispatcher: TaskDispatcher) -> None:
        self.dispatcher = dispatcher

    def register(self, info: InstanceInfo) -> None: ...
    def heartbeat(self, app: str, instance_id: str) -> None: ...
    def cancel(self, app: str, instance_id: str) -> None: ...
    def status_update(self, app: str, instance_id: str) -> None: ...
    def delete_status_override(self, app: str, instance_id: str) -> None: ...

    def peer_stats(self) -> dict[str, DispatcherStats]:
        return {PEER: self.dispatcher.stats()}


def test_peer_families_show_state_queue_and_failures() -> None:
    t = make_app()
    clock: ManualClock = t.clock
    dispatcher = TaskDispatcher(DispatcherConfig(max_batching_delay_ms=20), clock)
    t.app.replicator = _Peers(dispatcher)
    item = ReplicationInstance("APP", "i-1", Action.HEARTBEAT, last_dirty_timestamp=1)
    dispatcher.submit("heartbeat#APP/i-1", item, 30_000)
    clock.advance(0.02)
    batch = dispatcher.next_batch()
    assert batch is not None
    dispatcher.on_batch_result(batch, TransientFailure("ConnectError"))
    clock.advance(2)
    samples = scrape(t)
    assert value(samples, "eureka_peer_state", peer=PEER, state="unreachable") == 1
    assert value(samples, "eureka_peer_state", peer=PEER, state="healthy") == 0
    assert value(samples, "eureka_peer_replication_pending", peer=PEER) == 1
    assert value(samples, "eureka_peer_replication_lag_seconds", peer=PEER) >= 2
    assert value(samples, "eureka_peer_consecutive_failures", peer=PEER) == 1
    assert (
        value(samples, "eureka_peer_replication_batches_total", peer=PEER, outcome="transient") == 1
    )


def test_actuator_prometheus_is_the_same_exposition() -> None:
    t = make_app()
    samples = scrape(t, "/actuator/prometheus")
    assert value(samples, "eureka_registry_instances") == 0
    assert ("process_cpu_seconds_total", ()) in samples or any(
        k[0].startswith("python_") for k in samples
    )


def test_metrics_can_be_switched_off() -> None:
    t = make_app(server={"metrics_enabled": False})
    assert t.get("/metrics").status == 404
    assert t.app.metrics is None


def test_latency_histogram_buckets_hold_each_observation_once() -> None:
    tallies = RequestTallies()
    key = ("apps", 2, "PUT")
    tallies.observe(key, 200, LATENCY_BUCKETS_S[0])  # on the bound: that bucket (le)
    tallies.observe(key, 200, 99.0)  # beyond the last bound: overflow
    counts, total = tallies.latencies()[key]
    assert counts[0] == 1 and counts[-1] == 1 and sum(counts) == 2
    assert total == LATENCY_BUCKETS_S[0] + 99.0
    assert endpoint_label(key) == "/apps/{app}/{id}"
    assert endpoint_label(("", 0, "GET")) == "/"
    assert endpoint_label(("actuator", 2, "GET")) == "/actuator/{name}/{name}"


class _AntiEntropy:
    def __init__(self, stats: AntiEntropyStats) -> None:
        self._stats = stats

    def stats(self) -> dict[str, AntiEntropyStats]:
        return {PEER: self._stats}


def test_anti_entropy_families_per_peer() -> None:
    t = make_app()
    t.app.replicator = _Peers(TaskDispatcher(DispatcherConfig(), t.clock))
    t.app.anti_entropy = _AntiEntropy(
        AntiEntropyStats(
            interval_ms=30_000,
            rounds=10,
            rounds_equal=6,
            rounds_failed=1,
            apps_repaired=2,
            instances_adopted=5,
            instances_dropped=1,
            stuck=0,
            differing_apps=1,
            unsettled=0,
            last_round_ms=None,
            last_difference_ms=None,
            last_difference=None,
            last_error=None,
            last_error_ms=None,
        )
    )
    samples = scrape(t)
    assert value(samples, "eureka_anti_entropy_rounds_total", peer=PEER, result="different") == 3
    assert value(samples, "eureka_anti_entropy_rounds_total", peer=PEER, result="failed") == 1
    assert value(samples, "eureka_anti_entropy_repairs_total", peer=PEER, kind="adopted") == 5
    assert value(samples, "eureka_anti_entropy_differing_applications", peer=PEER) == 1

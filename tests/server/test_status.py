"""`NodeStatus` and `/eureka/status`: one typed snapshot, today's keys kept, states explained."""

from __future__ import annotations

from typing import Any

import msgspec

from eureka.clock import ManualClock
from eureka.model import InstanceStatus
from eureka.replication.dispatcher import (
    Congestion,
    DispatcherConfig,
    Success,
    TaskDispatcher,
    TransientFailure,
)
from eureka.replication.protocol import Action, ReplicationInstance, ReplicationItemResult
from eureka.server.status import LAGGING_AFTER_MS, RECENT_IN_STATUS, peer_status
from tests.registry.support import START_MS, instance
from tests.server.app_support import AppHarness, make_app

PEER = "http://10.0.0.2:8762/eureka/"


def _status(t: AppHarness) -> Any:
    response = t.get("/eureka/status")
    assert response.status == 200
    return msgspec.json.decode(response.body)


def _dispatcher(clock: ManualClock) -> TaskDispatcher:
    return TaskDispatcher(DispatcherConfig(max_batching_delay_ms=20), clock)


def _submit(d: TaskDispatcher, n: int) -> None:
    item = ReplicationInstance("APP", f"i-{n}", Action.HEARTBEAT, last_dirty_timestamp=1)
    d.submit(f"heartbeat#APP/i-{n}", item, 30_000)


def test_status_keeps_the_keys_clients_and_tests_read() -> None:
    t = make_app()
    status = _status(t)
    assert {
        "version",
        "node",
        "registry",
        "self_preservation",
        "peers",
        "recently_registered",
        "recently_cancelled",
        "cache",
    } <= set(status)
    assert {"host", "port", "pid", "python", "uptime_ms", "started_ms"} <= set(status["node"])
    assert {"instances", "revision", "allow_access"} <= set(status["registry"])
    assert {
        "enabled",
        "expected_clients",
        "threshold",
        "renews_last_min",
        "expiration_enabled",
        "reason",
    } <= set(status["self_preservation"])
    assert {"hits", "misses", "rebuilds", "invalidations"} <= set(status["cache"])
    # A single node has neither a start-up sync nor remote regions: the sections are absent.
    assert "startup_sync" not in status and "remote_regions" not in status
    assert status["peers"] == []


def test_status_reports_counts_revision_and_recent_leases() -> None:
    t = make_app()
    for n in range(RECENT_IN_STATUS + 5):
        t.registry.register(instance("APP", f"i-{n}"))
    t.registry.status_update("APP", "i-0", InstanceStatus.DOWN, None)
    t.clock.advance(3)
    t.registry.cancel("APP", "i-1")
    status = _status(t)
    registry = status["registry"]
    assert (registry["instances"], registry["applications"]) == (RECENT_IN_STATUS + 4, 1)
    assert registry["revision"] == t.registry.revision
    assert registry["status_counts"] == {"UP": RECENT_IN_STATUS + 3, "DOWN": 1}
    assert registry["operations"]["registrations"] == RECENT_IN_STATUS + 5
    registered = status["recently_registered"]
    assert len(registered) == RECENT_IN_STATUS
    assert registered[-1] == {
        "time_ms": START_MS,
        "instance": f"APP(i-{RECENT_IN_STATUS + 4})",
        "app": "APP",
        "id": f"i-{RECENT_IN_STATUS + 4}",
    }
    assert status["recently_cancelled"] == [
        {"time_ms": START_MS + 3000, "instance": "APP(i-1)", "app": "APP", "id": "i-1"}
    ]
    assert status["node"]["uptime_ms"] == 3000
    assert status["time_ms"] == START_MS + 3000


def test_status_explains_engaged_self_preservation_and_counts_expired_leases() -> None:
    t = make_app()
    t.registry.register(instance("APP", "i-1"))
    t.registry.register(instance("APP", "i-2"))
    t.clock.advance(120)  # both leases expire; no renewals came in the last minute
    t.registry.tick_renews_bucket()
    sp = _status(t)["self_preservation"]
    assert sp["engaged"] is True and sp["expiration_enabled"] is False
    assert sp["expired_leases"] == 2
    assert "0 renewals were received in the last minute" in sp["reason"]
    assert sp["renewal_percent_threshold"] == 0.85


def test_self_preservation_engages_when_a_minute_of_renewals_falls_below_the_threshold() -> None:
    # What the dashboard's banner follows: not engaged while renewals beat the threshold, engaged
    # (with the numbers in words) once a minute brings fewer. A fresh node is engaged from the
    # start, as Java's: no full minute has been measured yet.
    t = make_app()
    assert _status(t)["self_preservation"]["engaged"] is True
    for n in range(3):
        t.registry.register(instance("APP", f"i-{n}"))
    threshold = _status(t)["self_preservation"]["threshold"]
    assert threshold > 0
    for _ in range(threshold + 1):
        assert t.registry.renew("APP", "i-0", is_replication=False)
    t.registry.tick_renews_bucket()
    calm = _status(t)["self_preservation"]
    assert (calm["engaged"], calm["expiration_enabled"], calm["reason"]) == (False, True, None)
    t.registry.tick_renews_bucket()  # a minute with no renewals
    engaged = _status(t)["self_preservation"]
    assert (engaged["engaged"], engaged["expiration_enabled"]) == (True, False)
    assert "0 renewals were received in the last minute" in engaged["reason"]


def test_self_preservation_switched_off_is_not_engaged() -> None:
    t = make_app(enable_self_preservation=False)
    sp = _status(t)["self_preservation"]
    assert (sp["enabled"], sp["engaged"], sp["expiration_enabled"]) == (False, False, True)
    assert sp["expired_leases"] is None


def test_status_shows_the_configured_environment_and_data_center() -> None:
    t = make_app(
        server={"environment": "prod", "datacenter": "eu-1", "my_url": "http://me:8761/eureka/"}
    )
    node = _status(t)["node"]
    assert (node["environment"], node["datacenter"]) == ("prod", "eu-1")
    assert node["my_url"] == "http://me:8761/eureka/"
    assert node["cpus"] >= 1


def test_a_peer_is_healthy_lagging_or_unreachable_since_its_first_failure() -> None:
    clock = ManualClock(START_MS)
    d = _dispatcher(clock)
    healthy = peer_status(PEER, d.stats())
    assert (healthy.state.name, healthy.dashboard_url) == ("healthy", "http://10.0.0.2:8762/")

    _submit(d, 1)
    clock.advance_ms(LAGGING_AFTER_MS + 1)
    lagging = peer_status(PEER, d.stats())
    assert lagging.state.name == "lagging"
    assert lagging.replication_lag_ms == LAGGING_AFTER_MS + 1

    failed_at = clock.now_ms()
    batch = d.next_batch()
    assert batch is not None
    d.on_batch_result(batch, TransientFailure("ConnectError: refused"))
    clock.advance(1)
    batch = d.next_batch()
    assert batch is not None
    d.on_batch_result(batch, Congestion())
    down = peer_status(PEER, d.stats())
    assert (down.state.name, down.state.since_ms) == ("unreachable", failed_at)
    assert down.last_error == "congestion" and down.consecutive_failures == 2

    clock.advance(2)
    batch = d.next_batch()
    assert batch is not None
    d.on_batch_result(batch, Success([ReplicationItemResult(200)]))
    recovered = peer_status(PEER, d.stats())
    assert recovered.state.name == "healthy"
    # The last error stays, with its time, so a recovered peer reads as recovered.
    assert (recovered.last_error, recovered.last_failure_ms) == ("congestion", failed_at + 1000)


def test_peer_status_keeps_the_flat_dispatcher_keys() -> None:
    d = _dispatcher(ManualClock(START_MS))
    body = msgspec.to_builtins(peer_status(PEER, d.stats()))
    assert {
        "url",
        "pending",
        "in_flight",
        "oldest_pending_age_ms",
        "replication_lag_ms",
        "consecutive_failures",
        "last_error",
        "batches_sent",
    } <= set(body)
    assert body["state"] == {"name": "healthy", "since_ms": None}


def test_spring_environment_and_datacenter_keys_configure_the_status() -> None:
    from eureka.server.config import load_config

    config = load_config(
        environ={}, overrides={"eureka.environment": "prod", "eureka.datacenter": "cloud"}
    )
    assert (config.environment, config.datacenter) == ("prod", "cloud")


def test_spring_environment_variables_name_the_environment_and_datacenter() -> None:
    from eureka.server.config import env_name, load_config, setting_key

    config = load_config(environ={"EUREKA_ENVIRONMENT": "prod", "EUREKA_DATACENTER": "cloud"})
    assert (config.environment, config.datacenter) == ("prod", "cloud")
    # What docs and `eureka config` name is the spelling that works.
    assert (setting_key("environment"), env_name("environment")) == (
        "eureka.environment",
        "EUREKA_ENVIRONMENT",
    )
    # Flags beat the environment, as for every other setting.
    flagged = load_config(environ={"EUREKA_ENVIRONMENT": "prod"}, overrides={"environment": "dev"})
    assert flagged.environment == "dev"

"""`DiscoveryClient` (blocking, one background thread) against the in-memory server."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

from eureka.client import (
    CacheRefreshed,
    DiscoveryClient,
    EurekaConfig,
    NoInstanceAvailable,
    StatusChange,
)
from eureka.client.config import ClientConfig
from eureka.client.events import Event
from eureka.clock import ManualClock, SystemClock
from eureka.codec import json as json_codec
from eureka.model import InstanceStatus
from tests.client.fakes import FakeEurekaServer, make_instance

UP, DOWN = InstanceStatus.UP, InstanceStatus.DOWN
ROOT = Path(__file__).resolve().parents[2]


def peers(n: int = 4) -> FakeEurekaServer:
    server = FakeEurekaServer()
    for i in range(n):
        server.add(make_instance("order-service", i))
    server.forget_delta()
    return server


def client_for(
    server: FakeEurekaServer, clock: ManualClock | None = None, **client: object
) -> DiscoveryClient:
    return DiscoveryClient(
        EurekaConfig(ClientConfig(**client)),  # type: ignore[arg-type]
        transport=server,
        instance=make_instance("me", 900),
        clock=clock or ManualClock(),
        rng=random.Random(0),
    )


def test_lifecycle_with_manual_clock() -> None:
    server, clock = peers(), ManualClock()
    events: list[Event] = []
    with client_for(server, clock) as client:
        client.add_listener(events.append)
        assert server.paths() == ["GET apps/", "POST apps/ME"]
        assert client.next_server("order-service").app == "ORDER-SERVICE"
        try:
            client.next_server("nobody")
            raise AssertionError("expected NoInstanceAvailable")
        except NoInstanceAvailable:
            pass
        server.add(make_instance("order-service", 50))
        clock.advance(30)
        assert sorted(client.run_due_jobs()) == ["cache-refresh", "heartbeat"]
        assert client.stats().delta_fetches == 1
        assert len(client.get_instances("order-service")) == 5
        assert [type(e) for e in events] == [CacheRefreshed, StatusChange]
    assert server.paths()[-1] == f"DELETE apps/ME/{client.own.id}"  # type: ignore[union-attr]
    assert client.own.status is DOWN  # type: ignore[union-attr]


def test_on_demand_status_update_and_health_check() -> None:
    server, clock = peers(), ManualClock()
    client = client_for(server, clock)
    client.start(background=False)
    client.set_status(DOWN)
    assert client.run_due_jobs() == ["instance-info-replicator"]
    assert json_codec.decode_instance(server.requests[-1].body or b"").status is DOWN
    client.health_check = lambda: UP
    clock.advance(40)
    client.run_due_jobs()
    assert server.instances[("ME", client.own.id)].status is UP  # type: ignore[union-attr]
    client.close()


def test_slow_runs_back_off() -> None:
    server, clock = peers(), ManualClock()
    client = client_for(server, clock, register_with_eureka=False)
    client.start(background=False)
    server.on_request = lambda request: clock.advance(31)
    clock.advance(30)
    client.run_due_jobs()
    assert client.stats().refresh_delay_seconds == 60
    client.close()


def test_one_background_thread_and_a_clean_close() -> None:
    server = peers()
    refreshed = threading.Event()
    seen = []

    def on_event(event: Event) -> None:
        if isinstance(event, CacheRefreshed):
            seen.append(event)
            if len(seen) >= 3:
                refreshed.set()

    before = threading.active_count()
    client = DiscoveryClient(
        EurekaConfig(ClientConfig(registry_fetch_interval_seconds=0.01)),
        transport=server,
        instance=make_instance("me", 1),
        clock=SystemClock(),
    )
    client.add_listener(on_event)
    client.start()
    assert threading.active_count() == before + 1
    assert refreshed.wait(5)
    # Reads from this thread while the background thread merges deltas.
    for _ in range(200):
        assert len(client.get_instances_by_vip("order-service")) == 4
    client.close()
    assert threading.active_count() == before
    assert server.paths()[-1].startswith("DELETE apps/ME/")


SIGTERM_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from eureka.client import DiscoveryClient, EurekaConfig
from eureka.client.config import ClientConfig
from tests.client.fakes import FakeEurekaServer, make_instance

server = FakeEurekaServer()
client = DiscoveryClient(EurekaConfig(ClientConfig()), transport=server,
                         instance=make_instance("me", 1), handle_sigterm=True)
client.start(background=False)
os.kill(os.getpid(), signal.SIGTERM)
print("survived", flush=True)
"""


def test_sigterm_deregisters_then_terminates() -> None:
    script = SIGTERM_SCRIPT.format(root=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert "survived" not in done.stdout


def test_sigterm_reaches_the_previous_handler_after_deregistering(tmp_path: Path) -> None:
    out = tmp_path / "paths.txt"
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT)!r})
from eureka.client import DiscoveryClient, EurekaConfig
from eureka.client.config import ClientConfig
from tests.client.fakes import FakeEurekaServer, make_instance

server = FakeEurekaServer()
def previous(signum, frame):
    open({str(out)!r}, "w").write(" | ".join(server.paths()))
    sys.exit(3)
signal.signal(signal.SIGTERM, previous)
client = DiscoveryClient(EurekaConfig(ClientConfig()), transport=server,
                         instance=make_instance("me", 1), handle_sigterm=True)
client.start(background=False)
os.kill(os.getpid(), signal.SIGTERM)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 3, done.stderr
    paths = out.read_text().split(" | ")
    assert paths[0] == "GET apps/" and paths[1] == "POST apps/ME"
    assert paths[-1].startswith("DELETE apps/ME/")

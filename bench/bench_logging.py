"""Cost of the operator logs on the renewal hot path: the same server at INFO and at WARNING.

Renewals log nothing at INFO by design, so the two should not differ: this measures it rather
than asserting it. Method of bench/serving.py (DEVELOPERS.md): server pinned to one core, wrk to
the other, µs of server CPU per request from /proc utime+stime; rounds alternate between the two
servers and the best of each is reported.
Also times, in process, what the replication batch path pays for looking for loggable items in
a batch of 250 replicated heartbeats (the only per-item logging check on a hot path).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from tests.integration.server_process import ServerProcess

from bench.bench_server import APPS, CONNECTIONS, DURATION, INSTANCES, RENEW_LUA
from bench.serving import WrkResult, ensure_tools, populate, start_server, wrk
from bench.table import best_of, print_table

ROUNDS = 3


def _server(level: str) -> ServerProcess:
    server = start_server(
        {"eureka.server.enable-self-preservation": "false", "eureka.server.log-level": level}
    )
    populate(server.base, 0, INSTANCES, APPS)
    return server


def _pid(server: ServerProcess) -> int:
    assert server.proc is not None
    return server.proc.pid


def _batch_scan() -> tuple[float, float]:
    """µs per 250-heartbeat batch spent in the logging scan, at INFO and at WARNING."""
    from eureka.clock import ManualClock
    from eureka.model import DataCenterInfo, InstanceInfo, LeaseInfo
    from eureka.registry import Registry
    from eureka.registry.config import RegistryConfig
    from eureka.replication.protocol import apply_batch, heartbeat_task
    from eureka.server import app as app_module

    registry = Registry(RegistryConfig(), ManualClock())
    for n in range(250):
        registry.register(
            InstanceInfo(
                app="A",
                instance_id=f"i-{n}",
                host_name="h",
                data_center_info=DataCenterInfo(),
                lease_info=LeaseInfo(),
            )
        )
    items = [heartbeat_task(registry.stored_instance("A", f"i-{n}")).item for n in range(250)]  # type: ignore[arg-type]
    results = apply_batch(registry, items)
    logger = logging.getLogger("eureka.server")
    timings = []
    for level in (logging.INFO, logging.WARNING):
        logger.setLevel(level)
        timings.append(
            best_of(lambda: app_module._log_replicated(registry, items, results), number=200) * 1e6
        )
    logger.setLevel(logging.NOTSET)
    return timings[0], timings[1]


def _in_process_renewals() -> dict[str, float]:
    """µs per renewal through `EurekaApp.handle`, no HTTP server: our code alone."""
    import io

    from eureka.model import DataCenterInfo, InstanceInfo, LeaseInfo
    from eureka.server.config import load_config
    from eureka.server.http import Request
    from eureka.server.log_format import install_logging
    from eureka.server.node import Node

    node = Node(load_config(environ={}))
    for n in range(1000):
        node.registry.register(
            InstanceInfo(
                app="A",
                instance_id=f"i-{n}",
                host_name="h",
                data_center_info=DataCenterInfo(),
                lease_info=LeaseInfo(),
            )
        )
    requests = [Request("PUT", f"/eureka/apps/A/i-{n}", "", {}, b"") for n in range(1000)]

    def renew_all() -> None:
        for request in requests:
            node.app.handle(request)

    best: dict[str, float] = {}
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        for _ in range(ROUNDS):
            for level in ("info", "warning"):
                install_logging(level, "text", io.StringIO())
                took = best_of(renew_all, repeat=5, number=5) / len(requests) * 1e6
                best[level] = min(best.get(level, took), took)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    return best


def run() -> None:
    info_scan, warning_scan = _batch_scan()
    print_table(
        ["replication batch of 250 heartbeats", "µs in the logging scan"],
        [("log level info", f"{info_scan:.1f}"), ("log level warning", f"{warning_scan:.2f}")],
    )
    print()
    handled = _in_process_renewals()
    print_table(
        ["renewal through EurekaApp.handle, in process (best of 3)", "µs per renewal"],
        [(f"log level {level}", f"{us:.2f}") for level, us in handled.items()],
    )
    print()
    ensure_tools("wrk")
    root = Path(tempfile.mkdtemp(prefix="eureka-bench-logging-"))
    script = root / "renew.lua"
    script.write_text(RENEW_LUA % {"n": INSTANCES, "apps": APPS, "prefix": "/eureka/apps/"})
    servers = {"info": _server("info"), "warning": _server("warning")}
    try:
        best: dict[str, WrkResult] = {}
        for _ in range(ROUNDS):
            for level, server in servers.items():
                result = wrk(
                    server.base,
                    duration=DURATION,
                    connections=CONNECTIONS,
                    script=str(script),
                    server_pid=_pid(server),
                )
                if level not in best or result.rps > best[level].rps:
                    best[level] = result
        print_table(
            [
                f"PUT renew over {INSTANCES:,} leases, best of {ROUNDS}",
                "req/s",
                "p99",
                "CPU µs/req",
            ],
            [
                (f"log level {level}", f"{r.rps:,.0f}", r.p99, f"{r.cpu_us or 0:.1f}")
                for level, r in best.items()
            ],
        )
        difference = (best["info"].cpu_us or 0) - (best["warning"].cpu_us or 0)
        print(f"\nserver CPU per renewal, INFO minus WARNING: {difference:+.2f} µs")
    finally:
        for server in servers.values():
            server.stop()

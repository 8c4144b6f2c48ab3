"""The HTTP layer, side by side in one run (issue 11 §3): granian's RSGI server against our native
HTTP/1.1 protocol (server/native_http.py), with nginx serving the same bytes as the reference.

Each layer serves the same node — 10,000 instances in 500 apps, 20 recent changes — pinned to
SERVER_CPU; wrk -t1 -c50 on LOAD_CPU. Small requests are most of a registry's traffic (every
instance renews and polls every 30 s): the figure that matters is µs of server CPU per request.
The large GET /apps shows that the native layer costs nothing on big bodies either.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx
from tests.integration.server_process import free_port

from bench.bench_server import (
    APPS,
    CONNECTIONS,
    DURATION,
    GZ,
    INSTANCES,
    PRUNE_MS,
    RENEW_LUA,
    _cpu,
    _fetch_gzip,
)
from bench.serving import Nginx, WrkResult, ensure_tools, load_average, populate, start_server, wrk
from bench.table import print_table

LAYERS = ("granian", "native")
RETENTION_MS = 8_000
SETTINGS = {
    "eureka.server.enable-self-preservation": "false",
    # As bench_server: the 10,000 registrations leave the delta window in seconds.
    "eureka.server.retention-time-in-m-s-in-delta-queue": str(RETENTION_MS),
    "eureka.server.delta-retention-timer-interval-in-ms": str(PRUNE_MS),
}


def _measure(layer: str, root: Path) -> tuple[dict[str, WrkResult], bytes, bytes]:
    server = start_server({**SETTINGS, "eureka.server.http-layer": layer})
    try:
        assert server.proc is not None
        pid = server.proc.pid
        populate(server.base, 0, INSTANCES, APPS)
        populated = time.monotonic()
        script = root / "renew.lua"
        script.write_text(RENEW_LUA % {"n": INSTANCES, "apps": APPS, "prefix": "/eureka/apps/"})
        delta_url, apps_url = f"{server.base}/eureka/apps/delta", f"{server.base}/eureka/apps"
        results = {
            "renew": wrk(
                server.base,
                duration=DURATION,
                connections=CONNECTIONS,
                script=str(script),
                server_pid=pid,
            )
        }
        # The registrations have left the delta window by now; 20 changes enter it, and stay
        # for the delta's run (retention 8 s > the 5 s run).
        time.sleep(max(0.0, populated + (RETENTION_MS + 2 * PRUNE_MS) / 1000 - time.monotonic()))
        with httpx.Client() as client:
            for i in range(20):
                client.put(f"{server.base}/eureka/apps/APP-{i % APPS}/inst-{i}/status?value=DOWN")
        delta_body = _fetch_gzip(delta_url)
        results["delta"] = wrk(
            delta_url, duration=DURATION, connections=CONNECTIONS, headers=GZ, server_pid=pid
        )
        results["apps"] = wrk(
            apps_url, duration=DURATION, connections=CONNECTIONS, headers=GZ, server_pid=pid
        )
        return results, delta_body, _fetch_gzip(apps_url)
    finally:
        server.stop()


def run() -> None:
    ensure_tools("nginx", "wrk")
    print(f"(load average before: {load_average()})")
    root = Path(tempfile.mkdtemp(prefix="eureka-bench-"))
    measured = {}
    delta_body = apps_body = b""
    for layer in LAYERS:
        measured[layer], delta_body, apps_body = _measure(layer, root)
    nginx = Nginx(root, free_port()).start()
    try:
        script = root / "renew_nginx.lua"
        script.write_text(RENEW_LUA % {"n": INSTANCES, "apps": APPS, "prefix": "/renew/"})
        delta_ref = nginx.serve("delta", delta_body)
        apps_ref = nginx.serve("apps", apps_body)
        reference = {
            "renew": wrk(
                nginx.base,
                duration=DURATION,
                connections=CONNECTIONS,
                script=str(script),
                server_pid=nginx.pid,
            ),
        }
        for kind, url in (("delta", delta_ref), ("apps", apps_ref)):
            reference[kind] = wrk(
                url, duration=DURATION, connections=CONNECTIONS, headers=GZ, server_pid=nginx.pid
            )
    finally:
        nginx.stop()
    labels = {
        "renew": "PUT renew (spread over 10k)",
        "delta": f"GET /apps/delta (20 changes, {len(delta_body) / 1e3:.1f} KB gzip)",
        "apps": f"GET /apps ({len(apps_body) / 1e3:.0f} KB gzip)",
    }
    rows = []
    for kind, label in labels.items():
        ref = reference[kind]
        for layer in LAYERS:
            ours = measured[layer][kind]
            errors = f" ({ours.errors} errors)" if ours.errors else ""
            rows.append(
                [
                    label,
                    layer,
                    f"{ours.rps:,.0f}{errors}",
                    ours.p99,
                    _cpu(ours),
                    f"{ref.rps:,.0f}",
                    _cpu(ref),
                    f"{ours.rps / ref.rps:.2f}" if ref.rps else "?",
                ]
            )
    print(
        f"\n{INSTANCES:,} instances in {APPS} applications; wrk -t1 -c{CONNECTIONS} -d{DURATION};"
        " each layer and nginx pinned to one core, wrk to the other\n"
    )
    print_table(
        [
            "request",
            "layer",
            "req/s",
            "p99",
            "µs CPU/req",
            "nginx req/s",
            "nginx µs/req",
            "ratio",
        ],
        rows,
    )

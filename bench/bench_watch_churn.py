"""Churn with watchers: 100 status changes/s over 10,000 instances for 60 s, seen by 1,000 clients
that watch (issue 8), against 1,000 clients on legacy 30 s delta polling, in the same run.

Each scenario gets a fresh server (pinned to SERVER_CPU) holding 10,000 instances in 100 apps.
On LOAD_CPU: `watchers.c` plays the 1,000 clients — following the cursor (`follow`) or polling
`GET /eureka/apps/delta` every 30 s, staggered (`poll`) — and four real eureka-py clients run
beside them, with the watch on or off, to show what a client does with what it gets: full
fetches, digest mismatches, repairs, and whether its view equals the server's at the end.
`fleet/openloop.c` makes the changes on schedule (each a real change: instances go
OUT_OF_SERVICE one after another) and times them from their scheduled send. The "churn only"
row is the same churn with no clients at all: the cost of the writes themselves.

The legacy deltas carry the whole 3-minute recently-changed window; the 10,000 registrations
that populate the server are still in it, which at this churn rate changes little: 3 minutes of
100 changes/s touch most of the 10,000 instances anyway.

Server CPU % is the server process's CPU time over the churn's wall time. Memory per watcher is
the server's RSS growth while the 1,000 watches were parked (before any change), divided by 1,000.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tests.integration.server_process import wait_for

from bench.fleet.runner import run_openloop
from bench.fleet.schedule import status_churn_schedule, write_schedule
from bench.serving import (
    LOAD_CPU,
    cpu_seconds,
    load_average,
    pinned,
    populate,
    rss_kb,
    start_server,
)
from bench.table import print_table
from bench.watch import Follow, finish_totals, raise_fd_limit, start_watchers
from bench.watch.sample_clients import view_fingerprint
from eureka.codec import json as json_codec

SECONDS = float(os.environ.get("BENCH_CHURN_SECONDS", "60"))
RATE, INSTANCES, APPS, CLIENTS, SAMPLES = 100, 10_000, 100, 1_000, 4
SETTLE = 3.0  # after the churn: time for the last changes to reach the watchers
SETTINGS = {"eureka.server.enable-self-preservation": "false"}
JSON = {"Accept": "application/json"}


@dataclass(frozen=True)
class _Outcome:
    label: str
    changes: int
    change_p99_ms: float  # from each change's scheduled time (open loop)
    change_errors: int
    cpu_percent: float
    rss_per_client_kib: float | None
    raw: Follow | None
    samples: list[dict[str, Any]]
    current: int  # sample clients whose view equals the server's at the end


def _scenario(label: str, mode: str | None, schedule: Path) -> _Outcome:
    server = start_server(SETTINGS)
    generator = samples = None
    try:
        assert server.proc is not None
        pid = server.proc.pid
        populate(server.base, 0, INSTANCES, APPS)
        client = httpx.Client(base_url=server.base, timeout=60)
        head = client.get("/eureka/apps", headers=JSON)
        epoch, since = head.headers["x-eureka-epoch"], int(head.headers["x-eureka-revision"])
        rss_before = rss_kb(pid)
        rss_per = None
        if mode is not None:
            run_for = SECONDS + SETTLE + 15
            generator = start_watchers(
                mode, server.port, CLIENTS, run_for, "/eureka/apps/delta", epoch=epoch,
                since=since, wait=30, interval=30,
            )  # fmt: skip
            if mode == "follow":
                wait_for(lambda: _held(client) >= CLIENTS, timeout=60, interval=0.1)
                time.sleep(0.5)
                rss_per = (rss_kb(pid) - rss_before) / CLIENTS
            watch = "1" if mode == "follow" else "0"
            args = [sys.executable, "-m", "bench.watch.sample_clients", server.url, str(SAMPLES)]
            with pinned(LOAD_CPU):
                samples = subprocess.Popen(
                    [*args, str(SECONDS), str(SETTLE), watch], stdout=subprocess.PIPE, text=True
                )
            assert samples.stdout is not None
            assert samples.stdout.readline().strip() == "ready"
        cpu_before, started = cpu_seconds(pid), time.monotonic()
        churn = run_openloop(schedule, server.port, measure_from_s=0).kinds["status"]
        cpu_percent = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - started) * 100
        sampled: list[dict[str, Any]] = []
        if samples is not None:
            out, _ = samples.communicate(timeout=120)
            sampled = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        server_view = view_fingerprint(
            json_codec.decode_applications(client.get("/eureka/apps", headers=JSON).content)
        )
        raw = None
        if generator is not None:
            generator.terminate()  # SIGTERM: it has counted enough; its totals are printed
            raw = finish_totals(generator, timeout=30)
        client.close()
        current = sum(1 for s in sampled if s["view"] == server_view)
        return _Outcome(
            label,
            churn.completed,
            churn.p99_us / 1000,
            churn.errors,
            cpu_percent,
            rss_per,
            raw,
            sampled,
            current,
        )
    finally:
        for process in (generator, samples):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        server.stop()


def _held(client: httpx.Client) -> int:
    return int(client.get("/eureka/status", headers=JSON).json()["watch"]["watchers"])


def run() -> None:
    raise_fd_limit()
    print(
        f"{RATE} status changes/s for {SECONDS:.0f} s over {INSTANCES:,} instances in {APPS} apps;"
        f" {CLIENTS:,} raw clients (C) + {SAMPLES} real eureka-py clients; load average"
        f" {load_average()}\n"
    )
    schedule = Path(tempfile.mkdtemp(prefix="eureka-bench-")) / "churn.olg"
    write_schedule(status_churn_schedule(RATE, SECONDS, INSTANCES, APPS), schedule)
    outcomes = [
        _scenario("churn only (no clients)", None, schedule),
        _scenario(f"{CLIENTS:,} watching", "follow", schedule),
        _scenario(f"{CLIENTS:,} polling deltas every 30 s", "poll", schedule),
    ]
    rows = []
    for o in outcomes:
        raw = o.raw
        per_client = "-" if raw is None else f"{raw.entries / CLIENTS:,.0f}"
        spread = "" if raw is None else f" ({raw.per_min}-{raw.per_max})"
        answers = "-" if raw is None else f"{raw.changed / CLIENTS:.0f}{spread}"
        gone = "-" if raw is None else f"{raw.gone} / {raw.errors + raw.other}"
        sent = "-" if raw is None else f"{raw.bytes / 1e6:,.0f}"
        memory = "-" if o.rss_per_client_kib is None else f"{o.rss_per_client_kib:.1f}"
        rows.append(
            [
                *(o.label, f"{o.changes:,} ({o.change_errors} failed)", f"{o.change_p99_ms:.1f}"),
                f"{o.cpu_percent:.0f}",
                *(memory, answers, per_client, gone, sent),
            ]
        )
    print_table(
        [
            "clients",
            "changes made",
            "change p99 ms",
            "server CPU %",
            "KiB/watcher",
            "answers with changes/client (min-max)",
            "instances received/client",
            "410s / errors",
            "MB sent",
        ],
        rows,
    )
    print(f"\nthe {SAMPLES} real eureka-py clients in each scenario (summed):\n")
    sample_rows = []
    for o in outcomes[1:]:
        total = {
            k: sum(s[k] for s in o.samples)
            for k in ("full_fetches", "delta_fetches", "reconcile_mismatches")
        }
        watch = {
            k: sum(s["watch"][k] for s in o.samples)
            for k in ("changes", "digest_mismatches", "repairs", "repair_full_fetches")
        }
        lag = [s["watch"]["lag"]["p99_ms"] for s in o.samples if s["watch"]["lag"]["p99_ms"]]
        sample_rows.append(
            [
                *(o.label, len(o.samples), total["full_fetches"], total["delta_fetches"]),
                *(total["reconcile_mismatches"], watch["changes"], watch["digest_mismatches"]),
                *(watch["repairs"], max(lag) if lag else "-", f"{o.current}/{len(o.samples)}"),
            ]
        )
    print_table(
        [
            "clients",
            "sampled",
            "full fetches (incl. the first)",
            "delta fetches",
            "hash mismatches",
            "watch changes",
            "digest mismatches",
            "repairs",
            "lag p99 ms (worst)",
            f"view = server's {SETTLE:.0f} s after",
        ],
        sample_rows,
    )


if __name__ == "__main__":
    run()

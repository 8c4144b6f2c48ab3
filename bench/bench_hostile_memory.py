"""What hostile bursts leave in a node's memory (issue 10): RSS before, at the peak, and idle.

Three bursts against a real `eureka server` process, each a registration immediately deleted:
300 of 1 MB (over the `registration-max-*` limits: refused with 400), and 3,000 of 60 KB (within
them) with the delta queue's default 3-minute retention shortened to 1 s, with and without the
periodic heap trim. RSS from /proc/<pid>/status; idle is 10 s after the burst.
"""

from __future__ import annotations

import json
import time

import httpx

from bench.serving import load_average, rss_kb, start_server
from bench.table import print_table

FAST = {
    "eureka.server.eviction-interval-timer-in-ms": "500",
    "eureka.server.delta-retention-timer-interval-in-ms": "500",
    "eureka.server.enable-self-preservation": "false",
}


def _registration(n: int, metadata_bytes: int) -> bytes:
    metadata = {f"k{i}": "x" * 1000 for i in range(metadata_bytes // 1000)}
    instance = {
        "instanceId": f"big-{n}",
        "hostName": "10.0.0.1",
        "app": "BIG",
        "ipAddr": "10.0.0.1",
        "status": "UP",
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn",
        },
        "metadata": metadata,
    }
    return json.dumps({"instance": instance}).encode()


def _burst(count: int, size: int, settings: dict[str, str]) -> list[object]:
    server = start_server({**FAST, **settings})
    try:
        assert server.proc is not None
        pid = server.proc.pid
        with httpx.Client(base_url=server.base, timeout=30) as client:
            for _ in range(50):
                client.get("/eureka/apps")
            time.sleep(1)
            baseline = rss_kb(pid)
            peak = baseline
            codes: dict[int, int] = {}
            for n in range(count):
                reply = client.post(
                    "/eureka/apps/BIG",
                    content=_registration(n, size),
                    headers={"content-type": "application/json"},
                )
                codes[reply.status_code] = codes.get(reply.status_code, 0) + 1
                client.delete(f"/eureka/apps/BIG/big-{n}")
                if n % 50 == 0:
                    client.get("/eureka/apps/delta")
                    peak = max(peak, rss_kb(pid))
            peak = max(peak, rss_kb(pid))
            time.sleep(10)
            client.get("/eureka/apps/delta")
            idle = rss_kb(pid)
        answers = ", ".join(f"{code}×{n}" for code, n in sorted(codes.items()))
        return [
            answers,
            f"{baseline / 1024:.0f} MB",
            f"{peak / 1024:.0f} MB",
            f"{idle / 1024:.0f} MB",
        ]
    finally:
        server.stop()


def run() -> None:
    print(f"load average before: {load_average()}\n")
    short = {"eureka.server.retention-time-in-m-s-in-delta-queue": "1000"}
    rows = [
        ["300 × 1 MB, over the limits", *_burst(300, 1_000_000, {})],
        [
            "3,000 × 60 KB, retention 1 s, heap trim every 1 s",
            *_burst(3000, 60_000, {**short, "eureka.server.heap-trim-interval-ms": "1000"}),
        ],
        [
            "3,000 × 60 KB, retention 1 s, no heap trim",
            *_burst(3000, 60_000, {**short, "eureka.server.heap-trim-interval-ms": "0"}),
        ],
    ]
    print_table(
        [
            "burst (each registration deleted at once)",
            "answers",
            "baseline",
            "peak",
            "idle 10 s after",
        ],
        rows,
    )

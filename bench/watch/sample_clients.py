"""A few real eureka-py clients beside the raw watchers: what a client actually does under churn.

The C watchers measure the server; only a real client says whether the watch kept it current
without full fetches (digest verified, repairs counted) — or, with the watch off, how the legacy
delta + hash protocol fares. Runs COUNT `AsyncDiscoveryClient`s (no registration) in one event
loop for SECONDS, then waits SETTLE seconds for the last changes and prints one JSON object per
client: its stats and a fingerprint of its view (`view_fingerprint`).

Usage: python -m bench.watch.sample_clients URL COUNT SECONDS SETTLE WATCH(0|1)
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import sys

from eureka.client import AsyncDiscoveryClient, load_config
from eureka.model import Applications


def view_fingerprint(applications: Applications) -> str:
    """Every instance's id and status, sorted and hashed: equal iff two views agree on both."""
    pairs = sorted(f"{i.app}/{i.id}={i.status.value}" for i in applications.iter_instances())
    return hashlib.sha1("\n".join(pairs).encode()).hexdigest()


async def _sample(url: str, count: int, seconds: float, settle: float, watch: bool) -> None:
    config = load_config(
        env={},
        client={
            "service_url": {"defaultZone": url},
            "register_with_eureka": False,
            "watch_enabled": watch,
        },
    )
    clients = [AsyncDiscoveryClient(config) for _ in range(count)]
    for client in clients:
        await client.__aenter__()
    print("ready", flush=True)
    await asyncio.sleep(seconds + settle)
    for client in clients:
        stats = dataclasses.asdict(client.stats())
        stats["view"] = view_fingerprint(client.applications())
        print(json.dumps(stats, default=str), flush=True)
        await client.__aexit__(None, None, None)


if __name__ == "__main__":
    url, count, seconds, settle, watch = sys.argv[1:6]
    asyncio.run(_sample(url, int(count), float(seconds), float(settle), watch == "1"))

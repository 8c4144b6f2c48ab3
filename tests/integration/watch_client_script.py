"""A watching eureka-py client in a process of its own, so that a test can pause it (SIGSTOP).

Starts an `AsyncDiscoveryClient` (no registration) on the service URLs given, prints "ready",
then answers each line on stdin with one JSON line: its `stats()` and its view (app/id sorted).
"quit" or end of input stops it.

Usage: python -m tests.integration.watch_client_script URL[,URL...]
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys

from eureka.client import AsyncDiscoveryClient, load_config


async def main(urls: str) -> None:
    config = load_config(
        env={},
        client={"service_url": {"defaultZone": urls}, "register_with_eureka": False},
    )
    async with AsyncDiscoveryClient(config) as client:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "quit":
                return
            stats = dataclasses.asdict(client.stats())
            view = sorted(f"{i.app}/{i.id}" for i in client.applications().iter_instances())
            print(json.dumps({"stats": stats, "view": view}, default=str), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

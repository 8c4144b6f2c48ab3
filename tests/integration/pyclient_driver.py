"""Drives the real py-eureka-client against a eureka-py server, in its own process.

py-eureka-client's heartbeat thread loops forever even after `stop()` (its Timer can only be
cancelled before it fires), so the tests run it in a subprocess they can end. Prints one JSON line
per snapshot; reads "stop" on stdin.
Usage: python pyclient_driver.py SERVICE_URL APP INSTANCE_ID PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading

import py_eureka_client.eureka_client as ec

counters = {"full": 0, "delta": 0}
_real_full, _real_delta = ec.get_applications, ec.get_delta


async def _counting_full(*args, **kwargs):  # type: ignore[no-untyped-def]
    counters["full"] += 1
    return await _real_full(*args, **kwargs)


async def _counting_delta(*args, **kwargs):  # type: ignore[no-untyped-def]
    counters["delta"] += 1
    return await _real_delta(*args, **kwargs)


# Wrapping (not replacing) the module-level fetch functions lets the test see which path the
# client took — the protocol traffic itself is py-eureka-client's own.
ec.get_applications = _counting_full
ec.get_delta = _counting_delta


def snapshot(client: ec.EurekaClient, event: str) -> None:
    apps = {}
    registry = client.applications
    for application in registry.applications if registry else []:
        apps[application.name] = [
            {"id": i.instanceId, "status": i.status} for i in application.instances
        ]
    print(json.dumps({"event": event, "apps": apps, **counters}), flush=True)


async def main() -> None:
    url, app, instance_id, port = sys.argv[1:5]
    client = ec.EurekaClient(
        eureka_server=url,
        app_name=app,
        instance_id=instance_id,
        instance_host="127.0.0.1",
        instance_ip="127.0.0.1",
        instance_port=int(port),
        renewal_interval_in_secs=1,
        duration_in_secs=2,
    )
    await client.start()
    snapshot(client, "started")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def read_stdin() -> None:
        for line in sys.stdin:
            if "stop" in line:
                loop.call_soon_threadsafe(stop.set)
                return

    threading.Thread(target=read_stdin, daemon=True).start()
    while not stop.is_set():
        snapshot(client, "state")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)
    await client.stop()
    snapshot(client, "stopped")
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())

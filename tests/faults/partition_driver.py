"""One side's clients in the partition test: register, renew every second, keep registering.

Runs inside a host's namespace and talks to that host's node only, as clients on one side of a
partition do. It registers INITIAL instances of application PART-<SIDE>, then every second
renews each of them; between SIGUSR2 and SIGUSR1 it also registers one more each second. At
SIGUSR1 it prints the ids acknowledged so far (one JSON line) and goes on renewing until SIGTERM.
(New instances only on request: a registry that grows every second never measures a minute of
renewals above its self-preservation threshold, and its leases could never expire.)

A renewal answered 404 means the node dropped a lease its client kept renewing (an eviction on
the client's own side): counted, and the instance registers again, as a Eureka client does. At
the end it prints one JSON object: the ids whose registration was acknowledged (204), the
renewals answered 404, and the requests that failed (not a 2xx/404 answer).

Usage: python -m tests.faults.partition_driver BASE_URL SIDE INITIAL LEASE_S
"""

from __future__ import annotations

import json
import signal
import sys
import time

import httpx

from eureka.codec.json import encode_instance
from tests.registry.support import instance

JSON = {"Content-Type": "application/json"}
_signals: set[int] = set()


def _on_signal(signum: int, frame: object) -> None:
    _signals.add(signum)


def main(base: str, side: str, initial: int, lease_s: int) -> None:
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGUSR1, _on_signal)
    signal.signal(signal.SIGUSR2, _on_signal)
    app = f"PART-{side.upper()}"
    acknowledged: list[str] = []
    renewal_404: list[str] = []
    failed = 0
    with httpx.Client(base_url=base, timeout=2.0) as client:

        def register(instance_id: str) -> bool:
            nonlocal failed
            body = encode_instance(
                instance(app, instance_id, duration=lease_s, dirty=time.time_ns() // 1_000_000)
            )
            try:
                answer = client.post(
                    f"/eureka/apps/{app}",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError:
                failed += 1
                return False
            if answer.status_code == 204:
                acknowledged.append(instance_id)
                return True
            failed += 1
            return False

        live = [f"{side}-{n}" for n in range(initial) if register(f"{side}-{n}")]
        print("ready", flush=True)
        n = initial
        frozen = False
        while signal.SIGTERM not in _signals:
            if signal.SIGUSR1 in _signals and not frozen:
                frozen = True
                print(json.dumps({"acknowledged": sorted(set(acknowledged))}), flush=True)
            started = time.monotonic()
            for instance_id in live:
                try:
                    answer = client.put(f"/eureka/apps/{app}/{instance_id}")
                except httpx.HTTPError:
                    failed += 1
                    continue
                if answer.status_code == 404:
                    renewal_404.append(instance_id)
                    register(instance_id)
                elif answer.status_code != 200:
                    failed += 1
            if signal.SIGUSR2 in _signals and not frozen:
                if register(f"{side}-{n}"):
                    live.append(f"{side}-{n}")
                n += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    result = {
        "acknowledged": sorted(set(acknowledged)),
        "renewal_404": renewal_404,
        "failed": failed,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))

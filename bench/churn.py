"""Status churn at a fixed rate, in its own process so that the load generator is not starved.

Usage: python -m bench.churn BASE_URL RATE SECONDS INSTANCES APPS — flips instances `inst-i` of
`APP-(i % APPS)` between OUT_OF_SERVICE and UP, open-loop (on schedule whatever the latency), and
prints how many changes it made and their p99 latency in ms.
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx


async def churn(
    base: str, rate: float, seconds: float, instances: int, apps: int
) -> tuple[int, float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=10) as client:

        async def change(n: int) -> None:
            i = (n * 37) % instances
            status = "OUT_OF_SERVICE" if (n // instances) % 2 == 0 else "UP"
            started = time.perf_counter()
            await client.put(f"{base}/eureka/apps/APP-{i % apps}/inst-{i}/status?value={status}")
            latencies.append(time.perf_counter() - started)

        tasks = []
        started = time.monotonic()
        n = 0
        while (elapsed := time.monotonic() - started) < seconds:
            while n < elapsed * rate:
                tasks.append(asyncio.create_task(change(n)))
                n += 1
            await asyncio.sleep(1 / rate / 2)
        await asyncio.gather(*tasks)
    latencies.sort()
    return len(latencies), latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0


def main() -> None:
    base, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    instances, apps = int(sys.argv[4]), int(sys.argv[5])
    count, p99 = asyncio.run(churn(base, rate, seconds, instances, apps))
    print(f"{count} {p99 * 1000:.2f}")


if __name__ == "__main__":
    main()

"""Status churn at a fixed rate, in its own process so that the load generator is not starved.

Usage: python -m bench.churn BASE_URL RATE SECONDS — flips instances of the bench registry
between OUT_OF_SERVICE and UP, prints how many changes it made and their p99 latency.
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx

APPS = 50
INSTANCES = 10_000


async def churn(base: str, rate: float, seconds: float) -> tuple[int, float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=10) as client:

        async def change(n: int) -> None:
            i = (n * 37) % INSTANCES
            status = "OUT_OF_SERVICE" if n % 2 == 0 else "UP"
            started = time.perf_counter()
            await client.put(f"{base}/eureka/apps/APP-{i % APPS}/inst-{i}/status?value={status}")
            latencies.append(time.perf_counter() - started)

        tasks = []
        started = time.monotonic()
        n = 0
        while (elapsed := time.monotonic() - started) < seconds:
            # Open-loop: changes are issued on schedule whatever the server's latency.
            while n < elapsed * rate:
                tasks.append(asyncio.create_task(change(n)))
                n += 1
            await asyncio.sleep(1 / rate / 2)
        await asyncio.gather(*tasks)
    latencies.sort()
    return len(latencies), latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0


def main() -> None:
    base, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    count, p99 = asyncio.run(churn(base, rate, seconds))
    print(f"{count} {p99 * 1000:.2f}")


if __name__ == "__main__":
    main()

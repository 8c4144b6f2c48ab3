"""Build and run `openloop` (pinned to the load generator's core) and read what it reports."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.serving import LOAD_CPU, compiled, taskset

__all__ = [
    "KindStats",
    "OpenLoopResult",
    "build_openloop",
    "finish_openloop",
    "run_openloop",
    "start_openloop",
]

_SOURCE = Path(__file__).with_name("openloop.c")


@dataclass(frozen=True)
class KindStats:
    name: str
    sent: int
    completed: int
    errors: int
    p50_us: int
    p99_us: int
    p999_us: int
    max_us: int


@dataclass(frozen=True)
class OpenLoopResult:
    kinds: dict[str, KindStats]
    # Send time minus scheduled time: how far the generator itself fell behind.
    lag_p99_us: int
    lag_max_us: int
    connections: int
    max_queue: int
    elapsed_s: float
    # Why requests failed: "lost=N" (the connection went with the request) and "CODE=N".
    failures: str = ""

    @property
    def sent(self) -> int:
        return sum(k.sent for k in self.kinds.values())

    @property
    def errors(self) -> int:
        return sum(k.errors for k in self.kinds.values())


def build_openloop() -> Path:
    return compiled(_SOURCE)


def start_openloop(
    schedule: Path,
    port: int,
    *,
    measure_from_s: float,
    grace_s: float = 5.0,
    max_connections: int = 4096,
) -> subprocess.Popen[str]:
    """Start `openloop` on the load generator's core; `finish_openloop` collects the result."""
    binary = build_openloop()
    args = [
        str(binary),
        str(schedule),
        "127.0.0.1",
        str(port),
        str(max_connections),
        str(int(grace_s * 1000)),
        str(int(measure_from_s * 1000)),
    ]
    return subprocess.Popen(taskset(LOAD_CPU, args), stdout=subprocess.PIPE, text=True)


def run_openloop(
    schedule: Path,
    port: int,
    *,
    measure_from_s: float,
    grace_s: float = 5.0,
    max_connections: int = 4096,
) -> OpenLoopResult:
    return finish_openloop(
        start_openloop(
            schedule,
            port,
            measure_from_s=measure_from_s,
            grace_s=grace_s,
            max_connections=max_connections,
        )
    )


def finish_openloop(process: subprocess.Popen[str]) -> OpenLoopResult:
    out, _ = process.communicate(timeout=3600)
    if process.returncode:
        raise RuntimeError(f"openloop failed ({process.returncode})")
    kinds: dict[str, KindStats] = {}
    lag = (0, 0)
    connections = queue = 0
    elapsed = 0.0
    failures = ""
    for line in out.splitlines():
        fields = line.split()
        if fields[0] == "kind":
            name = fields[1]
            sent, completed, errors, p50, p99, p999, top = map(int, fields[2:])
            kinds[name] = KindStats(name, sent, completed, errors, p50, p99, p999, top)
        elif fields[0] == "lag":
            lag = (int(fields[1]), int(fields[2]))
        elif fields[0] == "failures":
            failures = " ".join(fields[1:])
        elif fields[0] == "conns":
            connections, queue, elapsed = int(fields[1]), int(fields[2]), int(fields[3]) / 1e6
    return OpenLoopResult(kinds, lag[0], lag[1], connections, queue, elapsed, failures)

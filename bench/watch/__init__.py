"""The watch benchmarks' load generator: `watchers.c`, N long-poll watchers on one epoll loop.

Why C: at 10,000 watchers one change is answered 10,000 times within milliseconds, and a Python
reader (even asyncio on uvloop, ~30 µs per response) would add its own hundreds of milliseconds
to every percentile — the benchmark would measure the generator. wrk and h2load cannot follow a
cursor from one answer to the next request, so neither can play a watcher.
"""

from __future__ import annotations

import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.serving import LOAD_CPU, compiled, taskset

__all__ = ["Follow", "Once", "finish_once", "finish_totals", "raise_fd_limit", "start_watchers"]

_SOURCE = Path(__file__).with_name("watchers.c")


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (inherited by the processes started after)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def start_watchers(
    mode: str,
    port: int,
    count: int,
    seconds: float,
    path: str,
    *,
    epoch: str = "-",
    since: int = 0,
    wait: int = 60,
    interval: float = 30.0,
) -> subprocess.Popen[str]:
    """`watchers MODE …` on the load generator's core; see watchers.c for the modes."""
    args = [str(compiled(_SOURCE)), mode, "127.0.0.1", str(port), str(count), str(seconds)]
    args += [path, epoch, str(since), str(wait), str(interval)]
    return subprocess.Popen(
        taskset(LOAD_CPU, args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@dataclass(frozen=True)
class Once:
    received_us: list[int]  # CLOCK_REALTIME µs at each answer's last byte
    missing: int
    errors: int


def finish_once(process: subprocess.Popen[str], timeout: float) -> Once:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"watchers failed: {err.strip()}")
    received = [int(line.split()[1]) for line in out.splitlines() if line.startswith("t ")]
    done = next(line for line in out.splitlines() if line.startswith("done "))
    _, _answered, missing, errors = done.split()
    return Once(received, int(missing), int(errors))


@dataclass(frozen=True)
class Follow:
    answers: int
    changed: int  # 200s: answers with changes
    not_modified: int  # 304s
    gone: int  # 410s: a client would repair here
    other: int
    entries: int  # instances in the answers' bodies ("actionType" keys)
    bytes: int
    errors: int
    per_min: int  # answers with changes, the least and the most one connection got
    per_max: int


def finish_totals(process: subprocess.Popen[str], timeout: float) -> Follow:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"watchers failed: {err.strip()}")
    lines = {line.split()[0]: [int(x) for x in line.split()[1:]] for line in out.splitlines()}
    return Follow(*lines["totals"], *lines["per"])

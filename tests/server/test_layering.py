"""The server's pure rooms for operators load no event loop, HTTP stack or metrics library.

`server/status.py`, `server/dashboard.py` and `server/health.py` turn core reads into values and
bytes; prometheus_client belongs to `server/metrics.py` alone (style.md §2.2). Checked in a fresh
interpreter. (`socket` is not banned: `eureka.replication`'s package imports its peer-address
helpers, which these rooms do not use.)
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE = [
    "eureka.server.status",
    "eureka.server.dashboard",
    "eureka.server.health",
    "eureka.registry.summary",
]
BANNED = ("asyncio", "httpx", "httpcore", "granian", "uvloop", "prometheus_client")


@pytest.mark.parametrize("room", PURE)
def test_an_operator_room_loads_no_io_or_metrics_library(room: str) -> None:
    probe = f"import sys, {room}\nprint(','.join(m for m in {BANNED!r} if m in sys.modules))\n"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"{room} loads {loaded}"

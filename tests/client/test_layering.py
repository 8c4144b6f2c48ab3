"""The client's pure rooms load no event loop, no sockets and no HTTP library (style.md §1).

Checked in a fresh interpreter, since this test process has long imported everything.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE = [
    "backoff",
    "cursor",
    "diff",
    "endpoints",
    "events",
    "lag",
    "merge",
    "messages",
    "payloads",
    "regions",
    "registration",
    "scheduler",
    "state",
    "views",
]
BANNED = ("asyncio", "httpx", "httpcore", "granian", "uvloop", "socket", "selectors")


@pytest.mark.parametrize("room", PURE)
def test_a_pure_room_loads_no_io(room: str) -> None:
    probe = (
        f"import sys, eureka.client.{room}\n"
        f"print(','.join(m for m in {BANNED!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"eureka.client.{room} loads {loaded}"


def test_the_package_still_exports_both_clients_on_first_use() -> None:
    from eureka import client

    assert client.AsyncDiscoveryClient.__name__ == "AsyncDiscoveryClient"
    assert client.DiscoveryClient.__name__ == "DiscoveryClient"
    for name in client.__all__:
        assert getattr(client, name) is not None
    with pytest.raises(AttributeError):
        _ = client.NoSuchThing  # type: ignore[attr-defined]

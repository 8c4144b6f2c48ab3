"""Import layering (style.md §1, Trio notes): pure rooms — the cores, the client's rooms and the
server's rooms for operators — load no I/O machinery, and a client that speaks JSON never loads
lxml. Each check runs in a fresh interpreter, since this test process has long imported
everything. (The one module for every layering rule: tests/client and tests/server have none.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Cores that take a Clock and return values; no event loop, no HTTP, no server.
PURE_ROOMS = [
    "eureka.model",
    "eureka.clock",
    "eureka.digest",
    "eureka.reconcile",
    "eureka.backoff",
    "eureka.log_throttle",
    "eureka.codec.json",
    "eureka.registry",
    "eureka.registry.remote_regions",
    "eureka.replication.dispatcher",
    "eureka.replication.protocol",
    "eureka.replication.peers",
    "eureka.server.gc_policy",
]
IO_PACKAGES = ("asyncio", "httpx", "granian", "httptools", "uvloop")
# The client's rooms do not even open sockets: only its transport does.
CLIENT_ROOMS = [
    f"eureka.client.{room}"
    for room in (
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
    )
]
CLIENT_BANNED = (*IO_PACKAGES, "httpcore", "socket", "selectors")
# The server's rooms for operators turn core reads into values and bytes; prometheus_client
# belongs to `server/metrics.py` alone (style.md §2.2). (`socket` is not banned here:
# `eureka.replication`'s package imports its peer-address helpers.)
OPERATOR_ROOMS = [
    "eureka.server.status",
    "eureka.server.dashboard",
    "eureka.server.health",
    "eureka.registry.summary",
]
OPERATOR_BANNED = (*IO_PACKAGES, "httpcore", "prometheus_client")

_PROBE = """
import json, sys
for statement in sys.argv[1:]:
    exec(statement)
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def _loaded(*statements: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running `statements`."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *statements],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stdout))


def _rooms_loading(banned: tuple[str, ...], rooms: list[str]) -> dict[str, list[str]]:
    """For each room, the banned packages it loads (rooms that load none are left out). Each room
    gets an interpreter of its own: a module cached by an earlier room would hide its imports."""
    offenders = {}
    for room in rooms:
        mods = _loaded(f"import {room}") & set(banned)
        if mods:
            offenders[room] = sorted(mods)
    return offenders


@pytest.mark.parametrize(
    ("rooms", "banned"),
    [
        (PURE_ROOMS, IO_PACKAGES),
        (CLIENT_ROOMS, CLIENT_BANNED),
        (OPERATOR_ROOMS, OPERATOR_BANNED),
    ],
    ids=["core", "client", "operator"],
)
def test_pure_rooms_load_no_io_machinery(rooms: list[str], banned: tuple[str, ...]) -> None:
    assert _rooms_loading(banned, rooms) == {}


def test_the_probe_catches_a_room_that_loads_io() -> None:
    assert _rooms_loading(("httpx",), ["eureka.client.sync_client"]) == {
        "eureka.client.sync_client": ["httpx"]
    }
    assert "prometheus_client" in _rooms_loading(OPERATOR_BANNED, ["eureka.server.metrics"]).get(
        "eureka.server.metrics", []
    )


def test_the_client_loads_lxml_only_when_xml_is_used() -> None:
    json_client = _loaded(
        "import eureka.client",
        "from eureka.client import DiscoveryClient, AsyncDiscoveryClient, load_config",
        "from eureka.client.integrations.httpx_transport import EurekaTransport",
        "from eureka.client.payloads import decode_registry",
        "from eureka.client.messages import Response",
        "decode_registry(Response(200, {'content-type': 'application/json'},"
        ' b\'{"applications": {"application": []}}\'))',
    )
    assert "lxml" not in json_client
    xml_answer = _loaded(
        "from eureka.client.payloads import decode_registry",
        "from eureka.client.messages import Response",
        "decode_registry(Response(200, {'content-type': 'application/xml'},"
        " b'<applications></applications>'))",
    )
    assert "lxml" in xml_answer  # the probe can tell


def test_a_client_only_program_loads_no_server_stack() -> None:
    loaded = _loaded("from eureka.client import DiscoveryClient, load_config")
    # (httpx itself imports click and rich when they are installed, for its own CLI.)
    assert loaded & {"granian", "httptools", "uvloop", "zlib_ng"} == set()


def test_every_lazy_client_export_resolves() -> None:
    import eureka.client

    assert eureka.client.AsyncDiscoveryClient.__name__ == "AsyncDiscoveryClient"
    assert eureka.client.DiscoveryClient.__name__ == "DiscoveryClient"
    for name in eureka.client.__all__:
        assert getattr(eureka.client, name) is not None, name
    with pytest.raises(AttributeError):
        _ = eureka.client.NoSuchThing  # type: ignore[attr-defined]

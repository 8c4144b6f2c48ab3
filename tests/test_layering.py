"""Import layering (style.md §1, Trio notes): pure rooms load no I/O machinery, and a client
that speaks JSON never loads lxml. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

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
    "eureka.client.state",
    "eureka.client.scheduler",
    "eureka.client.registration",
    "eureka.client.merge",
    "eureka.client.views",
    "eureka.client.endpoints",
    "eureka.client.regions",
]
IO_PACKAGES = ("asyncio", "httpx", "granian", "uvloop")

_PROBE = """
import json, sys
for statement in sys.argv[1:]:
    exec(statement)
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""

# One interpreter for all rooms: before each room, our modules and the I/O packages imported by
# the previous one are forgotten, so each room is judged on what it imports itself.
_ROOMS_PROBE = """
import importlib, json, sys
watched = ("eureka",) + tuple(sys.argv[1].split(","))
found = {}
for room in sys.argv[2:]:
    for name in [m for m in sys.modules if m.split(".")[0] in watched]:
        del sys.modules[name]
    importlib.import_module(room)
    found[room] = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in watched})
print(json.dumps(found))
"""


def _loaded(*statements: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *statements],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stdout))


def test_pure_rooms_load_no_io_machinery() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _ROOMS_PROBE, ",".join(IO_PACKAGES), *PURE_ROOMS],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    offenders = {room: sorted(set(mods) & set(IO_PACKAGES)) for room, mods in found.items()}
    assert {room: mods for room, mods in offenders.items() if mods} == {}
    # The probe can tell: a module that does load httpx is caught.
    probe = [sys.executable, "-c", _ROOMS_PROBE, "httpx", "eureka.client.sync_client"]
    caught = json.loads(
        subprocess.run(probe, capture_output=True, text=True, timeout=60, check=True).stdout
    )
    assert "httpx" in caught["eureka.client.sync_client"]


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
    assert loaded & {"granian", "uvloop", "zlib_ng"} == set()


def test_every_lazy_client_export_resolves() -> None:
    import eureka.client

    for name in eureka.client.__all__:
        assert getattr(eureka.client, name) is not None, name

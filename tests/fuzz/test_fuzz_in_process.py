"""Property-based fuzzing of the whole REST API through `EurekaApp.handle` (no sockets).

Two generators: our own strategies of Eureka's shapes (tests/fuzz/strategies.py: JSON and XML
registrations in several encodings, gzip, replication batches, every write and read with hostile
queries and headers), and schemathesis over the repository's OpenAPI document. Every answer must
be below 500, and any 4xx must leave the registry byte-identical (revision, content digest, the
full JSON and XML payloads). With tests/fuzz/test_fuzz_http.py the counts add up to over 10,000
requests per run; EUREKA_FUZZ_SCALE multiplies them for a longer local run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from eureka.server.auth import encode_password
from eureka.server.http import Request, Response
from tests.fuzz.probe import InProcessProbe
from tests.fuzz.strategies import FuzzRequest, eureka_request, instance_obj
from tests.server.node_support import make_node

SCALE = float(os.environ.get("EUREKA_FUZZ_SCALE", "1"))
# Requests per generated example: hypothesis's cost is mostly per example, so each example is a
# short sequence of requests (which also lets later requests meet the state earlier ones made).
PER_EXAMPLE = 10
# Requests per run (× SCALE): with test_fuzz_http.py's 1,000, 10,000 in all.
OWN, WITH_AUTH, FROM_OPENAPI = 7_000, 1_000, 1_000
OPENAPI = Path(__file__).resolve().parents[2] / "src" / "eureka" / "server" / "openapi.json"
SEEDED = (("APP", "i-1"), ("APP", "i-2"), ("ORDERS", "10.0.0.1:orders:8080"))


def fuzz_settings(requests: int) -> settings:
    # Derandomized in CI so that a run is reproducible; a failure prints the requests (shrunk).
    return settings(
        max_examples=max(1, int(requests * SCALE) // PER_EXAMPLE),
        database=None,
        deadline=None,
        derandomize=os.environ.get("CI") == "true",
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )


def seeded_probe(overrides: dict[str, str] | None = None) -> InProcessProbe:
    """A node holding a few instances, so that writes hit existing ones as often as not."""
    node, _ = make_node(overrides)
    for app_name, instance_id in SEEDED:
        body = json.dumps({"instance": instance_obj(app_name, instance_id, "UP")}).encode()
        headers = {"content-type": "application/json", "authorization": PEER_BASIC}
        reply = node.app.handle(Request("POST", f"/eureka/apps/{app_name}", "", headers, body))
        assert isinstance(reply, Response) and reply.status == 204
    return InProcessProbe(node)


def sequences(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[list[object]]:
    return st.lists(strategy, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE)


@pytest.fixture(scope="module")
def probe() -> Iterator[InProcessProbe]:
    probe = seeded_probe()
    yield probe
    print("\nown:", sorted(probe.statuses.items()))
    assert probe.count >= int(OWN * SCALE)
    # Every kind of answer was seen: the run exercised the writes, not only the refusals.
    for status in (200, 204, 400, 404):
        assert probe.statuses[status] > 0, probe.statuses


@fuzz_settings(OWN)
@given(requests=sequences(eureka_request()))
def test_eureka_shaped_requests_never_5xx_and_4xx_changes_nothing(
    probe: InProcessProbe, requests: list[FuzzRequest]
) -> None:
    for request in requests:
        probe.send(request)


# With auth on: the peer may do everything a client may, plus replication; the client may not
# replicate; wrong or foreign credentials may do nothing.
PEER_BASIC = "Basic cGVlcjpw"  # peer:p
AUTH = {
    "eureka.server.auth.users.peer.password": encode_password("p", "sha256"),
    "eureka.server.auth.users.peer.roles": "PEER",
    "eureka.server.auth.users.app.password": encode_password("a", "sha256"),
    "eureka.server.auth.users.app.roles": "CLIENT",
}
CREDENTIALS = st.sampled_from(
    ["", "Basic YXBwOmE=", PEER_BASIC, "Basic YXBwOmI=", "Bearer x", "Basic %%%"]
)
_WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture(scope="module")
def secured_probe() -> Iterator[InProcessProbe]:
    probe = seeded_probe(AUTH)
    yield probe
    print("\nauth:", sorted(probe.statuses.items()))
    assert probe.count >= int(WITH_AUTH * SCALE)
    assert probe.statuses[401] > 0 and probe.statuses[403] > 0, probe.statuses


@fuzz_settings(WITH_AUTH)
@given(requests=sequences(st.tuples(eureka_request(), CREDENTIALS)))
def test_with_auth_on_refusals_change_nothing_and_only_peers_replicate(
    secured_probe: InProcessProbe, requests: list[tuple[FuzzRequest, str]]
) -> None:
    for request, credentials in requests:
        _send_with(secured_probe, request, credentials)


def _send_with(secured_probe: InProcessProbe, request: FuzzRequest, credentials: str) -> None:
    headers = dict(request.headers)
    if credentials:
        headers["authorization"] = credentials
    status = secured_probe.send(
        FuzzRequest(request.method, request.path, request.query, headers, request.body)
    )
    replicating = "/peerreplication/" in request.path or (
        request.method in _WRITES and headers.get("x-netflix-discovery-replication") == "true"
    )
    if replicating and credentials != PEER_BASIC and secured_probe.last_routed:
        assert status in (401, 403), (status, request)


def _openapi_cases() -> st.SearchStrategy[schemathesis.Case]:
    schema = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text()))
    return schema.as_strategy()


@pytest.fixture(scope="module")
def openapi_probe() -> Iterator[InProcessProbe]:
    probe = seeded_probe()
    yield probe
    print("\nopenapi:", sorted(probe.statuses.items()))
    assert probe.count >= int(FROM_OPENAPI * SCALE)


@fuzz_settings(FROM_OPENAPI)
@given(cases=sequences(_openapi_cases()))
def test_schemathesis_cases_from_the_openapi_document(
    openapi_probe: InProcessProbe, cases: list[schemathesis.Case]
) -> None:
    for case in cases:
        _send_case(openapi_probe, case)


def _send_case(openapi_probe: InProcessProbe, case: schemathesis.Case) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://127.0.0.1/eureka")
    url = httpx.URL(kwargs["url"], params=kwargs.get("params") or None)
    body = kwargs.get("data")
    if "json" in kwargs:
        body = json.dumps(kwargs["json"]).encode()
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    headers = {str(k).lower(): str(v) for k, v in (kwargs.get("headers") or {}).items()}
    path = url.raw_path.decode("ascii").split("?", 1)[0]
    openapi_probe.send(
        FuzzRequest(case.method.upper(), path, url.query.decode("ascii"), headers, body or b"")
    )

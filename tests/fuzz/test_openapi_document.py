"""The OpenAPI document in the repository describes exactly the routes the server has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import schemathesis

from eureka.server import app as app_module
from eureka.server.http import Request, Response
from eureka.server.routes import route
from tests.server.node_support import make_node

OPENAPI = Path(__file__).resolve().parents[2] / "src" / "eureka" / "server" / "openapi.json"
DOCUMENT = json.loads(OPENAPI.read_text())
SAMPLES = {
    "appName": "APP",
    "instanceId": "i-1",
    "vipAddress": "app",
    "svipAddress": "app",
    "asgName": "asg",
    "asset": "dashboard.js",
}
METHODS = ("get", "put", "post", "delete", "patch")


def operations() -> list[tuple[str, str]]:
    """(method, concrete path under /eureka) for every operation of the document."""
    found = []
    for path, item in DOCUMENT["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], path)
        found += [(method.upper(), "/eureka" + concrete) for method in METHODS if method in item]
    return found


def test_the_document_is_valid_openapi_that_schemathesis_reads() -> None:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    assert len(list(schema.get_all_operations())) == len(operations())


def test_the_node_serves_the_document_kept_in_the_repository() -> None:
    node, _ = make_node()
    reply = node.app.handle(Request("GET", "/eureka/openapi.json", "", {}))
    assert isinstance(reply, Response) and reply.status == 200
    assert json.loads(reply.body) == DOCUMENT


def test_every_documented_operation_reaches_a_handler() -> None:
    node, _ = make_node()
    for method, path in operations():
        reply = node.app.handle(Request(method, path, "", {}))
        assert isinstance(reply, Response)
        # The router's own refusals carry these bodies; a handler's 404 is empty.
        assert reply.body not in (b"not found", b"method not allowed"), (method, path)


def test_every_route_of_the_server_is_documented() -> None:
    documented = set()
    for method, path in operations():
        target = route(path, ("eureka",))
        assert target is not None, path
        documented.add((target.resource, len(target.args), method))
    assert documented == set(app_module._HANDLERS), "a route is missing from openapi.json"
    for literal in app_module._APPS_LITERALS:
        assert f"/apps/{literal}" in DOCUMENT["paths"], f"/apps/{literal} is not documented"

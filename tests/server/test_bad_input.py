"""Hostile bodies through `EurekaApp.handle`: a clear 4xx, and nothing in the registry changes."""

from __future__ import annotations

import gzip

import pytest

from tests.server.node_support import call, make_node, registration


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("where", ["list", "item"])
@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_a_deeply_nested_replication_batch_is_400_and_changes_nothing(
    depth: int, where: str, encoding: str
) -> None:
    node, _ = make_node()
    app = node.app
    assert call(app, "POST", "/eureka/apps/APP", body=registration()).status == 204
    before = (node.registry.revision, call(app, "GET", "/eureka/apps").body)
    if where == "list":
        body = b'{"replicationList":' + _nested(depth) + b"}"
    else:
        body = (
            b'{"replicationList":[{"appName":"APP","id":"i-1","action":"Cancel","x":'
            + _nested(depth)
            + b"}]}"
        )
    headers = {"content-type": "application/json"}
    if encoding:
        body = gzip.compress(body)
        headers["content-encoding"] = encoding
    reply = call(app, "POST", "/eureka/peerreplication/batch/", headers=headers, body=body)
    assert reply.status == 400
    assert b"nested" in reply.body
    assert (node.registry.revision, call(app, "GET", "/eureka/apps").body) == before

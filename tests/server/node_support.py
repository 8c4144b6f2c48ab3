"""An in-process node for tests that call `EurekaApp.handle` directly (no sockets, manual time)."""

from __future__ import annotations

import json
from typing import Any

from eureka.clock import ManualClock
from eureka.server.app import EurekaApp
from eureka.server.config import load_config
from eureka.server.http import Request, Response
from eureka.server.node import Node

START_MS = 1_754_500_000_000


def make_node(settings: dict[str, Any] | None = None) -> tuple[Node, ManualClock]:
    """A single node open for traffic, configured like `eureka server --set key=value ...`."""
    clock = ManualClock(START_MS)
    node = Node(load_config(environ={}, overrides=settings or {}), clock)
    node.registry.open_for_traffic(0)
    return node, clock


def call(
    app: EurekaApp,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> Response:
    result = app.handle(Request(method, path, query, dict(headers or {}), body))
    assert isinstance(result, Response)
    return result


def registration(app: str = "APP", instance_id: str = "i-1", **extra: Any) -> bytes:
    """A dialect-A registration body, as a Java client sends it."""
    instance: dict[str, Any] = {
        "instanceId": instance_id,
        "hostName": f"{instance_id}.example",
        "app": app,
        "ipAddr": "10.0.0.1",
        "status": "UP",
        "port": {"$": 8080, "@enabled": "true"},
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn",
        },
        "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90},
        "vipAddress": app.lower(),
    }
    instance.update(extra)
    return json.dumps({"instance": instance}).encode()

"""Builders for tests that drive `EurekaApp` directly: real registry and cache, ManualClock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from eureka.clock import ManualClock
from eureka.registry import Registry, RegistryConfig, ResponseCache
from eureka.server.app import EurekaApp
from eureka.server.config import ServerConfig
from eureka.server.http import Request, Response

START_MS = 1_754_500_000_000


@dataclass
class AppUnderTest:
    app: EurekaApp
    registry: Registry
    clock: ManualClock

    def call(
        self, method: str, path: str, query: str = "", headers: dict[str, str] | None = None
    ) -> Response:
        response = self.app.handle(Request(method, path, query, headers or {}))
        assert isinstance(response, Response)
        return response

    def get_json(self, path: str, query: str = "") -> Any:
        response = self.call("GET", path, query, {"accept": "application/json"})
        assert response.status == 200, (response.status, response.body)
        return msgspec.json.decode(response.body)


def make_app(registry: dict[str, Any] | None = None, **server: Any) -> AppUnderTest:
    clock = ManualClock(START_MS)
    config = ServerConfig(registry=RegistryConfig(**(registry or {})), **server)
    core = Registry(config.registry, clock)
    core.open_for_traffic(0)
    cache = ResponseCache(core, config.registry, clock)
    return AppUnderTest(EurekaApp(config, core, cache, clock), core, clock)

"""An in-process `EurekaApp` on a ManualClock, spoken to with `server.http.Request` values."""

from __future__ import annotations

import dataclasses
from typing import Any

from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.model import InstanceInfo
from eureka.registry import Registry, RegistryConfig, ResponseCache
from eureka.server.app import EurekaApp
from eureka.server.config import ServerConfig
from eureka.server.http import Parked, Request, Response
from tests.registry.support import START_MS, instance

__all__ = ["AppHarness", "make_app"]


@dataclasses.dataclass
class AppHarness:
    app: EurekaApp
    registry: Registry
    cache: ResponseCache
    clock: ManualClock

    def request(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Response | Parked:
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        return self.app.handle(Request(method, path, query, lowered, body))

    def get(self, path: str, query: str = "", **headers: str) -> Response:
        result = self.request(
            "GET", path, query, {k.replace("_", "-"): v for k, v in headers.items()}
        )
        assert isinstance(result, Response), result
        return result

    def register(self, info: InstanceInfo) -> Response:
        result = self.request(
            "POST",
            f"/eureka/apps/{info.app}",
            headers={"content-type": "application/json"},
            body=json_codec.encode_instance(info),
        )
        assert isinstance(result, Response) and result.status == 204, result
        return result

    def register_new(self, app: str, instance_id: str, **kwargs: Any) -> Response:
        return self.register(instance(app, instance_id, **kwargs))


def header(response: Response, name: str) -> str | None:
    for key, value in response.headers:
        if key.lower() == name.lower():
            return value
    return None


def make_app(
    *, server: dict[str, Any] | None = None, start_ms: int = START_MS, **registry: Any
) -> AppHarness:
    clock = ManualClock(start_ms)
    registry_config = RegistryConfig(**registry)
    config = ServerConfig(registry=registry_config, **(server or {}))
    reg = Registry(registry_config, clock)
    reg.open_for_traffic(0)
    cache = ResponseCache(reg, registry_config, clock)
    return AppHarness(EurekaApp(config, reg, cache, clock), reg, cache, clock)

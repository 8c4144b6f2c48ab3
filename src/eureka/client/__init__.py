"""The Eureka discovery client: `AsyncDiscoveryClient` (asyncio) and `DiscoveryClient` (threads).

Both façades drive one pure core (`state.py`, `cursor.py`, `registration.py`, `scheduler.py`)
over a small transport interface (`transport.py`); see protocol.md §10 for the behaviour they
reproduce and docs/design/propagation.md for the watch.

The names below are imported on first use (PEP 562), so that importing a pure room such as
`eureka.client.cursor` does not load the façades with asyncio, threads and httpx
(`tests/client/test_layering.py` checks it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eureka.client.async_client import AsyncDiscoveryClient
    from eureka.client.config import ClientConfig, EurekaConfig, InstanceConfig, load_config
    from eureka.client.cursor import WatchOutcome, WatchResult, WatchStats
    from eureka.client.errors import ClientStartError, NoInstanceAvailable
    from eureka.client.events import (
        CacheRefreshed,
        Event,
        FetchKind,
        InstanceAdded,
        InstanceChanged,
        InstanceRemoved,
        StatusChange,
    )
    from eureka.client.facade import ClientStats
    from eureka.client.lag import LagStats
    from eureka.client.merge import apply_delta
    from eureka.client.messages import Request, Response, TransportError
    from eureka.client.state import ClientState, FetchResult
    from eureka.client.sync_client import DiscoveryClient
    from eureka.client.transport import AsyncTransport, SyncTransport

_HOMES = {
    "AsyncDiscoveryClient": "async_client",
    "AsyncTransport": "transport",
    "CacheRefreshed": "events",
    "ClientConfig": "config",
    "ClientStartError": "errors",
    "ClientState": "state",
    "ClientStats": "facade",
    "DiscoveryClient": "sync_client",
    "EurekaConfig": "config",
    "Event": "events",
    "FetchKind": "events",
    "FetchResult": "state",
    "InstanceAdded": "events",
    "InstanceChanged": "events",
    "InstanceConfig": "config",
    "InstanceRemoved": "events",
    "LagStats": "lag",
    "NoInstanceAvailable": "errors",
    "Request": "messages",
    "Response": "messages",
    "StatusChange": "events",
    "SyncTransport": "transport",
    "TransportError": "messages",
    "WatchOutcome": "cursor",
    "WatchResult": "cursor",
    "WatchStats": "cursor",
    "apply_delta": "merge",
    "load_config": "config",
}

__all__ = [
    "AsyncDiscoveryClient",
    "AsyncTransport",
    "CacheRefreshed",
    "ClientConfig",
    "ClientStartError",
    "ClientState",
    "ClientStats",
    "DiscoveryClient",
    "EurekaConfig",
    "Event",
    "FetchKind",
    "FetchResult",
    "InstanceAdded",
    "InstanceChanged",
    "InstanceConfig",
    "InstanceRemoved",
    "LagStats",
    "NoInstanceAvailable",
    "Request",
    "Response",
    "StatusChange",
    "SyncTransport",
    "TransportError",
    "WatchOutcome",
    "WatchResult",
    "WatchStats",
    "apply_delta",
    "load_config",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'eureka.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"eureka.client.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

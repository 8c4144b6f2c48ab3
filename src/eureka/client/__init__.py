"""The Eureka discovery client: `AsyncDiscoveryClient` (asyncio) and `DiscoveryClient` (threads).

Both façades drive one pure core (`state.py`, `registration.py`, `scheduler.py`) over a small
transport interface (`transport.py`); see protocol.md §10 for the behaviour they reproduce.
"""

from __future__ import annotations

from eureka.client.async_client import AsyncDiscoveryClient
from eureka.client.config import ClientConfig, EurekaConfig, InstanceConfig, load_config
from eureka.client.errors import ClientStartError, NoInstanceAvailable
from eureka.client.events import CacheRefreshed, Event, FetchKind, StatusChange
from eureka.client.facade import ClientStats
from eureka.client.merge import apply_delta
from eureka.client.messages import Request, Response, TransportError
from eureka.client.state import ClientState, FetchResult
from eureka.client.sync_client import DiscoveryClient
from eureka.client.transport import AsyncTransport, SyncTransport

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
    "InstanceConfig",
    "NoInstanceAvailable",
    "Request",
    "Response",
    "StatusChange",
    "SyncTransport",
    "TransportError",
    "apply_delta",
    "load_config",
]

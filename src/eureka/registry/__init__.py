"""The registry server core: pure (no I/O, no threads, no system clock), driven by an adapter.

`Registry` holds leases, overrides, the change log, eviction and self-preservation (protocol.md
§6); `ResponseCache` turns it into encoded payloads (§7). Both take time from an injected
`eureka.clock.Clock`.
"""

from eureka.registry.cache_key import Accept, ApiVersion, CacheKey, EntityType, Format
from eureka.registry.changelog import ChangeSummary
from eureka.registry.config import RegistryConfig
from eureka.registry.encoders import CodecModuleEncoder, PayloadEncoder, default_encoders
from eureka.registry.lease import Lease
from eureka.registry.registry import (
    ChangesSince,
    CursorLeases,
    Registry,
    RenewOutcome,
    RenewResult,
)
from eureka.registry.response_cache import CacheCounters, CachedPayload, CacheStats, ResponseCache
from eureka.registry.self_preservation import SelfPreservationState
from eureka.registry.summary import AppSummary, InstancePage, InstanceSummary, RegistryStats

__all__ = [
    "Accept",
    "ApiVersion",
    "AppSummary",
    "CacheCounters",
    "CacheKey",
    "CacheStats",
    "CachedPayload",
    "ChangeSummary",
    "ChangesSince",
    "CodecModuleEncoder",
    "CursorLeases",
    "EntityType",
    "Format",
    "InstancePage",
    "InstanceSummary",
    "Lease",
    "PayloadEncoder",
    "Registry",
    "RegistryConfig",
    "RegistryStats",
    "RenewOutcome",
    "RenewResult",
    "ResponseCache",
    "SelfPreservationState",
    "default_encoders",
]

"""Events a discovery client reports to its listeners (protocol.md §10.11)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from eureka.model import InstanceStatus

__all__ = ["CacheRefreshed", "Event", "FetchKind", "StatusChange"]


class FetchKind(enum.Enum):
    FULL = "full"
    DELTA = "delta"
    BACKUP = "backup"


@dataclass(frozen=True, slots=True)
class CacheRefreshed:
    """After every successful fetch, whether or not anything changed."""

    kind: FetchKind
    at_ms: int
    registry_size: int


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The own instance's status as the fetched registry shows it changed (UNKNOWN when absent)."""

    previous: InstanceStatus
    current: InstanceStatus


Event = CacheRefreshed | StatusChange

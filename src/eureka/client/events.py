"""Events a discovery client reports to its listeners (protocol.md §10.11).

`CacheRefreshed` and `StatusChange` are Java's. `InstanceAdded`, `InstanceRemoved` and
`InstanceChanged` are ours: one per instance whose content changed in the local registry, built
from the merge's `Change` records, whichever path applied them (full fetch, legacy delta, watch,
repair). "Changed" means a field the content digest covers changed (`eureka.digest`): status,
addresses, ports, metadata, … — a lease renewal is not a change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from eureka.client.merge import Change
from eureka.model import InstanceInfo, InstanceStatus

__all__ = [
    "CacheRefreshed",
    "Event",
    "FetchKind",
    "InstanceAdded",
    "InstanceChanged",
    "InstanceEvent",
    "InstanceRemoved",
    "StatusChange",
    "instance_event",
]


class FetchKind(enum.Enum):
    FULL = "full"
    DELTA = "delta"
    BACKUP = "backup"
    WATCH = "watch"  # a long-poll round (answered with changes, or 304 when nothing changed)


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


@dataclass(frozen=True, slots=True)
class InstanceAdded:
    """An instance appeared in the local registry (`region` None: the local region)."""

    app: str
    instance: InstanceInfo
    region: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceRemoved:
    """An instance left the local registry; `instance` is its last known state."""

    app: str
    instance: InstanceInfo
    region: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceChanged:
    """An instance's content changed from `old` to `new` (same application and id)."""

    app: str
    old: InstanceInfo
    new: InstanceInfo
    region: str | None = None


InstanceEvent = InstanceAdded | InstanceRemoved | InstanceChanged
Event = CacheRefreshed | StatusChange | InstanceAdded | InstanceRemoved | InstanceChanged


def instance_event(change: Change) -> InstanceEvent | None:
    """The event of one effective change (the caller has dropped changes that changed nothing)."""
    match change:
        case Change(region, app, None, InstanceInfo() as new):
            return InstanceAdded(app, new, region)
        case Change(region, app, InstanceInfo() as old, None):
            return InstanceRemoved(app, old, region)
        case Change(region, app, InstanceInfo() as old, InstanceInfo() as new):
            return InstanceChanged(app, old, new, region)
    return None

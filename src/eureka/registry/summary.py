"""What operators read about the registry: per-application summaries, instance pages, tallies.

Pure values for the dashboard, the metrics and the status page. They are built from the stored
holders without copying an `InstanceInfo` (a dashboard poll on a 100k-instance registry must not
copy 100k structs) and hold no reference to a lease or a holder, so a reader can keep them while
the registry moves on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import msgspec

from eureka.model import InstanceInfo, InstanceStatus

__all__ = [
    "STATUS_ORDER",
    "AppSummary",
    "InstancePage",
    "InstanceSummary",
    "RecentLease",
    "RegistryCounters",
    "RegistryStats",
    "zone_of",
]

# How statuses are listed: UP first, then the ones an operator must look at.
STATUS_ORDER: tuple[InstanceStatus, ...] = (
    InstanceStatus.UP,
    InstanceStatus.DOWN,
    InstanceStatus.OUT_OF_SERVICE,
    InstanceStatus.STARTING,
    InstanceStatus.UNKNOWN,
)
STATUS_RANK = {status: rank for rank, status in enumerate(STATUS_ORDER)}


class AppSummary(msgspec.Struct, frozen=True, gc=False):
    """One application at one revision: how many instances, in which statuses and zones.

    Depends only on what change-log entries record, so the registry keeps it until the
    application's revision moves. Pairs are in `STATUS_ORDER` / by zone name, absent when 0.
    """

    name: str
    revision: int
    instances: int
    status_counts: tuple[tuple[InstanceStatus, int], ...]
    zones: tuple[tuple[str, int], ...]

    @property
    def up(self) -> int:
        return next((n for status, n in self.status_counts if status is InstanceStatus.UP), 0)


class InstanceSummary(msgspec.Struct, frozen=True, gc=False):
    """One instance as an operator sees it: where it is, its status and its lease's times."""

    id: str
    app: str
    status: InstanceStatus
    overridden_status: InstanceStatus
    host_name: str
    ip_addr: str
    port: int | None  # None when the port is disabled
    secure_port: int | None
    vip_address: str | None
    secure_vip_address: str | None
    zone: str | None
    home_page_url: str | None
    status_page_url: str | None
    health_check_url: str | None
    metadata: tuple[tuple[str, str], ...]
    registration_ms: int
    last_renewal_ms: int
    service_up_ms: int
    last_dirty_timestamp: int
    # The lease has expired but is not evicted yet (self-preservation keeps it, or the next
    # eviction run has not come): clients still see this instance with its last status.
    expired: bool


class InstancePage(msgspec.Struct, frozen=True, gc=False):
    """A slice of one application's instances, sorted by (`STATUS_ORDER`, id)."""

    app: str
    revision: int
    total: int  # instances matching the filter, all pages together
    offset: int
    instances: tuple[InstanceSummary, ...]


class RecentLease(msgspec.Struct, frozen=True, gc=False):
    """An entry of the recently registered / cancelled lists (Spring's `/lastn`)."""

    time_ms: int
    app: str
    id: str


@dataclass(slots=True)
class RegistryCounters:
    """Operations since start, owned and updated by `Registry`; read them through `stats()`.

    `replicated_*` count the operations that came from a peer (included in the totals).
    """

    registrations: int = 0
    replicated_registrations: int = 0
    renewals: int = 0
    replicated_renewals: int = 0
    renewals_not_found: int = 0
    cancels: int = 0
    replicated_cancels: int = 0
    cancels_not_found: int = 0
    evictions: int = 0
    status_updates: int = 0
    override_deletions: int = 0


@dataclass(frozen=True, slots=True)
class RegistryStats:
    registrations: int
    replicated_registrations: int
    renewals: int
    replicated_renewals: int
    renewals_not_found: int
    cancels: int
    replicated_cancels: int
    cancels_not_found: int
    evictions: int
    status_updates: int
    override_deletions: int

    @classmethod
    def of(cls, counters: RegistryCounters) -> RegistryStats:
        return cls(*(getattr(counters, f.name) for f in fields(RegistryCounters)))


def zone_of(info: InstanceInfo) -> str | None:
    """Spring's `metadata-map.zone`, else the AWS availability zone of the data-center info."""
    zone = info.metadata.get("zone")
    if zone:
        return zone
    dci = info.data_center_info
    if dci is not None and dci.metadata:
        return dci.metadata.get("availability-zone") or None
    return None

"""A lease: the registry's record of one registration (protocol.md §6.1, Java `Lease`).

Every registration, re-registration included, creates a new lease; the change log keeps
references to leases, which is what gives Eureka deltas their "current state" semantics (§6.9).
"""

from __future__ import annotations

from eureka.model import InstanceInfo, LeaseInfo

__all__ = [
    "DEFAULT_DURATION_SECONDS",
    "DEFAULT_RENEWAL_INTERVAL_SECONDS",
    "Lease",
    "lease_duration_seconds",
]

DEFAULT_DURATION_SECONDS = 90
DEFAULT_RENEWAL_INTERVAL_SECONDS = 30


class Lease:
    """Timestamps are epoch milliseconds from the registry's clock.

    `last_update_ms` is what Eureka reports as `lastRenewalTimestamp`. With the double-count quirk
    it holds "last renewal + duration" exactly like Java; honestly it holds the last renewal.
    Either way a lease is expired once `now > last_update_ms + duration_ms (+ compensation)`.

    `revision` is the registry revision of the last change that altered what this lease's holder
    looks like on the wire; caches of encoded instances key on it. `digest` is the holder's
    content digest (`eureka.digest.instance_digest`) as of that change: kept here, one int per
    lease, so that the registry's digest sums can subtract it when the holder changes again.
    """

    __slots__ = (
        "digest",
        "duration_ms",
        "eviction_ms",
        "holder",
        "last_update_ms",
        "registration_ms",
        "revision",
        "service_up_ms",
    )

    def __init__(self, holder: InstanceInfo, duration_seconds: int, now_ms: int) -> None:
        self.holder = holder
        self.duration_ms = _duration_ms(duration_seconds)
        self.registration_ms = now_ms
        self.last_update_ms = now_ms
        self.eviction_ms = 0
        self.service_up_ms = 0
        self.revision = 0
        self.digest = 0

    def renew(self, now_ms: int, *, double_count: bool) -> None:
        self.last_update_ms = now_ms + self.duration_ms if double_count else now_ms

    def cancel(self, now_ms: int) -> None:
        if self.eviction_ms <= 0:
            self.eviction_ms = now_ms

    def service_up(self, now_ms: int) -> None:
        if self.service_up_ms == 0:
            self.service_up_ms = now_ms

    def is_expired(self, now_ms: int, additional_ms: int = 0) -> bool:
        return (
            self.eviction_ms > 0 or now_ms > self.last_update_ms + self.duration_ms + additional_ms
        )

    def lease_info(self) -> LeaseInfo:
        """The `leaseInfo` a read shows (§6.8): the client's intervals plus this lease's times."""
        sent = self.holder.lease_info
        return LeaseInfo(
            renewal_interval_in_secs=DEFAULT_RENEWAL_INTERVAL_SECONDS
            if sent is None
            else sent.renewal_interval_in_secs,
            duration_in_secs=DEFAULT_DURATION_SECONDS if sent is None else sent.duration_in_secs,
            registration_timestamp=self.registration_ms,
            last_renewal_timestamp=self.last_update_ms,
            eviction_timestamp=self.eviction_ms,
            service_up_timestamp=self.service_up_ms,
        )

    def __repr__(self) -> str:
        return f"Lease({self.holder.app}/{self.holder.id}, revision={self.revision})"


# One int object per distinct duration (a fleet has a handful), not one per lease: 28 bytes each.
_DURATIONS_MS: dict[int, int] = {}


def _duration_ms(seconds: int) -> int:
    shared = _DURATIONS_MS.get(seconds)
    if shared is None:
        shared = seconds * 1000
        if len(_DURATIONS_MS) < 1024:
            _DURATIONS_MS[seconds] = shared
    return shared


def lease_duration_seconds(info: InstanceInfo) -> int:
    """The client's requested duration if positive, else Eureka's 90 s (§6.2)."""
    sent = info.lease_info
    if sent is not None and sent.duration_in_secs > 0:
        return sent.duration_in_secs
    return DEFAULT_DURATION_SECONDS

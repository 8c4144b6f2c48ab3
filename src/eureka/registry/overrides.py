"""The admin status-override map (protocol.md §6.1, §6.6).

Java keeps it in a Guava cache with `expireAfterAccess(1 hour)`: an override that nobody reads for
an hour disappears. Renewals read it (rule chain), so a live instance keeps its override.
"""

from __future__ import annotations

from eureka.model import InstanceStatus

__all__ = ["OverrideMap"]


class OverrideMap:
    """id → status, each entry expiring `ttl_ms` after its last access. Time is passed in."""

    __slots__ = ("_entries", "_ttl_ms")

    def __init__(self, ttl_ms: int) -> None:
        self._ttl_ms = ttl_ms
        self._entries: dict[str, tuple[InstanceStatus, int]] = {}

    def get(self, instance_id: str, now_ms: int) -> InstanceStatus | None:
        entry = self._entries.get(instance_id)
        if entry is None:
            return None
        status, last_access = entry
        if now_ms - last_access > self._ttl_ms:
            del self._entries[instance_id]
            return None
        self._entries[instance_id] = (status, now_ms)
        return status

    def contains(self, instance_id: str, now_ms: int) -> bool:
        """Membership test that does not count as access (Guava's containsKey)."""
        entry = self._entries.get(instance_id)
        return entry is not None and now_ms - entry[1] <= self._ttl_ms

    def put(self, instance_id: str, status: InstanceStatus, now_ms: int) -> None:
        self._entries[instance_id] = (status, now_ms)

    def pop(self, instance_id: str, now_ms: int) -> InstanceStatus | None:
        entry = self._entries.pop(instance_id, None)
        if entry is None or now_ms - entry[1] > self._ttl_ms:
            return None
        return entry[0]

    def snapshot(self, now_ms: int) -> dict[str, InstanceStatus]:
        """Live entries (not counting as access); drops the expired ones on the way."""
        expired = [k for k, (_, seen) in self._entries.items() if now_ms - seen > self._ttl_ms]
        for key in expired:
            del self._entries[key]
        return {k: status for k, (status, _) in self._entries.items()}

    def __len__(self) -> int:
        return len(self._entries)

"""The registry's change log: one entry per mutation, numbered by a gapless revision.

Architecture invariant 1: one log, two views. Entries reference the *lease* that changed, as
Java's `recentlyChangedQueue` does, so the Eureka delta view (everything still in the log) shows
each lease's current state (§6.9); the cursor view is "every entry after revision R". Revisions
grow by exactly one per entry, so "after R" is a suffix of the log and R is answerable iff no
entry after R has been pruned yet.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from eureka.registry.lease import Lease

__all__ = ["ChangeEntry", "ChangeLog", "ChangeSummary", "group_latest", "split_vips"]


class ChangeEntry:
    """`old_vip` / `old_svip` remember a superseded holder's VIP strings when a re-registration
    changed them, so that caches can invalidate the VIP payloads the old holder was part of."""

    __slots__ = ("app", "instance_id", "lease", "old_svip", "old_vip", "revision", "time_ms")

    def __init__(
        self,
        revision: int,
        time_ms: int,
        app: str,
        instance_id: str,
        lease: Lease,
        *,
        old_vip: str | None = None,
        old_svip: str | None = None,
    ) -> None:
        self.revision = revision
        self.time_ms = time_ms
        self.app = app
        self.instance_id = instance_id
        self.lease = lease
        self.old_vip = old_vip
        self.old_svip = old_svip

    def __repr__(self) -> str:
        return f"ChangeEntry(r{self.revision}, {self.app}/{self.instance_id})"


def split_vips(vip_address: str | None) -> tuple[str, ...]:
    """The VIP names an instance answers to: its VIP string split on ',' (exact, untrimmed)."""
    if not vip_address:
        return ()
    return tuple(vip_address.split(","))


@dataclass(slots=True)
class ChangeSummary:
    """What a run of changes touched: application names and VIP / secure-VIP names."""

    apps: set[str] = field(default_factory=set)
    vips: set[str] = field(default_factory=set)
    svips: set[str] = field(default_factory=set)

    def add(self, entry: ChangeEntry) -> None:
        self.apps.add(entry.app)
        holder = entry.lease.holder
        self.vips.update(split_vips(holder.vip_address))
        self.svips.update(split_vips(holder.secure_vip_address))
        if entry.old_vip is not None:
            self.vips.update(split_vips(entry.old_vip))
        if entry.old_svip is not None:
            self.svips.update(split_vips(entry.old_svip))


class ChangeLog:
    __slots__ = ("_entries", "_floor", "_revision")

    def __init__(self) -> None:
        self._entries: deque[ChangeEntry] = deque()
        self._revision = 0
        # Every revision ≤ floor has been pruned (or never existed).
        self._floor = 0

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def floor(self) -> int:
        """The oldest revision R for which `since(R)` still answers."""
        return self._floor

    def append(
        self,
        time_ms: int,
        app: str,
        instance_id: str,
        lease: Lease,
        *,
        old_vip: str | None = None,
        old_svip: str | None = None,
    ) -> int:
        self._revision += 1
        self._entries.append(
            ChangeEntry(
                self._revision, time_ms, app, instance_id, lease, old_vip=old_vip, old_svip=old_svip
            )
        )
        return self._revision

    def prune(self, cutoff_ms: int) -> int:
        """Drop entries from the head while they were added before `cutoff_ms` (Java's test)."""
        entries = self._entries
        removed = 0
        while entries and entries[0].time_ms < cutoff_ms:
            self._floor = entries.popleft().revision
            removed += 1
        return removed

    def since(self, revision: int) -> list[ChangeEntry] | None:
        """Entries after `revision`, oldest first; None if some of them are gone or R is unknown."""
        if revision < self._floor or revision > self._revision:
            return None
        count = self._revision - revision
        if count == 0:
            return []
        # Revisions are gapless, so the answer is the last `count` entries: walk from the tail.
        result: list[ChangeEntry] = []
        for entry in reversed(self._entries):
            if entry.revision <= revision:
                break
            result.append(entry)
        result.reverse()
        return result

    def summarize_since(self, revision: int) -> ChangeSummary | None:
        entries = self.since(revision)
        if entries is None:
            return None
        summary = ChangeSummary()
        for entry in entries:
            summary.add(entry)
        return summary

    def __iter__(self) -> Iterator[ChangeEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def group_latest(entries: Iterable[ChangeEntry]) -> dict[str, dict[str, Lease]]:
    """Group entries by application, one lease per id: the last entry's, moved to the end.

    This is Java's `Application.addInstance` applied to the queue in order (§6.9): applications in
    order of first appearance, an id appears once per application, the latest reference wins.
    """
    apps: dict[str, dict[str, Lease]] = {}
    for entry in entries:
        by_id = apps.get(entry.app)
        if by_id is None:
            by_id = apps[entry.app] = {}
        else:
            by_id.pop(entry.instance_id, None)
        by_id[entry.instance_id] = entry.lease
    return apps

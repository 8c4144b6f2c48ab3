"""The registry's change log: one entry per mutation, numbered by a gapless revision.

Architecture invariant 1: one log, two views. Entries reference the *lease* that changed, as
Java's `recentlyChangedQueue` does, so both views show each lease's current state (§6.9):

* the **cursor view** is "every entry after revision R" (docs/design/propagation.md). Revisions
  grow by exactly one per entry, so "after R" is a suffix of the log, and R is answerable iff no
  entry after R has been pruned yet;
* the **delta window** is the suffix Java's legacy delta shows: the entries added within the
  last `window_ms` (`retention-time-in-m-s-in-delta-queue`, 3 minutes), as of the last prune.

Two retentions, one list. The cursor log keeps entries for `retention_ms` (15 minutes by
default) and at most `max_entries` of them *beyond* the window; the window is a floor inside
it that no retention cuts into, so the legacy delta shows exactly what Java's would. Both move
only when `prune` runs (the retention timer), as Java's queue does. Entries that leave the
window are shown to the registry (`on_exit`), which slims those of gone leases: beyond the
window, a cancelled or superseded instance must not keep its whole registration alive.
Entries sit in a plain list with revision `floor + 1 + index`, so a cursor suffix is one slice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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
    __slots__ = (
        "_entries",
        "_floor",
        "_max_entries",
        "_retention_ms",
        "_revision",
        "_window_floor",
        "_window_ms",
    )

    def __init__(
        self,
        *,
        window_ms: int = 180_000,
        retention_ms: int = 900_000,
        max_entries: int = 100_000,
    ) -> None:
        self._window_ms = window_ms
        # The cursor log always holds at least the window.
        self._retention_ms = max(retention_ms, window_ms)
        self._max_entries = max(0, max_entries)
        self._entries: list[ChangeEntry] = []
        self._revision = 0
        # Every revision ≤ floor has been pruned (or never existed); entries[i] is floor + 1 + i.
        self._floor = 0
        # Every revision ≤ window_floor is outside the delta window.
        self._window_floor = 0

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def floor(self) -> int:
        """The oldest revision R for which `since(R)` still answers."""
        return self._floor

    @property
    def window_floor(self) -> int:
        """The revision the delta window starts after; it moves only when `prune` drops entries
        from the window (caches of the delta payload watch it)."""
        return self._window_floor

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

    def prune(self, now_ms: int, on_exit: Callable[[ChangeEntry], None] | None = None) -> int:
        """The retention timer: move the window past entries added before `now − window_ms`
        (Java's test), then drop what the cursor log no longer keeps. Returns how many entries
        left the window; `on_exit` sees each of them that the cursor log still keeps."""
        entries = self._entries
        count = len(entries)
        window_cutoff = now_ms - self._window_ms
        start = self._window_floor - self._floor
        window = start
        while window < count and entries[window].time_ms < window_cutoff:
            window += 1
        self._window_floor = self._floor + window
        # Entries before `window` are the cursor log's own; keep them by time and by count.
        retention_cutoff = now_ms - self._retention_ms
        drop = 0
        while drop < window and entries[drop].time_ms < retention_cutoff:
            drop += 1
        drop = max(drop, min(window, count - self._max_entries))
        if on_exit is not None:
            for index in range(max(start, drop), window):
                on_exit(entries[index])
        if drop:
            del entries[:drop]
            self._floor += drop
        return window - start

    def since(self, revision: int) -> list[ChangeEntry] | None:
        """Entries after `revision`, oldest first; None if some of them are gone or R is unknown."""
        if revision < self._floor or revision > self._revision:
            return None
        return self._entries[revision - self._floor :]

    def time_of(self, revision: int) -> int | None:
        """When change `revision` was appended; None once pruned (or for 0 / the future)."""
        index = revision - self._floor - 1
        if index < 0 or revision > self._revision:
            return None
        return self._entries[index].time_ms

    def window(self) -> list[ChangeEntry]:
        """The delta window's entries, oldest first."""
        return self._entries[self._window_floor - self._floor :]

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

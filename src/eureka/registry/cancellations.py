"""Recent client cancellations: what anti-entropy needs to tell a lost cancel from a lost register.

When a peer holds an instance this node lacks, anti-entropy must know whether the instance was
cancelled here (and the cancel never reached the peer) or never arrived here. Only a *cancel* —
a client's `DELETE`, received directly or replicated — says "this instance is gone"; an eviction
says only "no renewal reached me", which a peer that still hears the client may rightly
contradict, so evictions are not recorded here (`replication/anti_entropy.py` has the rule).

Pure. Bounded twice: entries older than `retention_ms` are forgotten, and at most `max_entries`
are kept (the oldest goes first), so a burst of cancels cannot make the node keep more than
that. A registration of the same instance forgets its entry.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection

__all__ = ["Cancellations"]


class Cancellations:
    __slots__ = ("_by_app", "_max_entries", "_order", "_retention_ms")

    def __init__(self, *, retention_ms: int, max_entries: int) -> None:
        self._retention_ms = retention_ms
        self._max_entries = max_entries
        # app → id → when it was cancelled (epoch ms).
        self._by_app: dict[str, dict[str, int]] = {}
        # (time, app, id) in cancellation order; an entry whose time no longer matches `_by_app`
        # was superseded (cancelled again, or registered since) and is skipped when it comes up.
        self._order: deque[tuple[int, str, str]] = deque()

    def record(self, app: str, instance_id: str, now_ms: int, cancelled_ms: int) -> None:
        """`app` (upper-case) / `instance_id` was cancelled at `cancelled_ms`."""
        if self._max_entries <= 0:
            return
        self._by_app.setdefault(app, {})[instance_id] = cancelled_ms
        self._order.append((cancelled_ms, app, instance_id))
        self._prune(now_ms)

    def forget(self, app: str, instance_id: str) -> None:
        """The instance registered again: it is no longer cancelled."""
        by_id = self._by_app.get(app)
        if by_id is not None and by_id.pop(instance_id, None) is not None and not by_id:
            del self._by_app[app]

    def of_apps(self, apps: Collection[str], now_ms: int) -> dict[str, dict[str, int]]:
        """app → id → cancellation time, for those of `apps` (upper-case) with any."""
        self._prune(now_ms)
        found: dict[str, dict[str, int]] = {}
        for app in apps:
            by_id = self._by_app.get(app)
            if by_id:
                found[app] = dict(by_id)
        return found

    def __len__(self) -> int:
        return sum(len(by_id) for by_id in self._by_app.values())

    def _prune(self, now_ms: int) -> None:
        order = self._order
        cutoff = now_ms - self._retention_ms
        while order and (order[0][0] < cutoff or len(order) > self._max_entries):
            cancelled_ms, app, instance_id = order.popleft()
            by_id = self._by_app.get(app)
            if by_id is not None and by_id.get(instance_id) == cancelled_ms:
                del by_id[instance_id]
                if not by_id:
                    del self._by_app[app]

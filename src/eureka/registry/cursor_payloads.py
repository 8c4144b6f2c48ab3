"""Payloads the response cache does not hold: cursor deltas and `apps=` subsets.

docs/design/propagation.md. `GET /apps/delta?since=R` answers every instance changed after R,
`apps=A,B` narrows full and delta payloads to some applications; both are ordinary Eureka
payloads (the same encoders and fragments as the response cache), so a Java decoder reads them.
`versions__delta` of these deltas is the registry revision they lead to, and `apps__hashcode`
is the reconcile hash of the state they lead to (of the subset, with `apps`).

Pure, and kept apart from the response cache on purpose: the cache owns "bytes for a legacy
key"; these keys carry a revision and a subset, which would multiply its keys without bound.
Instead, results are memoised for the current registry revision only: the thousands of watchers
one change wakes ask for the same few (since, subset, shape) keys and share one encoding and one
gzip. The memo is dropped on the next change, when the delta window moves, when it grows past
`max_memo` keys, and after the auto-expiration time (renewals move lease timestamps without a
revision, as in the cache).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from eureka.registry.cache_key import Format
from eureka.registry.encoders import DEPTH_IN_APPLICATIONS, PayloadEncoder, default_encoders
from eureka.registry.gzip_chunks import gzip_whole
from eureka.registry.lease import Lease
from eureka.registry.registry import Registry
from eureka.registry.response_cache import CachedPayload

__all__ = ["CursorDelta", "CursorPayloads", "PayloadShape"]

# Version written in full payloads (§5.3), subsets included.
_FULL_VERSION = 1

Subset = frozenset[str] | None


class PayloadShape(NamedTuple):
    """How a request wants its payload encoded (the negotiation of protocol.md §2.1)."""

    fmt: Format = Format.JSON
    compact: bool = False
    v1: bool = False


class CursorDelta(NamedTuple):
    """A cursor delta: its payload, the revision it leads to, and whether it lists anything."""

    payload: CachedPayload
    revision: int
    changed: bool
    # When the oldest change it lists happened (epoch ms); None when it lists nothing.
    first_change_ms: int | None


_MemoKey = tuple[str, int, Subset, PayloadShape]


class CursorPayloads:
    def __init__(
        self,
        registry: Registry,
        *,
        encoders: Mapping[Format, PayloadEncoder] | None = None,
        gzip_level: int = 1,
        expiry_ms: int = 180_000,
        max_memo: int = 256,
    ) -> None:
        self._registry = registry
        self._encoders = dict(encoders) if encoders is not None else default_encoders()
        self._gzip_level = gzip_level
        self._expiry_ms = expiry_ms
        self._max_memo = max_memo
        self._memo: dict[_MemoKey, CursorDelta | CachedPayload] = {}
        self._memo_state = (-1, -1)
        self._memo_since_ms = 0
        self.builds = 0

    def cursor(
        self, since: int, apps: Subset, shape: PayloadShape, now_ms: int
    ) -> CursorDelta | None:
        """Every instance changed after `since` (of `apps`); None if the log cannot answer."""
        key: _MemoKey = ("cursor", since, apps, shape)
        memo = self._memo_for(now_ms)
        found = memo.get(key)
        if isinstance(found, CursorDelta):
            return found
        registry = self._registry
        cursor = registry.cursor_leases(since, apps)
        if cursor is None:
            return None
        payload = self._encode(cursor.revision, cursor.apps_hashcode, cursor.groups, shape)
        result = CursorDelta(payload, cursor.revision, bool(cursor.groups), cursor.first_change_ms)
        memo[key] = result
        return result

    def window(self, apps: frozenset[str], shape: PayloadShape, now_ms: int) -> CachedPayload:
        """The legacy delta window, narrowed to `apps`."""
        return self._payload("window", apps, shape, now_ms)

    def full(self, apps: frozenset[str], shape: PayloadShape, now_ms: int) -> CachedPayload:
        """The full view, narrowed to `apps`."""
        return self._payload("full", apps, shape, now_ms)

    def _payload(
        self, kind: str, apps: frozenset[str], shape: PayloadShape, now_ms: int
    ) -> CachedPayload:
        key: _MemoKey = (kind, 0, apps, shape)
        memo = self._memo_for(now_ms)
        found = memo.get(key)
        if isinstance(found, CachedPayload):
            return found
        registry = self._registry
        if kind == "full":
            groups = registry.subset_leases(apps)
            version = _FULL_VERSION
        else:
            groups = registry.window_leases(apps)
            version = registry.revision
        payload = self._encode(version, registry.subset_hashcode(apps), groups, shape)
        memo[key] = payload
        return payload

    def _memo_for(self, now_ms: int) -> dict[_MemoKey, CursorDelta | CachedPayload]:
        registry = self._registry
        state = (registry.revision, registry.delta_window_floor)
        if (
            state != self._memo_state
            or now_ms - self._memo_since_ms >= self._expiry_ms
            or len(self._memo) >= self._max_memo
        ):
            self._memo = {}
            self._memo_state = state
            self._memo_since_ms = now_ms
        return self._memo

    def _encode(
        self,
        version: int,
        apps_hashcode: str,
        groups: Mapping[str, Mapping[str, Lease]],
        shape: PayloadShape,
    ) -> CachedPayload:
        self.builds += 1
        encoder = self._encoders[shape.fmt]
        registry = self._registry
        parts: list[tuple[str, Sequence[bytes]]] = []
        for app, by_id in groups.items():
            parts.append(
                (
                    app,
                    [
                        encoder.instance(
                            registry.decorate(lease),
                            compact=shape.compact,
                            v1=shape.v1,
                            depth=DEPTH_IN_APPLICATIONS,
                        )
                        for lease in by_id.values()
                    ],
                )
            )
        body = encoder.applications(
            version, apps_hashcode, parts, compact=shape.compact, v1=shape.v1
        )
        level = self._gzip_level
        return CachedPayload(body, encoder.content_type, lambda: gzip_whole(body, level))

"""Local registry views kept up to date incrementally (protocol.md §10.5).

Java rebuilds every shuffled list and both VIP indexes after each fetch, so applying a 20-instance
delta to a 100k-instance registry costs a pass over all 100k. Here every derived structure is
updated per changed instance, so a delta costs in proportion to its own size:

* `ShuffledSet` — a list kept in uniformly random order under insertion and removal (inside-out
  Fisher–Yates insertion, swap-with-last removal), plus a round-robin cursor;
* `RegistryView` — one region's unfiltered registry, per-application shuffled lists (UP-only by
  default), VIP and secure-VIP indexes, status counts for the reconcile hash and, once asked for
  (a watching client verifies the server's `X-Eureka-Digest`), the content digest per application
  (`eureka.digest`), each kept per changed instance like the status counts.

Every elementary index operation adds to a shared `WorkMeter`, so tests can assert that the work
done by a merge does not depend on the registry size without measuring time.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from eureka.client.merge import Change
from eureka.digest import DigestSums, instance_digest
from eureka.model import Application, Applications, InstanceInfo, InstanceStatus

__all__ = ["RegistryView", "ShuffledSet", "WorkMeter", "split_vips"]


class WorkMeter:
    """Counts elementary index operations (one per instance added, removed or replaced)."""

    __slots__ = ("units",)

    def __init__(self) -> None:
        self.units = 0


def split_vips(vips: str | None) -> list[str]:
    """Java's VIP index keys: upper-cased, split on ',' without trimming (§10.5)."""
    if not vips:
        return []
    return vips.upper().split(",")


class ShuffledSet:
    """Instances in random order, keyed by id, with O(1) add / remove / replace and round robin."""

    __slots__ = ("_cursor", "_items", "_meter", "_pos", "_rng")

    def __init__(self, rng: random.Random, meter: WorkMeter) -> None:
        self._items: list[InstanceInfo] = []
        self._pos: dict[str, int] = {}
        self._rng = rng
        self._meter = meter
        self._cursor = 0

    @classmethod
    def build(
        cls, instances: Iterable[InstanceInfo], rng: random.Random, meter: WorkMeter
    ) -> ShuffledSet:
        result = cls(rng, meter)
        items = result._items
        items.extend(instances)
        rng.shuffle(items)
        result._pos = {inst.id: i for i, inst in enumerate(items)}
        meter.units += len(items)
        return result

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[InstanceInfo]:
        return iter(self._items)

    def __contains__(self, instance_id: object) -> bool:
        return instance_id in self._pos

    def snapshot(self) -> list[InstanceInfo]:
        return list(self._items)

    def put(self, key: str, instance: InstanceInfo) -> None:
        """Insert at a uniformly random position, or replace in place if `key` is present."""
        self._meter.units += 1
        items, pos = self._items, self._pos
        at = pos.get(key)
        if at is not None:
            items[at] = instance
            return
        n = len(items)
        j = int(self._rng.random() * (n + 1))  # uniform in [0, n]; random() is the cheap call
        if j == n:
            items.append(instance)
        else:
            displaced = items[j]
            items.append(displaced)
            pos[displaced.id] = n
            items[j] = instance
        pos[key] = j

    def discard(self, key: str) -> None:
        at = self._pos.pop(key, None)
        if at is None:
            return
        self._meter.units += 1
        items = self._items
        last = items.pop()
        if at < len(items):
            items[at] = last
            self._pos[last.id] = at

    def next(self) -> InstanceInfo | None:
        """Round robin over the current order; the cursor survives incremental updates."""
        items = self._items
        if not items:
            return None
        self._cursor = (self._cursor + 1) % len(items)
        return items[self._cursor]


class RegistryView:
    """One region's registry with its derived indexes (§10.5), updated per changed instance."""

    __slots__ = (
        "_digests",
        "_filter_up",
        "_instance_digests",
        "_meter",
        "_rng",
        "_secure_vips",
        "_shuffled",
        "_status_counts",
        "_vips",
        "registry",
    )

    def __init__(
        self,
        registry: Applications,
        *,
        filter_only_up: bool,
        rng: random.Random,
        meter: WorkMeter,
        track_digests: bool = False,
    ) -> None:
        self.registry = registry
        self._filter_up = filter_only_up
        self._rng = rng
        self._meter = meter
        self._shuffled: dict[str, ShuffledSet] = {}
        self._vips: dict[str, ShuffledSet] = {}
        self._secure_vips: dict[str, ShuffledSet] = {}
        self._status_counts: dict[InstanceStatus, int] = {}
        # Content digests, only once someone needs them (a legacy client never pays for them):
        # per application the sum (`DigestSums`) and each instance's own digest, which a later
        # change subtracts without re-encoding the instance it replaces.
        self._digests: DigestSums | None = None
        self._instance_digests: dict[str, dict[str, int]] = {}
        self._rebuild()
        if track_digests:
            self._build_digests()

    # ---- queries ------------------------------------------------------------------------------

    @property
    def status_counts(self) -> dict[InstanceStatus, int]:
        return self._status_counts

    def instance_count(self) -> int:
        return sum(self._status_counts.values())

    def get_application(self, name: str) -> Application | None:
        return self.registry.applications_by_name.get(name.upper())

    def shuffled_instances(self, app_name: str) -> list[InstanceInfo]:
        shuffled = self._shuffled.get(app_name.upper())
        return [] if shuffled is None else shuffled.snapshot()

    def instances_by_vip(self, vip: str, *, secure: bool = False) -> list[InstanceInfo]:
        index = self._secure_vips if secure else self._vips
        found = index.get(vip.upper())
        return [] if found is None else found.snapshot()

    def next_by_vip(self, vip: str, *, secure: bool = False) -> InstanceInfo | None:
        index = self._secure_vips if secure else self._vips
        found = index.get(vip.upper())
        return None if found is None else found.next()

    def next_by_app(self, app_name: str) -> InstanceInfo | None:
        found = self._shuffled.get(app_name.upper())
        return None if found is None else found.next()

    def indexed_apps(self) -> list[str]:
        """Applications holding a shuffled list (equals the registry's applications)."""
        return list(self._shuffled)

    def vip_names(self, *, secure: bool = False) -> list[str]:
        return list(self._secure_vips if secure else self._vips)

    # ---- content digest -----------------------------------------------------------------------

    @property
    def tracks_digests(self) -> bool:
        return self._digests is not None

    def digests(self) -> DigestSums:
        """Per-application content digests; the first call digests the registry (O(registry)),
        every later change updates them per instance. Treat the result as read-only."""
        if self._digests is None:
            self._build_digests()
        assert self._digests is not None
        return self._digests

    def digest_of(self, app_name: str, instance_id: str) -> int | None:
        """The held digest of one instance (None when absent or when digests are not tracked)."""
        found = self._instance_digests.get(app_name)
        return None if found is None else found.get(instance_id)

    def _build_digests(self) -> None:
        sums = DigestSums()
        per_app: dict[str, dict[str, int]] = {}
        for name, application in self.registry.applications_by_name.items():
            if not application.instances_by_id:
                continue
            held = per_app[name] = {}
            for key, instance in application.instances_by_id.items():
                digest = held[key] = instance_digest(instance)
                sums.add(name, digest)
        self._digests = sums
        self._instance_digests = per_app

    # ---- updates ------------------------------------------------------------------------------

    def apply_changes(self, changes: Iterable[Change], *, report: bool = False) -> list[Change]:
        """Bring the indexes in line with changes `merge_delta` already made to `registry`.

        Returns the *effective* changes — those whose content digest differs (a replacement by
        an equal instance, such as a delta entry seen twice, changes nothing a client acts on) —
        when digests are tracked or `report` asks for them; otherwise an empty list.
        """
        tracking = self._digests is not None
        effective: list[Change] = []
        for change in changes:
            if (tracking or report) and self._changes_content(change):
                effective.append(change)
            self._unindex(change.app_name, change.old, change.new)
            self._index(change.app_name, change.new)
        return effective

    def _changes_content(self, change: Change) -> bool:
        """Whether `change` alters the content digest; keeps the tracked digests current."""
        app, old, new = change.app_name, change.old, change.new
        sums = self._digests
        before: int | None = None
        if old is not None:
            held = self._instance_digests.get(app)
            before = held.pop(old.id, None) if held is not None and sums is not None else None
            if before is None:
                before = instance_digest(old)
            if held is not None and not held:
                del self._instance_digests[app]
        after = instance_digest(new) if new is not None else None
        if sums is not None:
            sums.replace(app, before, after)
            if new is not None and after is not None:
                self._instance_digests.setdefault(app, {})[new.id] = after
        return before != after

    def _rebuild(self) -> None:
        """Index the whole registry from scratch (after a full fetch); O(registry)."""
        keep = self._keep
        counts: dict[InstanceStatus, int] = {}
        by_vip: dict[str, list[InstanceInfo]] = {}
        by_svip: dict[str, list[InstanceInfo]] = {}
        for name, application in self.registry.applications_by_name.items():
            kept = []
            for instance in application.instances_by_id.values():
                status = instance.status
                counts[status] = counts.get(status, 0) + 1
                if keep(instance):
                    kept.append(instance)
                    for vip in split_vips(instance.vip_address):
                        by_vip.setdefault(vip, []).append(instance)
                    for vip in split_vips(instance.secure_vip_address):
                        by_svip.setdefault(vip, []).append(instance)
            self._shuffled[name] = ShuffledSet.build(kept, self._rng, self._meter)
        self._vips = {v: ShuffledSet.build(i, self._rng, self._meter) for v, i in by_vip.items()}
        self._secure_vips = {
            v: ShuffledSet.build(i, self._rng, self._meter) for v, i in by_svip.items()
        }
        self._status_counts = counts

    def _keep(self, instance: InstanceInfo) -> bool:
        return not self._filter_up or instance.status is InstanceStatus.UP

    def _unindex(self, app_name: str, old: InstanceInfo | None, new: InstanceInfo | None) -> None:
        if old is None:
            return
        self._meter.units += 1
        counts = self._status_counts
        remaining = counts[old.status] - 1
        if remaining:
            counts[old.status] = remaining
        else:
            del counts[old.status]
        key = old.id
        if self._keep(old):
            if new is not None and self._keep(new):
                # Still listed afterwards: `_index` replaces it in place (keeping its random
                # position) in every list it stays in; only the VIPs it leaves are dropped here.
                new_vips = set(split_vips(new.vip_address))
                new_svips = set(split_vips(new.secure_vip_address))
            else:
                new_vips = new_svips = set()
                shuffled = self._shuffled.get(app_name)
                if shuffled is not None:
                    shuffled.discard(key)
            for vip in split_vips(old.vip_address):
                if vip not in new_vips:
                    self._drop_from_vip(self._vips, vip, key)
            for vip in split_vips(old.secure_vip_address):
                if vip not in new_svips:
                    self._drop_from_vip(self._secure_vips, vip, key)
        if new is None and app_name not in self.registry.applications_by_name:
            # The merge removed the emptied application; an application with instances but no
            # UP one keeps its (empty) list, as in Java.
            self._shuffled.pop(app_name, None)

    def _index(self, app_name: str, new: InstanceInfo | None) -> None:
        if new is None:
            return
        self._meter.units += 1
        counts = self._status_counts
        counts[new.status] = counts.get(new.status, 0) + 1
        shuffled = self._shuffled.get(app_name)
        if shuffled is None:
            shuffled = self._shuffled[app_name] = ShuffledSet(self._rng, self._meter)
        if not self._keep(new):
            return
        key = new.id
        shuffled.put(key, new)
        for vip in split_vips(new.vip_address):
            self._put_into_vip(self._vips, vip, key, new)
        for vip in split_vips(new.secure_vip_address):
            self._put_into_vip(self._secure_vips, vip, key, new)

    def _put_into_vip(
        self, index: dict[str, ShuffledSet], vip: str, key: str, instance: InstanceInfo
    ) -> None:
        found = index.get(vip)
        if found is None:
            found = index[vip] = ShuffledSet(self._rng, self._meter)
        found.put(key, instance)

    @staticmethod
    def _drop_from_vip(index: dict[str, ShuffledSet], vip: str, key: str) -> None:
        found = index.get(vip)
        if found is None:
            return
        found.discard(key)
        if not found:
            del index[vip]  # as absent from a rebuilt index

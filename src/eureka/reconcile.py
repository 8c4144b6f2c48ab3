"""The status-count reconcile hash of protocol.md §5.1.

`STATUS_count_` for every status with a non-zero count, statuses sorted by name; empty → "".
It counts every instance whatever its status, once per (application, id).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from eureka.model import Applications, InstanceInfo, InstanceStatus

__all__ = ["hash_from_counts", "reconcile_hash", "reconcile_hash_of"]


def hash_from_counts(counts: Mapping[InstanceStatus, int] | Mapping[str, int]) -> str:
    """Format a status → count map (callers keeping counts incrementally skip the scan)."""
    # InstanceStatus is a StrEnum, so both key types sort and format as the status name.
    items: list[tuple[str, int]] = [(str(name), count) for name, count in counts.items()]
    return "".join(f"{name}_{count}_" for name, count in sorted(items) if count > 0)


def reconcile_hash(instances: Iterable[InstanceInfo]) -> str:
    return hash_from_counts(Counter(instance.status.value for instance in instances))


def reconcile_hash_of(*registries: Applications) -> str:
    """Hash over several registries together (a client's local plus remote-region views)."""
    counts: Counter[str] = Counter()
    for registry in registries:
        counts.update(instance.status.value for instance in registry.iter_instances())
    return hash_from_counts(counts)

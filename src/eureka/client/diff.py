"""What a local registry and the server's disagree on — the client's "log delta diff" (§10.3).

Java logs a map of per-status differences when it reconciles (`printDeltaFullDiff`); we return the
instances themselves so that the cause of a hash mismatch can be read off the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eureka.model import Applications, InstanceStatus

__all__ = ["RegistryDiff", "StatusDifference", "diff_registries"]

InstanceKey = tuple[str, str]  # (application name, instance id)


@dataclass(frozen=True, slots=True)
class StatusDifference:
    app: str
    instance_id: str
    local: InstanceStatus
    server: InstanceStatus


@dataclass(frozen=True, slots=True)
class RegistryDiff:
    missing: tuple[InstanceKey, ...]  # on the server, not held locally
    extra: tuple[InstanceKey, ...]  # held locally, not on the server
    status_differs: tuple[StatusDifference, ...]

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.status_differs)

    def summary(self, limit: int = 10) -> str:
        def show(items: Iterable[object]) -> str:
            items = list(items)
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(str(i) for i in items[:limit]) + more

        differs = (f"{d.app}/{d.instance_id} {d.local}->{d.server}" for d in self.status_differs)
        return (
            f"missing {len(self.missing)} [{show(self.missing)}]; "
            f"extra {len(self.extra)} [{show(self.extra)}]; "
            f"status differs {len(self.status_differs)} [{show(differs)}]"
        )


def diff_registries(local: Iterable[Applications], server: Applications) -> RegistryDiff:
    """Compare the union of the `local` registries (local + remote regions) with `server`."""
    mine: dict[InstanceKey, InstanceStatus] = {}
    for registry in local:
        for name, app in registry.applications_by_name.items():
            for key, instance in app.instances_by_id.items():
                mine[(name, key)] = instance.status
    missing: list[InstanceKey] = []
    differs: list[StatusDifference] = []
    for name, app in server.applications_by_name.items():
        for key, instance in app.instances_by_id.items():
            local_status = mine.pop((name, key), None)
            if local_status is None:
                missing.append((name, key))
            elif local_status is not instance.status:
                differs.append(StatusDifference(name, key, local_status, instance.status))
    return RegistryDiff(tuple(missing), tuple(mine), tuple(differs))

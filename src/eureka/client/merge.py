"""Merging a registry delta into a local registry (protocol.md §10.3), pure.

The Java client's `updateDelta` with one deliberate fix (§12 item 18): when the target has no
application of the delta entry's name, a *fresh* `Application` is created and only the current
instance inserted. Java adopts the delta's own `Application` object instead, which imports every
other instance it holds — including `DELETED` ones that appeared earlier in the same list.

`merge_delta` reports every change it makes so that callers can keep derived views (shuffled
lists, VIP indexes, status counts) up to date at a cost proportional to the delta;
`apply_delta` is the plain merge for callers that need no report.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import NamedTuple

from eureka.model import ActionType, Application, Applications, InstanceInfo

__all__ = ["Change", "RegionOf", "apply_delta", "merge_delta"]

RegionOf = Callable[[InstanceInfo], "str | None"]
"""Maps an instance to the remote region whose registry holds it, or None for the local one."""


class Change(NamedTuple):
    """One instance-level effect of a delta: `old` → `new` in `region` (None = local).

    ADDED/MODIFIED give `new` (and `old` if an instance with that id was replaced); DELETED gives
    `old` only, and is reported only when the instance was actually present.
    """

    region: str | None
    app_name: str
    old: InstanceInfo | None
    new: InstanceInfo | None


def merge_delta(
    target: Applications,
    delta: Applications,
    *,
    region_of: RegionOf | None = None,
    remote: MutableMapping[str, Applications] | None = None,
) -> list[Change]:
    """Apply `delta` to `target` (and to the `remote` region registries) and list the changes.

    Entries are applied in payload order. With `region_of`, an instance mapped to a region name is
    applied to `remote[region]` (created on demand) instead of `target`; without `remote` such
    routing is impossible, so every instance goes to `target`. The delta's version is set on
    `target` and on every remote registry afterwards, as Java does. The delta is not modified
    and none of its `Application` objects ends up in a target.
    """
    changes: list[Change] = []
    route = region_of if remote is not None else None
    for delta_app in delta.applications_by_name.values():
        for instance in delta_app.instances_by_id.values():
            action = instance.action_type
            if action is None:
                continue  # unknown or missing action types are ignored (§10.3 step 4)
            region = route(instance) if route is not None else None
            registry = target if region is None else _remote_registry(remote, region)
            app_name = (instance.app or delta_app.name).upper()
            if action is ActionType.DELETED:
                application = registry.applications_by_name.get(app_name)
                if application is None:
                    continue
                old = application.instances_by_id.pop(instance.id, None)
                if old is None:
                    continue
                if not application.instances_by_id:
                    del registry.applications_by_name[app_name]
                changes.append(Change(region, app_name, old, None))
            else:  # ADDED and MODIFIED are handled identically
                application = registry.applications_by_name.get(app_name)
                if application is None:
                    application = registry.applications_by_name[app_name] = Application(app_name)
                key = instance.id
                old = application.instances_by_id.pop(key, None)
                application.instances_by_id[key] = instance
                changes.append(Change(region, app_name, old, instance))
    target.version = delta.version
    if remote is not None:
        for registry in remote.values():
            registry.version = delta.version
    return changes


def apply_delta(
    target: Applications,
    delta: Applications,
    *,
    region_of: RegionOf | None = None,
    remote: MutableMapping[str, Applications] | None = None,
) -> None:
    """`merge_delta` without the change report."""
    merge_delta(target, delta, region_of=region_of, remote=remote)


def _remote_registry(remote: MutableMapping[str, Applications] | None, region: str) -> Applications:
    assert remote is not None
    registry = remote.get(region)
    if registry is None:
        registry = remote[region] = Applications()
    return registry

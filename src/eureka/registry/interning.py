"""Stored instances share their repeated values: one object per distinct name, VIP, port, etc.

Decoders make a new object for every value of every registration, so 100k instances of one
application held 100k copies of its name, of its VIP strings, of `8080`, of an identical
`DataCenterInfo` and of its metadata map: about 800 bytes per instance (measured, tracemalloc),
nearly half of what a registered instance cost. The registry passes each instance it takes
ownership of through `share_repeated` once; values that are equal are then the same object.
Nothing visible changes: strings and ints are immutable, a shared `DataCenterInfo` is one the
registry never mutates (not Amazon, no metadata), and a stored metadata map is never mutated in
place (`Registry.update_metadata` replaces it); `InstanceInfo.copy` copies both for readers.

Strings go through `sys.intern`: an interned string is freed with its last user, so the table
does not grow with names that are gone. Only values that are likely to repeat are interned —
an interned string that stays unique would cost a table entry for nothing.
"""

from __future__ import annotations

import sys

from eureka.model import DataCenterInfo, InstanceInfo

__all__ = ["share_repeated"]

# Metadata values this long or shorter are interned (ports, zones, versions, flags); longer ones
# are mostly unique (instance ids, URLs).
_SHORT_VALUE = 16
# Bounds of the shared int and data-center tables: real fleets have a handful of each; the bound
# only guards against odd input growing them.
_LIMIT = 4096
_ints: dict[int, int] = {}
_data_centers: dict[tuple[str, str | None], DataCenterInfo] = {}
# Equal metadata maps (instances of one application often have the same), up to _LIMIT of them.
_metadata: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}


def _int(value: int) -> int:
    shared = _ints.get(value)
    if shared is not None:
        return shared
    if len(_ints) < _LIMIT:
        _ints[value] = value
    return value


def share_repeated(info: InstanceInfo) -> None:
    """Replace `info`'s repeated values, in place, by the objects other instances use."""
    intern = sys.intern
    info.app = intern(info.app)
    info.sid = intern(info.sid)
    if info.vip_address is not None:
        info.vip_address = intern(info.vip_address)
    if info.secure_vip_address is not None:
        info.secure_vip_address = intern(info.secure_vip_address)
    if info.app_group_name is not None:
        info.app_group_name = intern(info.app_group_name)
    if info.asg_name is not None:
        info.asg_name = intern(info.asg_name)
    if info.ip_addr is not None and info.ip_addr == info.host_name:
        info.ip_addr = info.host_name
    info.port = _int(info.port)
    info.secure_port = _int(info.secure_port)
    metadata = info.metadata
    if metadata:
        items = tuple(metadata.items())
        shared_map = _metadata.get(items)
        if shared_map is None:
            shared_map = {
                intern(name): intern(value) if len(value) <= _SHORT_VALUE else value
                for name, value in metadata.items()
            }
            if len(_metadata) < _LIMIT:
                _metadata[items] = shared_map
        info.metadata = shared_map
    dci = info.data_center_info
    if dci is not None and dci.metadata is None and not dci.is_amazon:
        key = (dci.name, dci.class_name)
        shared = _data_centers.get(key)
        if shared is None and len(_data_centers) < _LIMIT:
            shared = _data_centers[key] = DataCenterInfo(
                intern(dci.name), None if dci.class_name is None else intern(dci.class_name)
            )
        if shared is not None:
            info.data_center_info = shared

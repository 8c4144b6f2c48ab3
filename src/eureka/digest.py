"""The content digest: what a client acts on, summed per application and over the registry.

The reconcile hash (`reconcile.py`, protocol.md §5.1) only counts instances per status, so two
registries that disagree on an address, a port or a metadata value hash the same. The content
digest covers every field a client acts on — identity, status and overridden status, addresses,
ports, URLs, VIPs, metadata, data-center info and `lastDirtyTimestamp` — and none that change
without a change-log entry (lease timestamps, which every renewal moves; `lastUpdatedTimestamp`
and `actionType`, which the server stamps per change; the coordinating flag, a decoration).

Shape. Each instance hashes to a 128-bit integer (BLAKE2b over a canonical encoding). An
application's digest is the sum of its instances' digests modulo 2**128, and a registry's (or a
subset's) is the sum of its applications'. A sum is order-free and can be updated in O(1) per
change — subtract the instance's old digest, add its new one — so neither the server nor the
client ever re-digests a whole registry to keep it current. Every instance digest includes the
application name and id, so the same instance under two applications counts twice, as it should.

Pure and shared by the server core, the client and anti-entropy: both sides compute it from the
decoded model, so a digest computed from a JSON or an XML payload equals the server's. Compact
payloads (`X-Eureka-Accept: compact`) omit fields the digest covers; clients that ask for them
cannot verify digests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import msgspec

from eureka.model import Applications, InstanceInfo

__all__ = [
    "DIGEST_BITS",
    "EMPTY_DIGEST",
    "DigestSums",
    "applications_digest",
    "format_digest",
    "instance_digest",
    "parse_digest",
    "per_app_digests",
]

DIGEST_BITS = 128
_MASK = (1 << DIGEST_BITS) - 1
# The digest of nothing: an empty application set, or an application without instances.
EMPTY_DIGEST = 0
_encode = msgspec.json.Encoder().encode
_HEX = "0123456789abcdef"


def _sorted_items(mapping: Mapping[str, str] | None) -> list[tuple[str, str]] | None:
    return None if mapping is None else sorted(mapping.items())


def instance_digest(info: InstanceInfo) -> int:
    """The 128-bit digest of one instance, from the fields a client acts on (see module doc)."""
    dci = info.data_center_info
    canonical = (
        info.app.upper(),
        info.id,
        info.instance_id,
        info.host_name,
        info.ip_addr,
        info.status.value,
        info.overridden_status.value,
        info.port,
        info.port_enabled,
        info.secure_port,
        info.secure_port_enabled,
        info.country_id,
        None if dci is None else (dci.name, _sorted_items(dci.metadata)),
        sorted(info.metadata.items()),
        info.app_group_name,
        info.home_page_url,
        info.status_page_url,
        info.health_check_url,
        info.secure_health_check_url,
        info.vip_address,
        info.secure_vip_address,
        info.last_dirty_timestamp,
        info.asg_name,
    )
    raw = hashlib.blake2b(_encode(canonical), digest_size=DIGEST_BITS // 8).digest()
    return int.from_bytes(raw, "big")


def format_digest(value: int) -> str:
    """32 lower-case hex digits: how digests travel (headers, `/apps/digests`)."""
    return f"{value & _MASK:032x}"


def parse_digest(text: str) -> int | None:
    """The inverse of `format_digest`; None for anything that is not 1–32 hex digits."""
    text = text.strip().lower()
    if not 0 < len(text) <= DIGEST_BITS // 4 or text.strip(_HEX):
        return None
    return int(text, 16)


class DigestSums:
    """Per-application digest sums and their total, kept incrementally.

    The caller remembers each instance's current digest (the registry on its lease, a client view
    beside its instance) and reports every change as `replace(app, old, new)`, with 0 standing for
    "absent" on either side. Applications whose sum returns to empty are forgotten.
    """

    __slots__ = ("_apps", "_counts", "_total")

    def __init__(self) -> None:
        self._apps: dict[str, int] = {}
        self._counts: dict[str, int] = {}
        self._total = EMPTY_DIGEST

    def add(self, app: str, digest: int) -> None:
        self._apps[app] = (self._apps.get(app, 0) + digest) & _MASK
        self._counts[app] = self._counts.get(app, 0) + 1
        self._total = (self._total + digest) & _MASK

    def remove(self, app: str, digest: int) -> None:
        count = self._counts.get(app, 0) - 1
        if count <= 0:
            self._apps.pop(app, None)
            self._counts.pop(app, None)
        else:
            self._apps[app] = (self._apps[app] - digest) & _MASK
            self._counts[app] = count
        self._total = (self._total - digest) & _MASK

    def replace(self, app: str, old: int | None, new: int | None) -> None:
        """One instance of `app` went from digest `old` to `new` (None: absent before/after)."""
        if old is not None:
            self.remove(app, old)
        if new is not None:
            self.add(app, new)

    def app(self, app: str) -> int:
        return self._apps.get(app, EMPTY_DIGEST)

    def of_apps(self, apps: Iterable[str]) -> int:
        """The digest of a subset of applications (absent ones count as empty)."""
        total = 0
        for name in set(apps):
            total += self._apps.get(name, 0)
        return total & _MASK

    @property
    def total(self) -> int:
        return self._total

    def apps(self) -> dict[str, int]:
        """A copy: application → digest, for the applications that have instances."""
        return dict(self._apps)

    def __len__(self) -> int:
        return len(self._apps)


def per_app_digests(registry: Applications) -> dict[str, int]:
    """Application → digest, computed from scratch (tests, repair, anti-entropy)."""
    result: dict[str, int] = {}
    for name, application in registry.applications_by_name.items():
        if not application.instances_by_id:
            continue
        total = 0
        for instance in application.instances_by_id.values():
            total += instance_digest(instance)
        result[name.upper()] = total & _MASK
    return result


def applications_digest(registry: Applications) -> int:
    """The whole registry's digest, computed from scratch."""
    return sum(per_app_digests(registry).values()) & _MASK

"""Which region's registry an instance belongs to (protocol.md §10.6), from its availability zone.

Only regions the client fetches (`fetch_remote_regions_registry`) are ever remote; everything else —
non-Amazon data centers, Amazon without a zone, unknown zones — belongs to the local registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eureka.errors import BadInput
from eureka.model import InstanceInfo

__all__ = ["DEFAULT_REGION_ZONES", "RegionMapper"]

# Java's built-in table (AbstractAzToRegionMapper), used for a remote region whose zones are not
# configured (or configured only as the placeholder "defaultZone").
DEFAULT_REGION_ZONES: Mapping[str, tuple[str, ...]] = {
    "us-east-1": ("us-east-1a", "us-east-1c", "us-east-1d", "us-east-1e"),
    "us-west-1": ("us-west-1a", "us-west-1c"),
    "us-west-2": ("us-west-2a", "us-west-2b", "us-west-2c"),
    "eu-west-1": ("eu-west-1a", "eu-west-1b", "eu-west-1c"),
}

_DEFAULT_ZONE = "defaultZone"


class RegionMapper:
    """zone → remote region, built once from the client configuration."""

    __slots__ = ("_regions", "_zone_to_region", "local_region")

    def __init__(
        self,
        local_region: str,
        remote_regions: Sequence[str],
        availability_zones: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.local_region = local_region
        zones_by_region = availability_zones or {}
        mapping: dict[str, str] = {}
        for region in remote_regions:
            zones = [z for z in zones_by_region.get(region, ()) if z]
            if not zones or zones == [_DEFAULT_ZONE]:
                default = DEFAULT_REGION_ZONES.get(region)
                if default is None:
                    # Java refuses to start here too: without zones nothing could ever be
                    # attributed to the region.
                    raise BadInput(f"no availability zones known for remote region {region}")
                zones = list(default)
            for zone in zones:
                mapping[zone] = region
        self._zone_to_region = mapping
        self._regions = frozenset(mapping.values())

    @property
    def remote_regions(self) -> frozenset[str]:
        return self._regions

    def region_of_zone(self, zone: str) -> str | None:
        """The remote region of `zone`, or None (local). Falls back on "zone minus its last
        character" when that is a known remote region (us-east-1x → us-east-1)."""
        region = self._zone_to_region.get(zone)
        if region is not None:
            return region
        if zone and zone[:-1] in self._regions:
            return zone[:-1]
        return None

    def region_of(self, instance: InstanceInfo) -> str | None:
        """The remote region whose registry holds `instance`, or None for the local registry."""
        if not self._regions:
            return None
        dci = instance.data_center_info
        if dci is None or not dci.is_amazon or not dci.metadata:
            return None
        zone = dci.metadata.get("availability-zone")
        if zone is None:
            return None
        region = self.region_of_zone(zone)
        return None if region == self.local_region else region

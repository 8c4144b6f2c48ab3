"""Response-cache keys (protocol.md §7.1)."""

from __future__ import annotations

import enum
from typing import NamedTuple

__all__ = ["Accept", "ApiVersion", "CacheKey", "EntityType", "Format"]


class EntityType(enum.StrEnum):
    ALL_APPS = "ALL_APPS"  # GET /apps
    ALL_APPS_DELTA = "ALL_APPS_DELTA"  # GET /apps/delta
    APP = "APP"  # GET /apps/{name}; name upper-cased
    VIP = "VIP"  # GET /vips/{name}; name exactly as in the path
    SVIP = "SVIP"  # GET /svips/{name}


class Format(enum.StrEnum):
    JSON = "json"
    XML = "xml"


class ApiVersion(enum.StrEnum):
    """Only XML renders differently under V1 (statuses other than UP/DOWN/STARTING → DOWN)."""

    V1 = "v1"
    V2 = "v2"


class Accept(enum.StrEnum):
    FULL = "full"
    COMPACT = "compact"


class CacheKey(NamedTuple):
    entity: EntityType
    name: str = ""
    fmt: Format = Format.JSON
    version: ApiVersion = ApiVersion.V2
    accept: Accept = Accept.FULL
    # Lower-cased, sorted region names from `?regions=` (§2.3 (7)); () for none.
    regions: tuple[str, ...] = ()

    def normalized(self) -> CacheKey:
        """The canonical form: names that do not matter are cleared, so equal payloads share a
        key (the name of ALL_APPS keys, the version of JSON keys, region order and case)."""
        entity = self.entity
        name = self.name
        if entity in (EntityType.ALL_APPS, EntityType.ALL_APPS_DELTA):
            name = ""
        elif entity is EntityType.APP:
            name = name.upper()
        version = ApiVersion.V2 if self.fmt is Format.JSON else self.version
        regions = tuple(sorted(r.lower() for r in self.regions)) if self.regions else ()
        if (name, version, regions) == (self.name, self.version, self.regions):
            return self
        return CacheKey(entity, name, self.fmt, version, self.accept, regions)

"""URL layout (protocol.md §1): `<prefix>[/<version>]/<resource>/...`, trailing slash optional.

`{version}` is any segment that is not a resource name; `v1` (case-insensitive) means V1 and
everything else V2 (§1.1). `/v2/apps` at the root works too, because there the prefix is simply
absent and `v2` is taken as the version.
"""

from __future__ import annotations

import dataclasses

from eureka.server.http import split_path

__all__ = ["RESOURCES", "Route", "route"]

RESOURCES = frozenset(
    {
        "apps",
        "instances",
        "vips",
        "svips",
        "peerreplication",
        "asg",
        "status",
        "serverinfo",
        # Ours: Prometheus metrics, and Spring Boot's actuator paths (health, prometheus).
        "metrics",
        "actuator",
        # The dashboard's assets and JSON feeds, and Spring's "last 1000" page.
        "static",
        "summary",
        "lastn",
        # The REST API's OpenAPI document.
        "openapi.json",
    }
)


# Other names of a route: Spring Boot's Prometheus path is our `/metrics` row, so that it gets
# that row's access policy (read), not the open one of the actuator's health probes.
_ALIASES: dict[tuple[str, ...], tuple[str, ...]] = {("actuator", "prometheus"): ("metrics",)}


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    resource: str  # one of RESOURCES, or "" for the dashboard root
    args: tuple[str, ...]  # percent-decoded segments after the resource
    v1: bool


def route(path: str, prefix_segments: tuple[str, ...]) -> Route | None:
    segments = split_path(path)
    if prefix_segments and tuple(segments[: len(prefix_segments)]) == prefix_segments:
        segments = segments[len(prefix_segments) :]
    if not segments:
        return Route("", (), v1=False)
    v1 = False
    if segments[0] not in RESOURCES:
        if len(segments) < 2 or segments[1] not in RESOURCES:
            return None
        v1 = segments[0].lower() == "v1"
        segments = segments[1:]
    alias = _ALIASES.get(tuple(segments))
    if alias is not None:
        segments = list(alias)
    return Route(segments[0], tuple(segments[1:]), v1=v1)

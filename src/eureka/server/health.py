"""Health for load balancers and Kubernetes, at Spring Boot's actuator paths.

* `/actuator/health/liveness`: 200 `{"status":"UP"}` whenever the node answers at all — its
  event loop runs. Restarting a node because it refuses reads would only make it sync again.
* `/actuator/health/readiness`: 200 `UP` while registry reads are served, 503
  `OUT_OF_SERVICE` while they answer 403 (`EurekaApp._allow()`): during the start-up sync, and
  during the empty-sync wait window (protocol.md §6.12; with Netflix's
  default-open-for-traffic-count 0 — Spring's 1 opens at once). A load balancer in front of a
  cluster then sends clients to a node that has the registry.
* `/actuator/health`: both as Spring's components, with readiness deciding the status and the
  code, since a load balancer probing the plain path wants to know where to send traffic.

Pure: a `Readiness` value in, a response out.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from eureka.server.http import JSON, Response

__all__ = ["Readiness", "health", "liveness", "readiness"]

_UP = {"status": "UP"}


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool  # the start-up sync is done
    allow_access: bool  # reads are served (implies ready)

    @property
    def reason(self) -> str | None:
        if not self.ready:
            return "copying the peers' registries (start-up sync); reads answer 403 until done"
        if not self.allow_access:
            return (
                "the start-up sync reached no peer and copied nothing; reads answer 403 for "
                "wait-time-in-ms-when-sync-empty after start"
            )
        return None


def _json(status: int, body: object) -> Response:
    return Response(status, [("content-type", JSON)], msgspec.json.encode(body))


def _readiness_component(state: Readiness) -> dict[str, object]:
    reason = state.reason
    if reason is None:
        return dict(_UP)
    return {"status": "OUT_OF_SERVICE", "details": {"reason": reason}}


def liveness() -> Response:
    return _json(200, _UP)


def readiness(state: Readiness) -> Response:
    component = _readiness_component(state)
    return _json(200 if state.reason is None else 503, component)


def health(state: Readiness) -> Response:
    component = _readiness_component(state)
    body = {
        "status": component["status"],
        "components": {"livenessState": _UP, "readinessState": component},
    }
    return _json(200 if state.reason is None else 503, body)

"""The values that cross the client's only I/O seam: a request the core wants sent, the response.

The pure core produces `Request`s and consumes `Response`s; a transport turns one into the other.
Paths are relative to the service URL (`apps/`, `apps/delta`, `apps/ORDER-SERVICE/id`), exactly as
the Java client appends them (§1.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Request", "Response", "TransportError"]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """`headers` keys are lower-case; `body` is already decompressed."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class TransportError(Exception):
    """No server gave an acceptable answer (connection errors, timeouts, retries exhausted)."""

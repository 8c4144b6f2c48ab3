"""The values that cross the client's only I/O seam: a request the core wants sent, the response.

The pure core produces `Request`s and consumes `Response`s; a transport turns one into the other.
Paths are relative to the service URL (`apps/`, `apps/delta`, `apps/ORDER-SERVICE/id`), exactly as
the Java client appends them (§1.2).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Interrupted", "Op", "Request", "Response", "TransportError"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Request:
    """`timeout` (seconds) replaces the transport's read timeout for this request only: a
    long-poll is held by the server for up to its `wait`, so it needs wait + margin while every
    other request keeps the short default. `long_poll` marks such a held request, which a
    transport may abort from another thread (`interrupt()`)."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout: float | None = None
    long_poll: bool = False


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


class Interrupted(TransportError):
    """A held request was aborted on purpose (stop, or a new subscription): not a server fault."""


Op = Generator[Request, Response, T]
"""A client operation: yields requests, receives responses, returns its result."""

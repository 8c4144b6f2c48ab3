"""The error types that refusals raise, everywhere in eureka-py.

Every decoder and validator raises `BadInput` with a short, human-readable `reason`; the HTTP layer
turns it into a 4xx with that reason, and nothing else (KeyError, lxml internals, msgspec errors)
may escape a decoder. `Denied` is the access check's refusal: it carries its status (401 with the
`WWW-Authenticate` challenge, or 403), like h11's `error_status_hint`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["BadInput", "Denied"]


class BadInput(ValueError):
    """Malformed, oversized or invalid input. `reason` is short and safe to show to the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Denied(Exception):
    """A request refused by the access policy, before it reached the registry.

    `message` is what the caller is told; `reason` the short key it is counted under; `user` the
    name the caller gave, if any (for the log — never a password).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reason: str,
        user: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.user = user
        self.headers = list(headers)

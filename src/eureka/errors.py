"""The one error type that bad input raises, everywhere in eureka-py.

Every decoder and validator raises `BadInput` with a short, human-readable `reason`; the HTTP layer
turns it into a 4xx with that reason, and nothing else (KeyError, lxml internals, msgspec errors)
may escape a decoder.
"""

from __future__ import annotations

__all__ = ["BadInput"]


class BadInput(ValueError):
    """Malformed, oversized or invalid input. `reason` is short and safe to show to the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

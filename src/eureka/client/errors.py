"""Errors raised by the discovery client's public API."""

from __future__ import annotations

__all__ = ["ClientStartError", "NoInstanceAvailable"]


class NoInstanceAvailable(LookupError):
    """No (UP) instance is known for the VIP or application asked for."""


class ClientStartError(RuntimeError):
    """Start-up failed where the configuration demands success (`should_enforce_*_at_init`)."""

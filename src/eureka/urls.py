"""URL helpers shared by every room: what a URL with credentials may show (pure)."""

from __future__ import annotations

__all__ = ["redact_url"]


def redact_url(url: str) -> str:
    """The URL as logs and the status page show it: `http://user:***@host/…` (no password)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{host}{slash}{path}"

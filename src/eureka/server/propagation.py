"""The wire vocabulary of cursors, watches, digests and subsets (docs/design/propagation.md).

Pure helpers for the HTTP application: header names, the epoch token, and the parsing of the new
query parameters, each refusing bad input with a short `BadInput` reason (→ 400). Everything
here is *added* to Eureka's protocol: nothing appears inside Eureka's JSON/XML bodies, and a
request without the new parameters never reaches this module's parsers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

import msgspec

from eureka.digest import format_digest
from eureka.errors import BadInput

__all__ = [
    "DEFAULT_WAIT_S",
    "DIGEST",
    "EPOCH",
    "FEATURES",
    "MAX_SUBSET_APPS",
    "MAX_WAIT_S",
    "REVISION",
    "cancelled_body",
    "digests_body",
    "etag_matches",
    "make_epoch",
    "parse_apps",
    "parse_since",
    "parse_wait",
]

# Response (and, for the epoch, request) header names, lower-case as every layer sends them.
FEATURES = "x-eureka-features"
EPOCH = "x-eureka-epoch"
REVISION = "x-eureka-revision"
DIGEST = "x-eureka-digest"

# The watch's hold: `wait=` seconds, capped (larger values are not an error), default when empty.
MAX_WAIT_S = 60.0
DEFAULT_WAIT_S = 30.0
# A subset names at most this many applications: beyond it, ask for the whole registry.
MAX_SUBSET_APPS = 1024
_MAX_APP_NAME = 256
_encode = msgspec.json.Encoder().encode


def make_epoch(node: str, started_ms: int) -> str:
    """The epoch token: which node (a short hash of its identity) and when it started.

    Opaque to clients, which compare it for equality only. A restart, or another node, gives
    another token; the same process always gives the same one.
    """
    node_hash = hashlib.blake2b(node.encode(), digest_size=6).hexdigest()
    return f"{node_hash}-{started_ms}"


def parse_since(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or len(text) > 19:
        raise BadInput("since must be a revision (a whole number >= 0)")
    return int(text)


def parse_wait(value: str) -> float:
    """Seconds to hold a watch: empty → the default; capped at `MAX_WAIT_S`."""
    text = value.strip()
    if not text:
        return DEFAULT_WAIT_S
    try:
        seconds = float(text)
    except ValueError:
        raise BadInput("wait must be a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise BadInput("wait must be a number of seconds >= 0")
    return min(seconds, MAX_WAIT_S)


def parse_apps(value: str) -> frozenset[str]:
    """`apps=A,B`: upper-cased (application names are), trimmed, once each."""
    names = {name.strip().upper() for name in value.split(",")}
    names.discard("")
    if not names:
        raise BadInput("apps must name at least one application")
    if len(names) > MAX_SUBSET_APPS:
        raise BadInput(f"apps may name at most {MAX_SUBSET_APPS} applications")
    if any(len(name) > _MAX_APP_NAME for name in names):
        raise BadInput(f"application names are at most {_MAX_APP_NAME} characters")
    return frozenset(names)


def digests_body(epoch: str, revision: int, total: int, apps: Mapping[str, int]) -> bytes:
    """`GET /apps/digests`: the total and per-application digests, applications sorted."""
    return _encode(
        {
            "epoch": epoch,
            "revision": revision,
            "digest": format_digest(total),
            "applications": {name: format_digest(apps[name]) for name in sorted(apps)},
        }
    )


def etag_matches(if_none_match: str, digest: str) -> bool:
    """`If-None-Match` names the weak tag `W/"<digest>"` (or `*`), by weak comparison."""
    if not if_none_match:
        return False
    for raw in if_none_match.split(","):
        tag = raw.strip()
        if tag == "*" or tag.removeprefix("W/").strip('"') == digest:
            return True
    return False


def cancelled_body(cancels: Mapping[str, Mapping[str, int]]) -> bytes:
    """`GET /peerreplication/cancelled`: `{"applications": {"APP": {"id": ms}}}`, sorted."""
    return _encode(
        {
            "applications": {
                app: {iid: cancels[app][iid] for iid in sorted(cancels[app])}
                for app in sorted(cancels)
            }
        }
    )

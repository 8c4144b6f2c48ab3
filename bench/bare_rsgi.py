"""Bare granian RSGI app serving fixed bytes: the cost of the serving stack with no logic at all.

Started by bench_server with BARE_BODY_DIR pointing at files named after the request path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_DIR = Path(os.environ.get("BARE_BODY_DIR", "."))
_BODIES = {f"/{p.name}": p.read_bytes() for p in _DIR.iterdir() if p.is_file()}
_GZIP = [("content-type", "application/json"), ("content-encoding", "gzip")]


async def app(scope: Any, protocol: Any) -> None:
    if scope.method == "PUT":
        protocol.response_empty(200, [])
        return
    body = _BODIES.get(scope.path)
    if body is None:
        protocol.response_empty(404, [])
    else:
        protocol.response_bytes(200, _GZIP, body)

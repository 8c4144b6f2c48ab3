"""Framework-neutral HTTP request/response values and Eureka's negotiation rules (protocol.md §2.1).

The RSGI and ASGI adapters translate their server's objects into `Request` and back from
`Response`; everything between is plain Python that the tests can call directly.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from eureka.errors import BadInput

__all__ = [
    "Parked",
    "Request",
    "Response",
    "decompress_body",
    "empty",
    "parse_query",
    "split_path",
    "text",
]

JSON = "application/json"
XML = "application/xml"
REPLICATION_HEADER = "x-netflix-discovery-replication"


class HeaderLookup(Protocol):
    def get(self, key: str, default: Any = None, /) -> Any: ...


@dataclasses.dataclass(slots=True)
class Request:
    method: str
    # Raw (still percent-encoded) path: ids may contain an encoded "/" or ":".
    path: str
    query: str
    # Looked up by lower-case name: a dict, or the server's own header map.
    headers: HeaderLookup
    body: bytes = b""
    # Cleared by the access check when auth is on and the caller is not a peer: the replication
    # header then means nothing (the check has refused such a write already; this makes sure).
    replication_allowed: bool = True

    def header(self, name: str) -> str:
        return self.headers.get(name) or ""

    @property
    def wants_json(self) -> bool:
        """Registry payloads are JSON iff Accept *contains* "json"; otherwise XML (§2.1)."""
        return "json" in self.header("accept").lower()

    @property
    def entity_wants_json(self) -> bool:
        """Entity endpoints use JAX-RS negotiation, XML listed first: JSON only when asked."""
        accept = self.header("accept").lower()
        return "json" in accept and (
            "xml" not in accept or accept.find("json") < accept.find("xml")
        )

    @property
    def accepts_gzip(self) -> bool:
        return "gzip" in self.header("accept-encoding").lower()

    @property
    def compact(self) -> bool:
        return self.header("x-eureka-accept").strip().lower() == "compact"

    @property
    def is_replication(self) -> bool:
        return self.replication_allowed and self.header(REPLICATION_HEADER) == "true"

    @property
    def body_is_json(self) -> bool:
        return "json" in self.header("content-type").lower()


@dataclasses.dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


class Parked(Protocol):
    """A request the application holds instead of answering at once (a long-poll watch).

    `EurekaApp.handle` stays synchronous and returns `Response | Parked` — h11's NEED_DATA: "not
    yet". Every HTTP layer (RSGI, ASGI, any other) awaits `wait()` for the answer, and calls
    `cancel()` if the client goes away first, so that a held request costs nothing once gone.
    """

    async def wait(self) -> Response: ...

    def cancel(self) -> None: ...


def empty(status: int, content_type: str | None = None) -> Response:
    # Heartbeat 200/404 MUST have an empty body: the Jersey 1 client decodes any body as an
    # InstanceInfo and a failed decode turns a 404 into "heartbeat failed" (§2.3 (2)).
    headers = [("content-type", content_type)] if content_type else []
    return Response(status, headers, b"")


def text(status: int, message: str) -> Response:
    return Response(status, [("content-type", "text/plain; charset=utf-8")], message.encode())


def split_path(path: str) -> list[str]:
    """Split a raw path into percent-decoded segments; empty segments (trailing "/") are dropped."""
    if "%" not in path:
        return [segment for segment in path.split("/") if segment]
    return [unquote(segment) for segment in path.split("/") if segment]


_MAX_QUERY_FIELDS = 256


def parse_query(query: str) -> dict[str, str]:
    """First value wins for a repeated parameter, as JAX-RS's @QueryParam does."""
    params: dict[str, str] = {}
    if not query:
        return params
    if "%" not in query and "+" not in query:
        # Nothing to decode (a renewal's `status=UP&lastDirtyTimestamp=…`): parse_qsl's own
        # split, without its per-field unquoting, which was a fifth of a renewal's Python time.
        if query.count("&") >= _MAX_QUERY_FIELDS:
            raise BadInput("too many query parameters")
        for field in query.split("&"):
            if field:
                key, _, value = field.partition("=")
                params.setdefault(key, value)
        return params
    try:
        pairs = parse_qsl(
            query, keep_blank_values=True, strict_parsing=False, max_num_fields=_MAX_QUERY_FIELDS
        )
    except ValueError:
        raise BadInput("too many query parameters") from None
    for key, value in pairs:
        params.setdefault(key, value)
    return params


def decompress_body(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo `Content-Encoding: gzip` (peers may compress batches, §2.1), refusing gzip bombs."""
    encoding = encoding.strip().lower()
    if not encoding or encoding == "identity":
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise BadInput(f"unsupported content-encoding {encoding}")
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise BadInput("request body is not valid gzip") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BadInput("request body too large")
    return out

"""HTTP/1.1 served by an asyncio protocol of our own, with httptools (llhttp) as the parser.

Why our own: a registry's traffic is small requests — every instance renews and polls every
30 s — and granian hands each request from its Rust threads to the event loop with
`call_soon_threadsafe`, a cost per request that dominates a renewal (bench/bench_server.py
measures both layers side by side). Here the parser runs in the loop's own thread, and a
request costs a parse, one `EurekaApp.handle` call and one `transport.write`.

The protocol keeps HTTP's rules and leaves Eureka to `EurekaApp`:

* keep-alive (HTTP/1.0 only when asked), pipelining — answers in request order: a held
  request (a long-poll watch) holds the answers behind it, and reading pauses when 16 wait;
* request bodies: Content-Length or chunked (llhttp decodes), `Expect: 100-continue`;
* limits: request line 8 KiB (414), header block `max_header_bytes` and 100 headers (431),
  body `max_body_bytes` (413) — each answered, then the connection closed;
* timeouts: a request must arrive whole within `header_timeout_s` of its first byte
  (slowloris), an idle keep-alive connection is closed after `keep_alive_timeout_s`;
* HEAD answers the GET's headers without its body; `Date` on every answer (RFC 9110 §6.6.1);
* a client that half-closes after its request still gets its answer, then the close.

TLS is asyncio's (an `ssl.SSLContext` from the node's certificate); nothing here touches crypto.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NoReturn, cast

import httptools

from eureka.server.app import EurekaApp
from eureka.server.http import Parked, Request, Response, text

__all__ = ["HttpLimits", "NativeServer"]

log = logging.getLogger("eureka.server.http")

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Bodies from this size on go out beside their head (writev) instead of copied behind it; below
# it one joined buffer is cheaper than the gather.
_GATHER_FROM = 16 * 1024


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_url_bytes: int = 8192
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    max_body_bytes: int = 8 * 1024 * 1024
    header_timeout_s: float = 30.0
    keep_alive_timeout_s: float = 120.0
    # Requests parsed ahead of a held one before reading pauses (pipelining backlog).
    max_pipelined: int = 16


class _Date:
    """The `Date` header line, formatted once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def value(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = f"date: {email.utils.formatdate(now, usegmt=True)}\r\n"
        return self._value


_DATE = _Date()


# No body, and no Content-Length either (RFC 9110 §8.6: MUST NOT for 1xx and 204; a 304's
# would have to be the 200's length).
_BODYLESS = frozenset({204, 304})


_STATUS_LINES: dict[int, str] = {}


def _status_line(status: int) -> str:
    line = _STATUS_LINES.get(status)
    if line is None:
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {reason}\r\n"
    return line


def _encode_head(response: Response, keep_alive: bool, length: int) -> bytes:
    status = response.status
    # One str joined and encoded once: formatting bytes header by header cost twice as much.
    parts = [_status_line(status)]
    parts += [f"{name}: {value}\r\n" for name, value in response.headers]
    if status not in _BODYLESS:
        parts.append(f"content-length: {length}\r\n")
    parts.append(_DATE.value())
    parts.append("\r\n" if keep_alive else "connection: close\r\n\r\n")
    return "".join(parts).encode("latin-1")


class _Headers:
    """A request's headers as the app reads them (`get` by lower-case name), decoded only when
    read: of a request's headers the app reads two or three."""

    __slots__ = ("_raw",)

    def __init__(self, raw: dict[bytes, bytes]) -> None:
        self._raw = raw

    def get(self, key: str, default: Any = None, /) -> Any:
        value = self._raw.get(key.encode("latin-1"))
        return default if value is None else value.decode("latin-1")


class _Refused(Exception):
    """Raised from a parser callback; httptools re-raises it wrapped, `_refusal` keeps it."""


class _Connection(asyncio.Protocol):
    """One client connection: parser callbacks in, answers out, in order."""

    def __init__(self, app: EurekaApp, limits: HttpLimits, live: set[_Connection]) -> None:
        self._app = app
        self._limits = limits
        self._live = live
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        # The request being parsed.
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._header_bytes = 0
        self._header_count = 0
        self._body: list[bytes] = []
        self._body_size = 0
        # Requests parsed and waiting for the ones before them to be answered.
        self._queue: collections.deque[tuple[Request, bool]] = collections.deque()
        self._busy: asyncio.Task[None] | None = None  # a held request being awaited
        self._reading = True
        self._write_paused = False
        self._closing = False
        self._eof = False
        # When the server's sweep closes this connection (loop time); None: never (busy).
        # A deadline, not a timer per request: arming a TimerHandle twice per request cost
        # more than parsing it.
        self.deadline: float | None = None
        self._refusal: Response | None = None  # set by a callback that refuses the request

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        self._live.add(self)
        self._arm(self._limits.keep_alive_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._live.discard(self)
        self._closing = True
        self._disarm()
        if self._busy is not None:
            self._busy.cancel()  # the held request is released (`_answer_held`)
        self._queue.clear()

    def eof_received(self) -> bool:
        # Every answer that could be given at once has been written by now. A held request
        # (a long-poll) is released: a client that closed while waiting is gone, and keeping
        # its watch for up to a minute would cost what watches must not (a half-closed client
        # that still waits is told nothing, as granian does).
        self._eof = True
        if self._busy is not None:
            self._busy.cancel()
        return False

    def pause_writing(self) -> None:
        # A client that reads slower than we answer (a full registry to a slow link): stop
        # reading its next requests until its answers have drained.
        self._write_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._busy is None and len(self._queue) < self._limits.max_pipelined:
            self._resume()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(text(400, "protocol upgrades are not supported"))
        except (httptools.HttpParserError, _Refused) as exc:
            refusal = self._refusal
            self._refuse(refusal if refusal is not None else text(400, f"malformed request: {exc}"))

    # -- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        # A request has begun: it must arrive whole in time, however slowly it trickles.
        self._arm(self._limits.header_timeout_s)
        self._url = b""
        self._headers = {}
        self._header_bytes = 0
        self._header_count = 0
        self._body = []
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._limits.max_url_bytes:
            self._refuse_with(text(414, f"request target longer than {self._limits.max_url_bytes}"))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        self._header_count += 1
        limits = self._limits
        if self._header_bytes > limits.max_header_bytes or self._header_count > limits.max_headers:
            self._refuse_with(text(431, "request header fields too large"))
        key = name.lower()
        before = self._headers.get(key)
        self._headers[key] = value if before is None else before + b", " + value

    def on_headers_complete(self) -> None:
        declared = self._headers.get(b"content-length")
        limit = self._limits.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            self._refuse_with(text(413, f"request body larger than {limit} bytes"))
        expect = self._headers.get(b"expect")
        if expect is not None and expect.lower() == b"100-continue" and self._transport:
            self._transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > self._limits.max_body_bytes:
            limit = self._limits.max_body_bytes
            self._refuse_with(text(413, f"request body larger than {limit} bytes"))
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._disarm()  # until answered: then the keep-alive timer runs
        parser = self._parser
        method = parser.get_method().decode("ascii")
        url = httptools.parse_url(self._url)
        path = url.path.decode("latin-1")
        query = url.query.decode("latin-1") if url.query else ""
        body = b"".join(self._body) if self._body else b""
        request = Request(method, path, query, _Headers(self._headers), body)
        keep_alive = parser.should_keep_alive()
        if self._busy is not None or self._queue:
            self._queue.append((request, keep_alive))
            if len(self._queue) >= self._limits.max_pipelined:
                self._pause()
            return
        self._serve(request, keep_alive)

    def _refuse_with(self, response: Response) -> NoReturn:
        self._refusal = response
        raise _Refused(response.status)

    # -- answering -----------------------------------------------------------------------------

    def _serve(self, request: Request, keep_alive: bool) -> None:
        result = self._app.handle(request)
        if isinstance(result, Response):
            self._write(request, result, keep_alive)
        else:
            # Reading goes on (a client that leaves is seen at once); requests pipelined
            # behind this one queue up, and reading pauses only when too many do.
            self._busy = self._loop.create_task(self._answer_held(request, result, keep_alive))

    async def _answer_held(self, request: Request, held: Parked, keep_alive: bool) -> None:
        try:
            response = await held.wait()
        except BaseException:
            held.cancel()
            raise
        self._busy = None
        if self._closing:
            return
        self._write(request, response, keep_alive)
        while self._queue and self._busy is None and not self._closing:
            queued, queued_keep_alive = self._queue.popleft()
            self._serve(queued, queued_keep_alive)
        if self._busy is None and not self._closing:
            self._resume()

    def _write(self, request: Request, response: Response, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None or self._closing:
            return
        keep_alive = keep_alive and not (self._eof and not self._queue)
        body = b"" if response.status in _BODYLESS else response.body
        head = _encode_head(response, keep_alive, len(body))
        if request.method == "HEAD" or not body:
            transport.write(head)
        elif len(body) < _GATHER_FROM:
            transport.write(head + body)
        else:
            # One writev of both: `head + body` would copy the body (a registry delta of 100 KB
            # to every poller, a full registry of tens of MB) only to join it to its head.
            transport.writelines((head, body))
        if not keep_alive:
            self._close()
        elif not self._queue and self._busy is None:
            self._arm(self._limits.keep_alive_timeout_s)

    def _refuse(self, response: Response) -> None:
        """A request we will not read further: answer it and close the connection."""
        if self._transport is not None and not self._closing:
            self._transport.write(_encode_head(response, False, len(response.body)) + response.body)
        self._close()

    def _close(self) -> None:
        self._closing = True
        self._disarm()
        if self._transport is not None:
            self._transport.close()

    def _pause(self) -> None:
        if self._reading and self._transport is not None:
            self._transport.pause_reading()
            self._reading = False

    def _resume(self) -> None:
        if self._write_paused:
            return
        if not self._reading and self._transport is not None and not self._closing:
            self._transport.resume_reading()
            self._reading = True

    # -- timers --------------------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self.deadline = self._loop.time() + seconds if seconds > 0 else None

    def _disarm(self) -> None:
        self.deadline = None

    def timed_out(self) -> None:
        """The sweep found the deadline passed: idle for too long, or a request that did not
        arrive whole in time. Closed without an answer (RFC 9112 §9.8 lets a server close an
        idle connection at any time)."""
        self.deadline = None
        if self._busy is None and not self._queue:
            self._close()

    def close_if_idle(self) -> bool:
        if self._busy is None and not self._queue:
            self._close()
            return True
        return False


class NativeServer:
    """Listen on host:port and serve `app` until `stop()`; `serve()` runs the hooks around it."""

    def __init__(
        self,
        app: EurekaApp,
        host: str,
        port: int,
        *,
        limits: HttpLimits,
        ssl: Any = None,
        on_start: Callable[[], Any] | None = None,
        backlog: int = 2048,
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._limits = limits
        self._ssl = ssl
        self._on_start = on_start
        self._backlog = backlog
        self._live: set[_Connection] = set()
        self._stopped = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self._app, self._limits, self._live),
            self._host,
            self._port,
            backlog=self._backlog,
            ssl=self._ssl,
            reuse_address=True,
        )
        log.info("listening on %s:%d (native HTTP/1.1)", self._host, self._port)
        sweep = loop.create_task(self._sweep())
        if self._on_start is not None:
            started = self._on_start()
            if asyncio.iscoroutine(started):
                await started
        await self._stopped.wait()
        sweep.cancel()
        self._server.close()
        for connection in list(self._live):
            connection.close_if_idle()
        await self._server.wait_closed()

    def stop(self) -> None:
        self._stopped.set()

    async def _sweep(self) -> None:
        """Close the connections whose deadline passed, a few times per shortest timeout."""
        limits = self._limits
        timeouts = [t for t in (limits.header_timeout_s, limits.keep_alive_timeout_s) if t > 0]
        if not timeouts:
            return
        period = min(1.0, max(0.05, min(timeouts) / 4))
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for connection in [c for c in self._live if c.deadline is not None]:
                if connection.deadline is not None and connection.deadline <= now:
                    connection.timed_out()

"""A TCP proxy in front of a node that loses replication batches on purpose.

It forwards HTTP/1.1 requests one at a time per connection (httpx does not pipeline) and, while
`dropping` is set, answers `POST …/peerreplication/batch` itself with every item acknowledged
(200): the sender believes the batch was applied, the node behind the proxy never sees it. That
is the worst kind of loss — silent — and only anti-entropy can repair it. Runs its own event
loop in a thread, so that synchronous tests can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading

__all__ = ["DroppingProxy"]

_END = b"\r\n\r\n"


class DroppingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.dropping = True
        self.dropped_batches = 0
        self.dropped_items = 0
        self.forwarded = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/eureka/"

    def start(self) -> DroppingProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port = future.result(5)
        return self

    def stop(self) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> DroppingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                try:
                    head, body = await _read_message(reader, request=True)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, target = head.split(b" ", 2)[:2]
                if self.dropping and method == b"POST" and b"/peerreplication/batch" in target:
                    items = len(json.loads(body)["replicationList"])
                    self.dropped_batches += 1
                    self.dropped_items += items
                    answer = json.dumps({"responseList": [{"statusCode": 200}] * items}).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        + b"content-length: %d\r\n\r\n" % len(answer)
                        + answer
                    )
                    await writer.drain()
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                up_reader, up_writer = upstream
                up_writer.write(head + body)
                await up_writer.drain()
                reply_head, reply_body = await _read_message(
                    up_reader, request=False, bodiless=method == b"HEAD"
                )
                self.forwarded += 1
                writer.write(reply_head + reply_body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()
            if upstream is not None:
                upstream[1].close()


async def _read_message(
    reader: asyncio.StreamReader, *, request: bool, bodiless: bool = False
) -> tuple[bytes, bytes]:
    """One HTTP/1.1 message: (head including the blank line, raw body as it was framed)."""
    head = await reader.readuntil(_END)
    lines = head[: -len(_END)].split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if not request:
        status = int(lines[0].split(b" ", 2)[1])
        if bodiless or status in (204, 304) or 100 <= status < 200:
            return head, b""
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            body += size_line + chunk
            if size == 0:
                return head, body
    length = int(headers.get(b"content-length", b"0"))
    return head, await reader.readexactly(length)

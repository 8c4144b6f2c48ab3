"""A tiny real HTTP/1.1 server on 127.0.0.1 that plays a replication peer.

It records every request and answers from a script of canned replies, so the PeerNode tests
exercise real sockets, real httpx and real timeouts without any mocking of the dispatcher.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Callable


@dataclasses.dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering (to provoke read timeouts)


_REASONS = {200: "OK", 400: "Bad Request", 500: "Internal Server Error", 503: "Unavailable"}


class PeerStub:
    """`replies` decides the answer to each request from the request and its index."""

    def __init__(self, replies: Callable[[Request, int], Reply], *, port: int = 0) -> None:
        """`port` 0 picks a free one; a given port lets a test bring a dead peer back."""
        self._replies = replies
        self.requests: list[Request] = []
        self.arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/eureka/"

    async def __aenter__(self) -> PeerStub:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # Python 3.11's Server does not track its connections: end the handlers ourselves.
        for handler in self._handlers:
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[Request]:
        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests[:count]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(method, path, headers, body)
                index = len(self.requests)
                async with self.arrived:
                    self.requests.append(request)
                    self.arrived.notify_all()
                reply = self._replies(request, index)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                reason = _REASONS.get(reply.status, "Status")
                writer.write(
                    f"HTTP/1.1 {reply.status} {reason}\r\n"
                    f"Content-Type: application/json\r\n"
                    f"Content-Length: {len(reply.body)}\r\n\r\n".encode()
                    + reply.body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # Ending normally: 3.11's stream protocol logs an error for a cancelled handler.
            pass
        finally:
            self._handlers.discard(handler)
            writer.close()


def unused_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connecting to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port

"""RSGI (granian) and ASGI adapters: collect the request, call `EurekaApp.handle`, send the reply.

RSGI serves the node under granian (`eureka.server.http-layer: granian`; the default layer is
server/native_http.py); the ASGI adapter lets a user mount the registry inside their own ASGI
application.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

from eureka.server.app import EurekaApp
from eureka.server.http import Parked, Request, Response, text

__all__ = ["AsgiAdapter", "RsgiAdapter"]

Hook = Callable[[], Coroutine[Any, Any, None]]


def _run_hook(loop: asyncio.AbstractEventLoop, hook: Hook) -> None:
    # Granian's embedded server calls the hooks from inside its running loop (start-up work
    # such as the peer sync then runs while requests are already served); a worker process
    # calls them before its loop runs.
    if loop.is_running():
        task = loop.create_task(hook())
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
    else:
        loop.run_until_complete(hook())


# Strong references to hook tasks: the loop keeps only weak ones.
_BACKGROUND: set[asyncio.Task[None]] = set()


def _too_large(limit: int) -> Response:
    return text(413, f"request body larger than {limit} bytes")


class RsgiAdapter:
    """An RSGI application; `on_start`/`on_stop` run in granian's event loop (timers, peers)."""

    def __init__(
        self, app: EurekaApp, *, on_start: Hook | None = None, on_stop: Hook | None = None
    ) -> None:
        self.app = app
        self._on_start = on_start
        self._on_stop = on_stop
        self._limit = app.config.max_body_bytes

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._on_start is not None:
            _run_hook(loop, self._on_start)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._on_stop is not None:
            _run_hook(loop, self._on_stop)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        # Granian's header map is looked up lazily (names arrive lower-cased): copying every
        # header into a dict cost more than the registry's own work on a renewal.
        headers = scope.headers
        response = None
        body = b""
        if scope.method in _WITH_BODY:
            declared = headers.get("content-length")
            chunked = declared is None and "chunked" in (headers.get("transfer-encoding") or "")
            if declared is not None and declared.isdigit() and int(declared) > self._limit:
                response = _too_large(self._limit)
            elif chunked or (declared is not None and declared != "0"):
                chunks: list[bytes] = []
                size = 0
                async for chunk in protocol:
                    size += len(chunk)
                    if size > self._limit:
                        response = _too_large(self._limit)
                        break
                    chunks.append(chunk)
                body = b"".join(chunks)
        if response is None:
            request = Request(scope.method, scope.path, scope.query_string, headers, body)
            result = self.app.handle(request)
            response = result if type(result) is Response else await _answer(result)
        if scope.method == "HEAD":
            protocol.response_empty(response.status, response.headers)
        else:
            protocol.response_bytes(response.status, response.headers, response.body)


async def _answer(result: Response | Parked) -> Response:
    """Await a held request's answer; cancelled (the connection went away) → release it."""
    if isinstance(result, Response):
        return result
    try:
        return await result.wait()
    except BaseException:
        result.cancel()
        raise


# Heartbeats are PUTs without a body: only these methods are worth reading a body for.
_WITH_BODY = frozenset({"POST", "PUT", "DELETE", "PATCH"})

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class AsgiAdapter:
    """An ASGI application (with lifespan support) serving the same `EurekaApp`."""

    def __init__(
        self, app: EurekaApp, *, on_start: Hook | None = None, on_stop: Hook | None = None
    ) -> None:
        self.app = app
        self._on_start = on_start
        self._on_stop = on_stop
        self._limit = app.config.max_body_bytes

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", []):
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        chunks: list[bytes] = []
        size = 0
        response = None
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                response = _too_large(self._limit)
                break
            chunks.append(chunk)
            more = message.get("more_body", False)
        if response is None:
            raw_path = scope.get("raw_path")
            path = raw_path.decode("latin-1") if raw_path else scope["path"]
            prefix = scope.get("root_path", "")
            if prefix and path.startswith(prefix):
                path = path[len(prefix) :]
            request = Request(
                scope["method"],
                path,
                scope.get("query_string", b"").decode("latin-1"),
                headers,
                b"".join(chunks),
            )
            result = self.app.handle(request)
            response = result if type(result) is Response else await _answer(result)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
                ],
            }
        )
        body = b"" if scope["method"] == "HEAD" else response.body
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._on_start is not None:
                    await self._on_start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._on_stop is not None:
                    await self._on_stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

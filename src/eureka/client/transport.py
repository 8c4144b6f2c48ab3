"""The client's only I/O seam: `SyncTransport` / `AsyncTransport`, and their httpx implementations.

A transport takes a path relative to the service URL (`apps/`, `apps/delta`, `apps/APP/id`) and
returns a `Response` with lower-case header names and a decompressed body, or raises
`TransportError` when no server gave an acceptable answer. Tests replace it with an in-memory fake.

The httpx transports add what Java's transport stack does (§10.8, §2.4): JSON + gzip accepted,
identity headers, basic auth from `http://user:pass@host/eureka` URLs, connect/read timeouts
(5 s / 8 s), up to 3 attempts per call on successive servers with quarantine, a pinned server and
session expiry, and the legacy status evaluator deciding which replies are final (§2.5).

`send(request)` also honours the request's own `timeout` (a long-poll is held for up to its wait)
and, on the blocking transport, `interrupt()` aborts long-polls in flight from another thread:
httpx cannot cancel a blocking request, and closing a socket does not wake the thread reading
it, but shutting it down does. Long-polls therefore use their own pool without keep-alive, so each
opens the connection it reads from, and httpcore's documented `trace` extension hands that
connection's stream over when it is made.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import ssl
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import httpx

import eureka
from eureka.client.endpoints import (
    EndpointSelector,
    ServiceEndpoint,
    legacy_accepts,
    parse_service_url,
)
from eureka.client.messages import Interrupted, Request, Response, TransportError
from eureka.clock import Clock, SystemClock

__all__ = [
    "AsyncTransport",
    "HttpxAsyncTransport",
    "HttpxSyncTransport",
    "Request",
    "Response",
    "SyncTransport",
    "TransportError",
    "TransportSettings",
    "default_headers",
]

log = logging.getLogger("eureka.client.transport")

# Characters Jersey's `path()` leaves alone; instance ids routinely contain ':' (host:app:port).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


@runtime_checkable
class SyncTransport(Protocol):
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncTransport(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response: ...

    async def aclose(self) -> None: ...


class TransportSettings:
    """Timeouts and pool sizes (§10.12 defaults: 5 s / 8 s, 200 total, 50 per host, idle 45 s)."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 8.0,
        max_connections: int = 200,
        max_connections_per_host: int = 50,
        idle_timeout: float = 45.0,
        max_attempts: int = 3,
        quarantine_refresh_percentage: float = 0.66,
        session_seconds: float = 1200.0,
        compact: bool = False,
        identity_id: str | None = None,
        allow_redirects: bool = False,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.max_connections_per_host = max_connections_per_host
        self.idle_timeout = idle_timeout
        self.max_attempts = max_attempts
        self.quarantine_refresh_percentage = quarantine_refresh_percentage
        self.session_seconds = session_seconds
        self.compact = compact
        self.identity_id = identity_id
        self.allow_redirects = allow_redirects
        # httpx's `verify` for https servers: `eureka.tls.client_verify(trust_store)`.
        self.verify = verify

    def timeout(self, read: float | None = None) -> httpx.Timeout:
        """The default timeouts; `read` replaces the read timeout (a long-poll's wait + margin)."""
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout if read is None else read,
            write=self.read_timeout,
            pool=self.connect_timeout,
        )

    def limits(self) -> httpx.Limits:
        # httpx pools per host already; its total limit is the closest match for both knobs.
        return httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_connections_per_host,
            keepalive_expiry=self.idle_timeout,
        )


def default_headers(settings: TransportSettings) -> dict[str, str]:
    """What every Java client request carries (§2.4): JSON, gzip, identity headers."""
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip",
        "DiscoveryIdentity-Name": "DefaultClient",
        "DiscoveryIdentity-Version": "1.4",
        "User-Agent": f"Python-EurekaClient/v{eureka.__version__}",
    }
    if settings.identity_id:
        headers["DiscoveryIdentity-Id"] = settings.identity_id
    if settings.compact:
        headers["X-Eureka-Accept"] = "compact"
    if settings.allow_redirects:
        headers["X-Discovery-AllowRedirect"] = "true"
    return headers


def _to_response(reply: httpx.Response) -> Response:
    # httpx decodes gzip transparently; header names are lower-cased for the core.
    return Response(
        reply.status_code,
        {k.lower(): v for k, v in reply.headers.items()},
        reply.content,
    )


class _Base:
    def __init__(
        self,
        service_urls: Sequence[str] | str,
        settings: TransportSettings | None,
        clock: Clock | None,
        rng: random.Random | None,
    ) -> None:
        if isinstance(service_urls, str):
            service_urls = [u for u in service_urls.split(",") if u.strip()]
        self.settings = settings or TransportSettings()
        self.selector = EndpointSelector(
            [parse_service_url(u) for u in service_urls],
            clock=clock or SystemClock(),
            rng=rng,
            quarantine_refresh_percentage=self.settings.quarantine_refresh_percentage,
            session_seconds=self.settings.session_seconds,
        )
        self.headers = default_headers(self.settings)

    def _build(
        self,
        endpoint: ServiceEndpoint,
        request: Request,
        extensions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        merged = dict(self.headers)
        if request.headers:
            merged.update(request.headers)
        built: dict[str, Any] = {
            "method": request.method,
            "url": endpoint.url + quote(request.path, safe=_PATH_SAFE),
            "params": dict(request.params) if request.params else None,
            "headers": merged,
            "content": request.body,
            "auth": endpoint.auth,
        }
        if request.timeout is not None:
            built["timeout"] = self.settings.timeout(read=request.timeout)
        if extensions:
            built["extensions"] = extensions
        return built

    def _judge(self, endpoint: ServiceEndpoint, method: str, path: str, reply: Response) -> bool:
        if legacy_accepts(method, path, reply.status):
            self.selector.succeeded(endpoint)
            return True
        log.warning(
            "%s %s on %s answered %s; trying another server", method, path, endpoint, reply.status
        )
        self.selector.failed(endpoint)
        return False

    def _failed(self, endpoint: ServiceEndpoint, method: str, path: str, exc: Exception) -> None:
        log.warning("%s %s on %s failed: %r", method, path, endpoint, exc)
        self.selector.failed(endpoint)


class _Held:
    """One long-poll in flight: the socket it reads from, once its connection exists."""

    __slots__ = ("_lock", "_sock", "aborted")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.aborted = False

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's trace hook: keep the stream of the connection this request opens."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sock = sock
            aborted = self.aborted
        if aborted:
            _shut(sock)

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sock = self._sock
        if sock is not None:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing is blocked on it
        sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked reading it


class HttpxSyncTransport(_Base):
    """Blocking transport over `httpx.Client` (one connection pool for all servers)."""

    def __init__(
        self,
        service_urls: Sequence[str] | str,
        settings: TransportSettings | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        client: httpx.Client | None = None,
        httpx_transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`client` replaces the whole httpx client; `httpx_transport` only its I/O layer."""
        super().__init__(service_urls, settings, clock, rng)
        s = self.settings
        self._client = client or httpx.Client(
            transport=httpx_transport,
            timeout=s.timeout(),
            limits=s.limits(),
            verify=s.verify,
            follow_redirects=True,  # Java's stack always has its Redirecting layer (10 hops)
            max_redirects=10,
        )
        # Long-polls get a pool without keep-alive (see the module docstring), unless the caller
        # chose the I/O layer: then they share it, and `interrupt()` is best effort.
        self._own_io = client is None and httpx_transport is None
        self._held_client: httpx.Client | None = None
        self._held: set[_Held] = set()
        self._held_lock = threading.Lock()
        self._closed = False

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        return self.send(Request(method, path, params or {}, headers or {}, body))

    def send(self, request: Request) -> Response:
        if not request.long_poll:
            return self._exchange(self._client, request, None)
        held = _Held()
        with self._held_lock:
            if self._closed:
                raise Interrupted(f"{request.method} {request.path}: transport closed")
            self._held.add(held)
        try:
            return self._exchange(self._long_poll_client(), request, held)
        finally:
            with self._held_lock:
                self._held.discard(held)

    def interrupt(self, *, refuse_new: bool = False) -> None:
        """Abort every long-poll in flight: each raises `Interrupted` in its own thread. With
        `refuse_new` (a client that stops), long-polls sent later are refused the same way, so
        one that was about to be sent cannot slip past the interruption."""
        with self._held_lock:
            if refuse_new:
                self._closed = True
            held = list(self._held)
        for one in held:
            one.abort()

    def _long_poll_client(self) -> httpx.Client:
        if not self._own_io:
            return self._client
        with self._held_lock:
            if self._held_client is None:
                s = self.settings
                self._held_client = httpx.Client(
                    timeout=s.timeout(),
                    limits=httpx.Limits(
                        max_connections=s.max_connections, max_keepalive_connections=0
                    ),
                    follow_redirects=True,
                    max_redirects=10,
                )
            return self._held_client

    def _exchange(self, http: httpx.Client, request: Request, held: _Held | None) -> Response:
        method, path = request.method, request.path
        extensions = {"trace": held.trace} if held is not None else None
        last: Response | Exception | None = None
        for endpoint in self.selector.attempts(self.settings.max_attempts):
            if held is not None and held.aborted:
                raise Interrupted(f"{method} {path}: interrupted")
            try:
                reply = http.request(**self._build(endpoint, request, extensions))
            except httpx.HTTPError as exc:
                if held is not None and held.aborted:
                    raise Interrupted(f"{method} {path}: interrupted") from None
                self._failed(endpoint, method, path, exc)
                last = exc
                continue
            response = _to_response(reply)
            if self._judge(endpoint, method, path, response):
                return response
            last = response
        raise _exhausted(method, path, last)

    def close(self) -> None:
        self.interrupt(refuse_new=True)
        self._client.close()
        if self._held_client is not None:
            self._held_client.close()


class HttpxAsyncTransport(_Base):
    """Async transport over `httpx.AsyncClient`, in the caller's event loop.

    A long-poll is stopped by cancelling the task that awaits it."""

    def __init__(
        self,
        service_urls: Sequence[str] | str,
        settings: TransportSettings | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        client: httpx.AsyncClient | None = None,
        httpx_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`client` replaces the whole httpx client; `httpx_transport` only its I/O layer."""
        super().__init__(service_urls, settings, clock, rng)
        s = self.settings
        self._client = client or httpx.AsyncClient(
            transport=httpx_transport,
            timeout=s.timeout(),
            limits=s.limits(),
            verify=s.verify,
            follow_redirects=True,  # Java's stack always has its Redirecting layer (10 hops)
            max_redirects=10,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        return await self.send(Request(method, path, params or {}, headers or {}, body))

    async def send(self, request: Request) -> Response:
        method, path = request.method, request.path
        last: Response | Exception | None = None
        for endpoint in self.selector.attempts(self.settings.max_attempts):
            try:
                reply = await self._client.request(**self._build(endpoint, request))
            except httpx.HTTPError as exc:
                self._failed(endpoint, method, path, exc)
                last = exc
                continue
            response = _to_response(reply)
            if self._judge(endpoint, method, path, response):
                return response
            last = response
        raise _exhausted(method, path, last)

    async def aclose(self) -> None:
        await self._client.aclose()


def _exhausted(method: str, path: str, last: Response | Exception | None) -> TransportError:
    if last is None:
        return TransportError(f"{method} {path}: no eureka server available")
    if isinstance(last, Response):
        return TransportError(f"{method} {path}: giving up after status {last.status}")
    return TransportError(f"{method} {path}: giving up after {type(last).__name__}: {last}")

"""The client's only I/O seam: `SyncTransport` / `AsyncTransport`, and their httpx implementations.

A transport takes a path relative to the service URL (`apps/`, `apps/delta`, `apps/APP/id`) and
returns a `Response` with lower-case header names and a decompressed body, or raises
`TransportError` when no server gave an acceptable answer. Tests replace it with an in-memory fake.

The httpx transports add what Java's transport stack does (§10.8, §2.4): JSON + gzip accepted,
identity headers, basic auth from `http://user:pass@host/eureka` URLs, connect/read timeouts
(5 s / 8 s), up to 3 attempts per call on successive servers with quarantine, a pinned server and
session expiry, and the legacy status evaluator deciding which replies are final (§2.5).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import quote

import httpx

import eureka
from eureka.client.endpoints import (
    EndpointSelector,
    ServiceEndpoint,
    legacy_accepts,
    parse_service_url,
)
from eureka.client.messages import Request, Response, TransportError
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

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
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

    def _build(  # noqa: PLR0917 - mirrors request()'s parameters one to one
        self,
        endpoint: ServiceEndpoint,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
    ) -> dict[str, object]:
        merged = dict(self.headers)
        if headers:
            merged.update(headers)
        return {
            "method": method,
            "url": endpoint.url + quote(path, safe=_PATH_SAFE),
            "params": dict(params) if params else None,
            "headers": merged,
            "content": body,
            "auth": endpoint.auth,
        }

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
            follow_redirects=True,  # Java's stack always has its Redirecting layer (10 hops)
            max_redirects=10,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        last: Response | Exception | None = None
        for endpoint in self.selector.attempts(self.settings.max_attempts):
            try:
                reply = self._client.request(
                    **self._build(endpoint, method, path, params, headers, body)  # type: ignore[arg-type]
                )
            except httpx.HTTPError as exc:
                self._failed(endpoint, method, path, exc)
                last = exc
                continue
            response = _to_response(reply)
            if self._judge(endpoint, method, path, response):
                return response
            last = response
        raise _exhausted(method, path, last)

    def send(self, request: Request) -> Response:
        return self.request(
            request.method,
            request.path,
            params=request.params,
            headers=request.headers,
            body=request.body,
        )

    def close(self) -> None:
        self._client.close()


class HttpxAsyncTransport(_Base):
    """Async transport over `httpx.AsyncClient`, in the caller's event loop."""

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
        last: Response | Exception | None = None
        for endpoint in self.selector.attempts(self.settings.max_attempts):
            try:
                reply = await self._client.request(
                    **self._build(endpoint, method, path, params, headers, body)  # type: ignore[arg-type]
                )
            except httpx.HTTPError as exc:
                self._failed(endpoint, method, path, exc)
                last = exc
                continue
            response = _to_response(reply)
            if self._judge(endpoint, method, path, response):
                return response
            last = response
        raise _exhausted(method, path, last)

    async def send(self, request: Request) -> Response:
        return await self.request(
            request.method,
            request.path,
            params=request.params,
            headers=request.headers,
            body=request.body,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def _exhausted(method: str, path: str, last: Response | Exception | None) -> TransportError:
    if last is None:
        return TransportError(f"{method} {path}: no eureka server available")
    if isinstance(last, Response):
        return TransportError(f"{method} {path}: giving up after status {last.status}")
    return TransportError(f"{method} {path}: giving up after {type(last).__name__}: {last}")

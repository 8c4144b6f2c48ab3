"""httpx transports that resolve `http://ORDER-SERVICE/path` through the discovery client.

    eureka = DiscoveryClient(config); eureka.start()
    http = httpx.Client(transport=EurekaTransport(eureka))
    http.get("http://order-service/orders/42")   # → an UP instance of ORDER-SERVICE

The host is looked up as a VIP first, then as an application name (both case-insensitively);
instances are taken round robin (the client's `getNextServerFromEureka` cursor), and a connection
failure moves on to another instance without advancing that cursor — otherwise, with two
instances, every retry would skip the live one's turn and a dead instance would be tried first by
every following request instead of every other one. Hosts the registry has never heard of go out
unchanged, so the same `httpx.Client` can still call ordinary URLs; when such a request cannot
connect and its host looks like a service name (one label: `order-service`), it fails with
`NotRegistered`, saying the service is not registered in Eureka yet, instead of a bare DNS error.

A client that watches only a subset of the registry (`eureka.client.watch.applications` or
`watch.subset`) has not seen every service; before a host goes out unchanged, the transport asks
the client to `watch_application(host)`: the client fetches that application if the server has
one, watches it from then on, and the request goes to one of its instances. A name the server does
not know is not asked for again until `registry-fetch-interval-seconds` later.
"""

from __future__ import annotations

import inspect
import ipaddress
import logging
from typing import Any, Protocol

import httpx

from eureka.client.errors import NoInstanceAvailable
from eureka.model import Application, InstanceInfo

__all__ = ["AsyncEurekaTransport", "EurekaTransport", "InstanceSource", "NotRegistered"]

log = logging.getLogger("eureka.client.httpx")

_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout)


class InstanceSource(Protocol):
    """What the transports need from a discovery client (both façades provide it)."""

    def next_instance(self, name: str) -> InstanceInfo: ...

    def get_application(self, name: str) -> Application | None: ...

    def get_instances(self, app_name: str) -> list[InstanceInfo]: ...

    def get_instances_by_vip(
        self, vip: str, secure: bool = False, *, region: str | None = None
    ) -> list[InstanceInfo]: ...


class _Resolver:
    def __init__(self, source: InstanceSource, max_attempts: int, prefer_ip: bool) -> None:
        self.source = source
        self.max_attempts = max_attempts
        self.prefer_ip = prefer_ip

    def known(self, name: str) -> bool:
        return self.source.get_application(name) is not None or bool(
            self.source.get_instances_by_vip(name)
        )

    def subscriber(self, name: str) -> Any:
        """The source's `watch_application` when `name` may be an application it has not seen
        (not an IP address or localhost), else None."""
        if name == "localhost" or _is_ip(name):
            return None
        return getattr(self.source, "watch_application", None)

    def pick(self, name: str) -> InstanceInfo:
        """The request's first instance: the next one round robin; raises NoInstanceAvailable."""
        return self.source.next_instance(name)

    def retry(self, name: str, tried: set[str]) -> InstanceInfo:
        """Another instance for a retry, leaving the round-robin cursor to first attempts."""
        candidates = self.source.get_instances_by_vip(name) or self.source.get_instances(name)
        for candidate in candidates:
            if candidate.id not in tried:
                return candidate
        raise NoInstanceAvailable(f"every instance of {name} failed")

    def rewrite(self, request: httpx.Request, instance: InstanceInfo) -> None:
        secure = request.url.scheme == "https"
        host = (instance.ip_addr if self.prefer_ip else instance.host_name) or instance.ip_addr
        port = instance.secure_port if secure else instance.port
        request.url = request.url.copy_with(host=host, port=port)
        request.headers["Host"] = f"{host}:{port}"


class EurekaTransport(httpx.BaseTransport):
    """A sync httpx transport over a `DiscoveryClient` (or anything with its query methods)."""

    def __init__(
        self,
        source: InstanceSource,
        transport: httpx.BaseTransport | None = None,
        *,
        max_attempts: int = 3,
        prefer_ip: bool = False,
    ) -> None:
        self._resolver = _Resolver(source, max_attempts, prefer_ip)
        self._inner = transport or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host
        resolver = self._resolver
        try:
            instance = resolver.pick(name)
        except NoInstanceAvailable:
            if not resolver.known(name) and not self._subscribe(name):
                try:
                    return self._inner.handle_request(request)  # not a service name
                except httpx.ConnectError as exc:
                    raise _not_registered(name, request, exc) from None
            try:
                instance = resolver.pick(name)
            except NoInstanceAvailable:
                raise httpx.ConnectError(f"no UP instance of {name}", request=request) from None
        request.read()  # the body must be replayable on another instance
        tried: set[str] = set()
        while True:
            tried.add(instance.id)
            resolver.rewrite(request, instance)
            try:
                return self._inner.handle_request(request)
            except _RETRYABLE as exc:
                log.warning("%s: instance %s unreachable: %s", name, instance.id, exc)
                if len(tried) >= resolver.max_attempts:
                    raise
                try:
                    instance = resolver.retry(name, tried)
                except NoInstanceAvailable:
                    raise exc from None

    def _subscribe(self, name: str) -> bool:
        subscribe = self._resolver.subscriber(name)
        return bool(subscribe(name)) if subscribe is not None else False

    def close(self) -> None:
        self._inner.close()


class AsyncEurekaTransport(httpx.AsyncBaseTransport):
    """The async flavour, over an `AsyncDiscoveryClient`."""

    def __init__(
        self,
        source: InstanceSource,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        max_attempts: int = 3,
        prefer_ip: bool = False,
    ) -> None:
        self._resolver = _Resolver(source, max_attempts, prefer_ip)
        self._inner = transport or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.host
        resolver = self._resolver
        try:
            instance = resolver.pick(name)
        except NoInstanceAvailable:
            if not resolver.known(name) and not await self._subscribe(name):
                try:
                    return await self._inner.handle_async_request(request)
                except httpx.ConnectError as exc:
                    raise _not_registered(name, request, exc) from None
            try:
                instance = resolver.pick(name)
            except NoInstanceAvailable:
                raise httpx.ConnectError(f"no UP instance of {name}", request=request) from None
        await request.aread()
        tried: set[str] = set()
        while True:
            tried.add(instance.id)
            resolver.rewrite(request, instance)
            try:
                return await self._inner.handle_async_request(request)
            except _RETRYABLE as exc:
                log.warning("%s: instance %s unreachable: %s", name, instance.id, exc)
                if len(tried) >= resolver.max_attempts:
                    raise
                try:
                    instance = resolver.retry(name, tried)
                except NoInstanceAvailable:
                    raise exc from None

    async def _subscribe(self, name: str) -> bool:
        subscribe = self._resolver.subscriber(name)
        if subscribe is None:
            return False
        known = subscribe(name)
        if inspect.isawaitable(known):
            known = await known
        return bool(known)

    async def aclose(self) -> None:
        await self._inner.aclose()


class NotRegistered(httpx.ConnectError):
    """A service-like name (one label, such as `order-service`) that the registry does not list
    and that does not answer as a host name either: usually a service that has not registered
    yet, or whose registration the client has not fetched yet."""


def _not_registered(name: str, request: httpx.Request, exc: httpx.ConnectError) -> Exception:
    # Raised `from None`: the connection error's text is in the message, and a traceback
    # that ends in "Name or service not known" is the confusion this error exists to avoid.
    if "." in name or name == "localhost" or _is_ip(name):
        return exc  # an ordinary host that failed: its own error says it best
    return NotRegistered(
        f"{name} is not registered in Eureka yet (not in the fetched registry), and "
        f"connecting to it as a host name failed: {exc}",
        request=request,
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True

"""How the operator commands reach a Eureka server: the client's transport, not a registry.

`HttpxSyncTransport` already does what an operator needs — service URLs with credentials
(`http://user:pass@host/eureka/` becomes basic auth), several servers tried in turn, JSON and
gzip. Only its verdict on replies differs: the discovery client treats a 404 on a read as "try
another server" (Java's legacy evaluator), while for an operator any answer below 500 is the
answer. A 403 (a node still copying its peers' registries) and 5xx still move on to the next
server, as they would for a client.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from eureka.cli.root import OpsError
from eureka.client.endpoints import ServiceEndpoint, parse_service_url
from eureka.client.messages import Response, TransportError
from eureka.client.transport import HttpxSyncTransport, TransportSettings

__all__ = ["DEFAULT_URL", "Remote", "server_urls"]

DEFAULT_URL = "http://127.0.0.1:8761/eureka/"
# Spring's own variable for "where is Eureka": a shell set up for a service talks to its servers.
URL_VARIABLE = "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE"


def server_urls(given: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The --server values (repeatable, or comma-separated), else $URL_VARIABLE, else local."""
    environ = os.environ if environ is None else environ
    urls = [u.strip() for item in given for u in item.split(",") if u.strip()]
    if not urls:
        urls = [u.strip() for u in environ.get(URL_VARIABLE, "").split(",") if u.strip()]
    urls = urls or [DEFAULT_URL]
    for url in urls:
        parse_service_url(url)  # BadInput: one line naming the URL
    return urls


class _OperatorTransport(HttpxSyncTransport):
    def _judge(self, endpoint: ServiceEndpoint, method: str, path: str, reply: Response) -> bool:
        if reply.status < 500 and reply.status != 403:
            self.selector.succeeded(endpoint)
            return True
        return super()._judge(endpoint, method, path, reply)


class Remote:
    """One operator session against one or more servers (`close()` when done)."""

    def __init__(self, urls: Sequence[str], *, read_timeout_s: float = 10.0) -> None:
        self.urls = list(urls)
        self._transport = _OperatorTransport(
            self.urls,
            TransportSettings(
                connect_timeout=3.0, read_timeout=read_timeout_s, max_attempts=len(self.urls)
            ),
        )

    @property
    def server(self) -> str:
        """The server that answered last (without credentials)."""
        pinned = self._transport.selector.pinned
        return pinned.url if pinned is not None else ", ".join(self.urls)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        try:
            return self._transport.request(method, path, params=params, headers=headers, body=body)
        except TransportError as exc:
            where = ", ".join(str(parse_service_url(u)) for u in self.urls)
            raise OpsError(f"no answer from {where}: {_reason(exc)}") from None

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(exc: TransportError) -> str:
    # "GET apps/: giving up after ConnectError: [Errno 111] Connection refused" → the cause.
    text = str(exc)
    return text.split("giving up after ", 1)[-1]

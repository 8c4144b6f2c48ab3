"""The fuzzers' invariant: no 5xx, and a 4xx leaves the registry byte-identical."""

from __future__ import annotations

from collections import Counter

import httpx

from eureka.server.http import Parked, Request, Response
from eureka.server.node import Node
from tests.fuzz.strategies import FuzzRequest

FULL_JSON = {"accept": "application/json"}
FULL_XML = {"accept": "application/xml"}


class InProcessProbe:
    """Sends requests to `EurekaApp.handle` and checks every answer against the invariant."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.statuses: Counter[int] = Counter()
        # Whether the last request reached a handler (not the router's own 404/405).
        self.last_routed = False
        self._last = self.snapshot()

    def _get(self, headers: dict[str, str]) -> bytes:
        reply = self.node.app.handle(Request("GET", "/eureka/apps", "", dict(headers)))
        assert isinstance(reply, Response) and reply.status == 200
        return reply.body

    def snapshot(self) -> tuple[object, ...]:
        registry = self.node.registry
        return (registry.revision, registry.digest, self._get(FULL_JSON), self._get(FULL_XML))

    def send(self, request: FuzzRequest) -> int:
        result = self.node.app.handle(
            Request(
                request.method, request.path, request.query, dict(request.headers), request.body
            )
        )
        if isinstance(result, Response):
            status = result.status
            self.last_routed = result.body not in (b"not found", b"method not allowed")
        else:  # a held request (watch): not what this fuzzer is about; let it go
            assert isinstance(result, Parked)
            result.cancel()
            status = 0
        self.statuses[status] += 1
        assert status < 500, (status, request, getattr(result, "body", b"")[:300])
        after = self.snapshot()
        if 400 <= status < 500:
            assert after == self._last, ("a 4xx changed the registry", status, request)
        self._last = after
        return status

    @property
    def count(self) -> int:
        return sum(self.statuses.values())


# httpx's own limit on a URL's length.
MAX_URL = 65_536


class HttpProbe:
    """The same invariant over HTTP against a real server process."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.unsendable = 0
        self.statuses: Counter[int] = Counter()
        self._last = self.snapshot()

    def snapshot(self) -> tuple[object, ...]:
        full = self.client.get("/eureka/apps", headers=FULL_JSON)
        xml = self.client.get("/eureka/apps", headers=FULL_XML)
        assert full.status_code == 200 and xml.status_code == 200
        return (
            full.headers.get("x-eureka-revision"),
            full.headers.get("x-eureka-digest"),
            full.content,
            xml.content,
        )

    def send(self, request: FuzzRequest) -> int:
        target = request.path + ("?" + request.query if request.query else "")
        if len(target) > MAX_URL:
            # httpx refuses to send such a URL at all; the in-process fuzzer covers it.
            self.unsendable += 1
            return 0
        built = self.client.build_request(
            request.method, target, headers=request.headers, content=request.body or None
        )
        reply = self.client.send(built)
        status = reply.status_code
        self.statuses[status] += 1
        assert status < 500, (status, request, reply.content[:300])
        after = self.snapshot()
        if 400 <= status < 500:
            assert after == self._last, ("a 4xx changed the registry", status, request)
        self._last = after
        return status

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

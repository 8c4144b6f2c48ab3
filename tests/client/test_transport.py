"""Transport stack: server choice, retries, quarantine, status evaluator, headers (§10.8, §2.4-5).

The httpx transports are exercised through `httpx.MockTransport`, so the real request building,
gzip decoding and auth handling of httpx run without a socket.
"""

from __future__ import annotations

import gzip
import random

import httpx
import pytest

from eureka.client.endpoints import (
    EndpointSelector,
    RequestType,
    ServiceEndpoint,
    classify,
    legacy_accepts,
    parse_service_url,
)
from eureka.client.messages import TransportError
from eureka.client.transport import HttpxAsyncTransport, HttpxSyncTransport, TransportSettings
from eureka.clock import ManualClock
from eureka.errors import BadInput

A, B, C = "http://a:8761/eureka/", "http://b:8761/eureka/", "http://c:8761/eureka/"


# ---- pure parts ---------------------------------------------------------------------------------


def test_service_url_credentials_are_split_off() -> None:
    endpoint = parse_service_url("http://user:p%40ss@host:8761/eureka")
    assert endpoint == ServiceEndpoint("http://host:8761/eureka/", ("user", "p@ss"))
    assert parse_service_url("https://host/eureka/v2/").auth is None
    with pytest.raises(BadInput):
        parse_service_url("ftp://host/")
    with pytest.raises(BadInput):
        parse_service_url("not a url")


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "apps/APP", RequestType.REGISTER),
        ("PUT", "apps/APP/id:1", RequestType.HEARTBEAT),
        ("DELETE", "apps/APP/id:1", RequestType.CANCEL),
        ("GET", "apps/delta", RequestType.GET_DELTA),
        ("GET", "apps/", RequestType.OTHER),
        ("PUT", "apps/APP/id/status", RequestType.OTHER),
    ],
)
def test_request_classification(method: str, path: str, kind: str) -> None:
    assert classify(method, path) == kind


@pytest.mark.parametrize(
    ("method", "path", "status", "accepted"),
    [
        ("GET", "apps/", 200, True),
        ("GET", "apps/", 302, True),
        ("GET", "apps/", 403, False),  # full fetch: try another server
        ("GET", "apps/", 503, False),
        ("GET", "apps/delta", 403, True),
        ("GET", "apps/delta", 404, True),
        ("GET", "apps/delta", 500, False),
        ("POST", "apps/APP", 204, True),
        ("POST", "apps/APP", 404, True),
        ("POST", "apps/APP", 500, False),
        ("PUT", "apps/APP/id", 404, True),
        ("PUT", "apps/APP/id", 409, False),
        ("DELETE", "apps/APP/id", 500, True),  # cancel is best effort
    ],
)
def test_legacy_status_evaluator(method: str, path: str, status: int, accepted: bool) -> None:
    assert legacy_accepts(method, path, status) is accepted


def _selector(*urls: str, clock: ManualClock | None = None) -> EndpointSelector:
    return EndpointSelector(
        [parse_service_url(u) for u in urls], clock=clock or ManualClock(), rng=random.Random(0)
    )


def test_quarantine_skips_failed_servers_until_it_covers_too_many() -> None:
    selector = _selector(A, B, C, "http://d/eureka/")  # threshold int(4 × 0.66) = 2
    a, b, c, d = selector.endpoints
    selector.failed(a)
    assert selector.candidates() == [b, c, d]
    selector.failed(b)
    assert selector.candidates() == [a, b, c, d]  # quarantine reached the threshold: cleared
    assert selector.quarantined == frozenset()


def test_success_pins_the_server_and_clears_the_quarantine() -> None:
    selector = _selector(A, B, C, "http://d/eureka/")
    a, b, _, _ = selector.endpoints
    selector.failed(a)
    selector.succeeded(b)
    assert selector.pinned == b and selector.quarantined == frozenset()
    assert list(selector.attempts(1)) == [b]


def test_session_expiry_drops_the_pinned_server() -> None:
    clock = ManualClock()
    selector = _selector(A, B, clock=clock)
    a, b = selector.endpoints
    selector.succeeded(b)
    clock.advance(1200 * 1.5 + 1)
    assert next(selector.attempts(1)) == a


# ---- httpx transports ---------------------------------------------------------------------------


class Recorder:
    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers  # host → status, httpx.Response or exception
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer = self.answers.get(request.url.host, 200)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        assert isinstance(answer, int)
        return httpx.Response(answer)


def sync_transport(urls: list[str], recorder: Recorder, **settings: object) -> HttpxSyncTransport:
    return HttpxSyncTransport(
        urls,
        TransportSettings(**settings),  # type: ignore[arg-type]
        clock=ManualClock(),
        rng=random.Random(0),
        httpx_transport=httpx.MockTransport(recorder),
    )


def test_requests_carry_java_client_headers_and_basic_auth() -> None:
    recorder = Recorder({})
    transport = sync_transport(
        ["http://me:secret@a:8761/eureka"], recorder, identity_id="10.1.1.1", compact=True
    )
    transport.request("GET", "apps/delta", params={"regions": "us-west-2"})
    sent = recorder.seen[0]
    assert str(sent.url) == "http://a:8761/eureka/apps/delta?regions=us-west-2"
    assert sent.headers["accept"] == "application/json"
    assert "gzip" in sent.headers["accept-encoding"]
    assert sent.headers["discoveryidentity-name"] == "DefaultClient"
    assert sent.headers["discoveryidentity-version"] == "1.4"
    assert sent.headers["discoveryidentity-id"] == "10.1.1.1"
    assert sent.headers["x-eureka-accept"] == "compact"
    assert sent.headers["authorization"] == httpx.BasicAuth("me", "secret")._auth_header


def test_instance_ids_keep_their_colons_in_the_path() -> None:
    recorder = Recorder({})
    transport = sync_transport([A], recorder)
    transport.request("PUT", "apps/APP/10.0.0.1:app:8080", params={"status": "UP"})
    transport.request("PUT", "apps/APP/with space")
    assert recorder.seen[0].url.raw_path == b"/eureka/apps/APP/10.0.0.1:app:8080?status=UP"
    assert recorder.seen[1].url.raw_path == b"/eureka/apps/APP/with%20space"


def test_gzip_bodies_are_decompressed() -> None:
    payload = b'{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}'
    reply = httpx.Response(
        200,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        content=gzip.compress(payload),
    )
    transport = sync_transport([A], Recorder({"a": reply}))
    response = transport.request("GET", "apps/")
    assert response.body == payload
    assert response.headers["content-type"] == "application/json"


def test_rejected_reply_is_retried_on_the_next_server() -> None:
    recorder = Recorder({"a": 503, "b": 200})
    transport = sync_transport([A, B, C], recorder)
    assert transport.request("GET", "apps/").status == 200
    assert [r.url.host for r in recorder.seen] == ["a", "b"]
    # The server that answered is kept for the next call.
    transport.request("GET", "apps/delta")
    assert recorder.seen[-1].url.host == "b"


def test_connection_errors_are_retried_and_exhaustion_raises() -> None:
    refused = httpx.ConnectError("refused")
    recorder = Recorder({"a": refused, "b": refused, "c": refused})
    transport = sync_transport([A, B, C, "http://d/eureka/"], recorder)
    with pytest.raises(TransportError):
        transport.request("GET", "apps/")
    assert len(recorder.seen) == 3  # at most 3 attempts per call


def test_final_replies_are_not_retried() -> None:
    recorder = Recorder({"a": 404})
    transport = sync_transport([A, B], recorder)
    assert transport.request("PUT", "apps/APP/id").status == 404  # heartbeat: re-register
    assert transport.request("GET", "apps/delta").status == 404
    recorder.answers["a"] = 500
    assert transport.request("DELETE", "apps/APP/id").status == 500  # cancel: best effort
    assert [r.url.host for r in recorder.seen] == ["a", "a", "a"]


def test_full_fetch_403_goes_to_the_next_server_then_fails() -> None:
    recorder = Recorder({"a": 403, "b": 403})
    transport = sync_transport([A, B], recorder)
    with pytest.raises(TransportError, match="403"):
        transport.request("GET", "apps/")


def test_default_timeouts_are_five_and_eight_seconds() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    transport = HttpxSyncTransport(
        [A], clock=ManualClock(), httpx_transport=httpx.MockTransport(handler)
    )
    transport.request("GET", "apps/")
    timeout = seen[0].extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (5.0, 8.0)


async def test_async_transport_retries_the_same_way() -> None:
    recorder = Recorder({"a": httpx.ConnectError("refused"), "b": 204})
    transport = HttpxAsyncTransport(
        [A, B],
        clock=ManualClock(),
        rng=random.Random(0),
        httpx_transport=httpx.MockTransport(recorder),
    )
    response = await transport.request("POST", "apps/APP", body=b"{}")
    assert response.status == 204
    assert [r.url.host for r in recorder.seen] == ["a", "b"]
    assert recorder.seen[-1].headers["discoveryidentity-name"] == "DefaultClient"
    await transport.aclose()


def test_redirects_are_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "a":
            return httpx.Response(302, headers={"Location": "http://b:8761/eureka/apps/"})
        return httpx.Response(200, content=b"moved")

    transport = HttpxSyncTransport(
        [A],
        clock=ManualClock(),
        httpx_transport=httpx.MockTransport(handler),
    )
    assert transport.request("GET", "apps/").body == b"moved"

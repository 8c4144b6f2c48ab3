"""HTTP/1.1 conformance of the native layer (server/native_http.py) on a real server process.

The client side is h11 — an independent HTTP/1.1 implementation — over plain sockets, so every
byte the server sends is checked by someone else's parser: keep-alive and pipelining (also
behind a held watch), chunked, gzip and `Expect: 100-continue` request bodies, HEAD, the
request-line / header / body limits (414 / 431 / 413), header and idle timeouts, half-closed
connections, HTTP/1.0, malformed requests, a client leaving while its watch is held, and TLS.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import h11
import httpx
import pytest

from tests.conftest import FIXTURES
from tests.integration.server_process import FAST_SETTINGS, ServerProcess, wait_for

pytestmark = [pytest.mark.integration]

NATIVE = {
    **FAST_SETTINGS,
    "eureka.server.http-layer": "native",
    "eureka.server.max-body-bytes": "65536",
    "eureka.server.header-timeout-ms": "700",
    "eureka.server.keep-alive-timeout-ms": "1500",
}
JSON = [("Accept", "application/json")]


def _registration(instance_id: str) -> bytes:
    body = json.loads((FIXTURES / "register-instance-springcloud-jersey.json").read_text())
    body["instance"]["instanceId"] = instance_id
    body["instance"]["app"] = "CONFORM"
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def node() -> Iterator[ServerProcess]:
    with ServerProcess(settings=NATIVE) as proc:
        yield proc


class _Client:
    """h11 over one socket."""

    def __init__(self, port: int, sock: socket.socket | None = None) -> None:
        self.sock = sock or socket.create_connection(("127.0.0.1", port), timeout=5)
        self.conn = h11.Connection(h11.CLIENT)

    def send(self, *events: h11.Event) -> None:
        for event in events:
            data = self.conn.send(event)
            if data:
                self.sock.sendall(data)

    def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
    ) -> None:
        all_headers = [("Host", "127.0.0.1"), *(headers or [])]
        if body is not None and not any(k.lower() == "transfer-encoding" for k, _ in all_headers):
            all_headers.append(("Content-Length", str(len(body))))
        self.send(h11.Request(method=method, target=target, headers=all_headers))
        if body:
            self.send(h11.Data(data=body))
        self.send(h11.EndOfMessage())

    def next_event(self) -> h11.Event:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(self.sock.recv(65536))
                continue
            return event  # type: ignore[return-value]

    def response(self) -> tuple[h11.Response | h11.InformationalResponse, bytes]:
        head = self.next_event()
        assert isinstance(head, (h11.Response, h11.InformationalResponse)), head
        if isinstance(head, h11.InformationalResponse):
            return head, b""
        body = b""
        while not isinstance(event := self.next_event(), h11.EndOfMessage):
            assert isinstance(event, h11.Data), event
            body += event.data
        return head, body

    def sent_raw(self, method: str, target: str) -> None:
        """The test wrote this request's bytes itself (pipelining, which h11's client does
        not do): bring h11's state along, so that it parses the answer."""
        self.conn.send(h11.Request(method=method, target=target, headers=[("Host", "x")]))
        self.conn.send(h11.EndOfMessage())

    def ready_for_next(self) -> None:
        self.conn.start_next_cycle()

    def close(self) -> None:
        self.sock.close()


def _headers(response: h11.Response | h11.InformationalResponse) -> dict[str, str]:
    return {k.decode().lower(): v.decode() for k, v in response.headers}


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        while chunk := sock.recv(65536):
            del chunk
        return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_keep_alive_serves_several_requests_on_one_connection(node: ServerProcess) -> None:
    client = _Client(node.port)
    for _ in range(3):
        client.request("GET", "/eureka/apps", JSON)
        head, body = client.response()
        assert head.status_code == 200 and body.startswith(b'{"applications"')
        assert "date" in _headers(head)
        client.ready_for_next()
    client.close()


def test_pipelined_requests_are_answered_in_order(node: ServerProcess) -> None:
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    first = b"GET /eureka/apps HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n"
    second = b"GET /eureka/status HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n"
    sock.sendall(first + second)
    client = _Client(node.port, sock)
    client.sent_raw("GET", "/eureka/apps")
    _, body = client.response()
    assert body.startswith(b'{"applications"')
    client.ready_for_next()
    client.sent_raw("GET", "/eureka/status")
    _, body = client.response()
    assert b'"registry"' in body
    client.close()


def test_a_request_pipelined_behind_a_held_watch_waits_for_it(node: ServerProcess) -> None:
    apps = httpx.get(f"{node.base}/eureka/apps", headers=dict(JSON))
    epoch, revision = apps.headers["x-eureka-epoch"], apps.headers["x-eureka-revision"]
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    watch = (
        f"GET /eureka/apps/delta?since={revision}&wait=30 HTTP/1.1\r\nHost: x\r\n"
        f"Accept: application/json\r\nX-Eureka-Epoch: {epoch}\r\n\r\n"
    ).encode()
    status = b"GET /eureka/status HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n"
    sock.sendall(watch + status)
    time.sleep(0.3)
    sock.settimeout(0.2)
    with pytest.raises((TimeoutError, socket.timeout)):
        sock.recv(1)  # nothing yet: the watch is held, and the status answer waits behind it
    sock.settimeout(5)
    client = _Client(node.port, sock)
    client.sent_raw("GET", "/eureka/apps/delta")
    assert httpx.post(
        f"{node.base}/eureka/apps/CONFORM",
        content=_registration("held-1"),
        headers={"Content-Type": "application/json"},
    ).is_success
    head, body = client.response()
    assert head.status_code == 200 and b"held-1" in body
    client.ready_for_next()
    client.sent_raw("GET", "/eureka/status")
    head, body = client.response()
    assert head.status_code == 200 and b'"registry"' in body
    client.close()


def test_chunked_gzip_and_100_continue_bodies_register(node: ServerProcess) -> None:
    client = _Client(node.port)
    headers = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    client.request("POST", "/eureka/apps/CONFORM", headers, _registration("chunked-1"))
    assert client.response()[0].status_code == 204
    client.ready_for_next()
    zipped = gzip.compress(_registration("gzip-1"))
    headers = [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
    client.request("POST", "/eureka/apps/CONFORM", headers, zipped)
    assert client.response()[0].status_code == 204
    client.ready_for_next()
    body = _registration("continue-1")
    client.send(
        h11.Request(
            method="POST",
            target="/eureka/apps/CONFORM",
            headers=[
                ("Host", "x"),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Expect", "100-continue"),
            ],
        )
    )
    interim, _ = client.response()
    assert interim.status_code == 100  # before the body was sent
    client.send(h11.Data(data=body), h11.EndOfMessage())
    assert client.response()[0].status_code == 204
    client.close()
    ids = httpx.get(f"{node.base}/eureka/apps/CONFORM", headers=dict(JSON)).text
    assert all(i in ids for i in ("chunked-1", "gzip-1", "continue-1"))


def test_head_answers_the_headers_without_the_body(node: ServerProcess) -> None:
    client = _Client(node.port)
    client.request("GET", "/eureka/apps", JSON)
    get_head, get_body = client.response()
    client.ready_for_next()
    client.request("HEAD", "/eureka/apps", JSON)
    head, body = client.response()
    assert head.status_code == 200 and body == b""
    assert _headers(head)["content-length"] == str(len(get_body))
    assert _headers(head)["content-type"] == _headers(get_head)["content-type"]
    client.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /eureka/apps?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /eureka/apps HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (
            b"GET /eureka/apps HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-H%d: v\r\n" % n for n in range(101))
            + b"\r\n",
            431,
        ),
        (
            b"POST /eureka/apps/CONFORM HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n",
            413,
        ),
        (
            b"POST /eureka/apps/CONFORM HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + (b"4000\r\n" + b"a" * 0x4000 + b"\r\n") * 5,
            413,
        ),
        (b"GARBAGE\r\n\r\n", 400),
    ],
    ids=["url-414", "header-bytes-431", "header-count-431", "declared-413", "chunked-413", "400"],
)
def test_limits_and_malformed_requests_are_refused_and_the_connection_closed(
    node: ServerProcess, request_bytes: bytes, status: int
) -> None:
    revision = httpx.get(f"{node.base}/eureka/apps").headers["x-eureka-revision"]
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(request_bytes)  # may be refused before all is sent
    client = _Client(node.port, sock)
    client.sent_raw("GET", "/")
    head, _ = client.response()
    assert head.status_code == status
    assert _headers(head).get("connection") == "close"
    assert _closed_by_server(sock, 2)
    assert httpx.get(f"{node.base}/eureka/apps").headers["x-eureka-revision"] == revision


def test_a_request_that_trickles_in_is_cut_off_and_an_idle_connection_closed(
    node: ServerProcess,
) -> None:
    slow = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    started = time.monotonic()
    closed = False
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for byte in b"GET /eureka/apps HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaa":
            slow.sendall(bytes([byte]))  # a byte every 0.1 s: each one keeps nothing alive
            if _closed_by_server(slow, 0.1):
                closed = True
                break
    assert closed or _closed_by_server(slow, 2)
    assert 0.5 < time.monotonic() - started < 2.0  # header timeout 0.7 s from the first byte
    idle = _Client(node.port)
    idle.request("GET", "/eureka/apps", JSON)
    assert idle.response()[0].status_code == 200
    started = time.monotonic()
    assert _closed_by_server(idle.sock, 4)
    assert 1.2 < time.monotonic() - started < 3.5  # keep-alive timeout 1.5 s


def test_a_half_closed_client_gets_its_answer_then_the_close(node: ServerProcess) -> None:
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    sock.sendall(b"GET /eureka/apps HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n")
    sock.shutdown(socket.SHUT_WR)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b'{"applications"' in data
    sock.close()


def test_http_1_0_gets_one_answer_and_the_close(node: ServerProcess) -> None:
    sock = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    sock.sendall(b"GET /eureka/apps HTTP/1.0\r\nAccept: application/json\r\n\r\n")
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    assert b" 200 " in head.split(b"\r\n")[0] and b"connection: close" in head
    sock.close()


def test_a_client_that_leaves_while_held_is_released(node: ServerProcess) -> None:
    apps = httpx.get(f"{node.base}/eureka/apps", headers=dict(JSON))
    epoch, revision = apps.headers["x-eureka-epoch"], apps.headers["x-eureka-revision"]

    def watchers() -> int:
        status = httpx.get(f"{node.base}/eureka/status", headers=dict(JSON)).json()
        return int(status["watch"]["watchers"])

    before = watchers()
    client = _Client(node.port)
    client.request(
        "GET", f"/eureka/apps/delta?since={revision}&wait=30", [*JSON, ("X-Eureka-Epoch", epoch)]
    )
    wait_for(lambda: watchers() == before + 1)
    client.close()
    wait_for(lambda: watchers() == before)


def test_tls_on_the_native_layer(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_path, key_path, ca_path = (tmp_path / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    settings = {
        **NATIVE,
        "server.ssl.certificate": str(cert_path),
        "server.ssl.certificate-private-key": str(key_path),
    }
    proc = ServerProcess(settings=settings)
    proc.start(wait=False)
    try:
        context = ssl.create_default_context(cafile=str(ca_path))
        url = f"https://127.0.0.1:{proc.port}/eureka/apps"

        def answers() -> bool:
            try:
                return httpx.get(url, verify=context, headers=dict(JSON)).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, timeout=20)
    finally:
        proc.stop()

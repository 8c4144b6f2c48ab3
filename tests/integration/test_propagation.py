"""Cursors, watches, digests and subsets on a real `eureka server` process, over real HTTP.

docs/design/propagation.md. The watcher is a raw socket speaking HTTP/1.1, not our client, so
what is tested is the wire: the held request, the change that wakes it, 304 on timeout, 410s.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest

from eureka.codec import json as json_codec
from eureka.digest import format_digest, per_app_digests
from tests.integration.server_process import (
    FAST_SETTINGS,
    ServerProcess,
    read_http_response,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("propagation")]

JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def _body(app: str, instance_id: str, status: str = "UP") -> bytes:
    return json.dumps(
        {
            "instance": {
                "instanceId": instance_id,
                "hostName": f"{instance_id}.example",
                "app": app,
                "ipAddr": "10.0.0.1",
                "status": status,
                "port": {"$": 8080, "@enabled": "true"},
                "dataCenterInfo": {
                    "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                    "name": "MyOwn",
                },
                "vipAddress": app.lower(),
                "metadata": {"zone": "a"},
            }
        }
    ).encode()


def _register(base: str, app: str, instance_id: str, status: str = "UP") -> None:
    response = httpx.post(
        f"{base}/eureka/apps/{app}", content=_body(app, instance_id, status), headers=JSON
    )
    assert response.status_code == 204, response.text


def _state(base: str) -> tuple[str, int]:
    response = httpx.get(f"{base}/eureka/apps", headers=JSON)
    return response.headers["x-eureka-epoch"], int(response.headers["x-eureka-revision"])


class RawWatcher:
    """One long-poll over a plain socket: send the request, later read the whole answer."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def read(self, timeout: float) -> tuple[int, dict[str, str], bytes, float]:
        """(status, headers, body, seconds until the first byte arrived)."""
        self.sock.settimeout(timeout)
        started = time.monotonic()
        data = self.sock.recv(65536)
        first_byte = time.monotonic() - started
        status, headers, body = read_http_response(self.sock, data)
        return status, headers, body, first_byte

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def node() -> ServerProcess:
    settings = dict(FAST_SETTINGS)
    settings["eureka.server.watch-min-interval-ms"] = "0"
    with ServerProcess(settings=settings) as proc:
        yield proc


def test_a_raw_watcher_sees_a_registration_well_under_a_second(node: ServerProcess) -> None:
    _register(node.base, "PROP-A", "pa-1")
    epoch, revision = _state(node.base)
    watcher = RawWatcher(
        node.port,
        f"/eureka/apps/delta?since={revision}&wait=30",
        {"X-Eureka-Epoch": epoch},
    )
    try:
        wait_for(lambda: httpx.get(f"{node.base}/eureka/status").json()["watch"]["watchers"])
        changed = time.monotonic()
        _register(node.base, "PROP-B", "pb-1")
        status, headers, body, _ = watcher.read(timeout=10)
        seen = time.monotonic() - changed
    finally:
        watcher.close()
    assert status == 200
    delta = json_codec.decode_applications(body)
    assert [(i.app, i.id, i.action_type.value) for i in delta.iter_instances()] == [  # type: ignore[union-attr]
        ("PROP-B", "pb-1", "ADDED")
    ]
    assert int(headers["x-eureka-revision"]) == revision + 1 == delta.version
    assert headers["x-eureka-features"] == "cursor,watch,digest,subset"
    # A bound, not a benchmark: the registration's own round trip is in it too.
    assert seen < 1.0
    watch = httpx.get(f"{node.base}/eureka/status").json()["watch"]
    assert watch["answered"] >= 1 and watch["lag_max_ms"] is not None


def test_a_watch_held_across_its_wait_returns_304(node: ServerProcess) -> None:
    epoch, revision = _state(node.base)
    watcher = RawWatcher(
        node.port,
        f"/eureka/apps/delta?since={revision}&wait=1&apps=NOBODY-HERE",
        {"X-Eureka-Epoch": epoch},
    )
    try:
        status, headers, body, waited = watcher.read(timeout=10)
    finally:
        watcher.close()
    assert status == 304 and body == b""
    assert 1.0 <= waited < 1.0 + 1 / 16 + 0.5
    assert headers["x-eureka-epoch"] == epoch
    assert int(headers["x-eureka-revision"]) >= revision


def test_410_for_another_epoch_and_for_the_future(node: ServerProcess) -> None:
    epoch, revision = _state(node.base)
    for since, sent_epoch, reason in (
        (revision, "0123abcd-1", "is not this server's"),
        (revision + 1000, epoch, "is ahead of this server's"),
    ):
        response = httpx.get(
            f"{node.base}/eureka/apps/delta",
            params={"since": since},
            headers={"X-Eureka-Epoch": sent_epoch, "Accept": "application/json"},
        )
        assert response.status_code == 410
        assert reason in response.text
        assert response.headers["x-eureka-epoch"] == epoch


def test_410_when_the_cursor_log_no_longer_reaches_back() -> None:
    settings = dict(FAST_SETTINGS)
    settings.update(
        {
            "eureka.server.retention-time-in-m-s-in-delta-queue": "300",
            "eureka.server.cursor-log-retention-ms": "300",
        }
    )
    with ServerProcess(settings=settings) as proc:
        _register(proc.base, "OLD", "o-1")
        epoch, _ = _state(proc.base)

        def gone() -> httpx.Response | None:
            response = httpx.get(
                f"{proc.base}/eureka/apps/delta",
                params={"since": 0},
                headers={"X-Eureka-Epoch": epoch},
            )
            return response if response.status_code == 410 else None

        response = wait_for(gone, timeout=10)
        assert "older than the change log holds" in response.text


def test_bad_requests_get_400_and_change_nothing(node: ServerProcess) -> None:
    _register(node.base, "PROP-C", "pc-1")
    before = httpx.get(f"{node.base}/eureka/apps/digests").json()
    epoch = before["epoch"]
    for params, headers in (
        ({"since": "abc"}, {"X-Eureka-Epoch": epoch}),
        ({"since": "1"}, {}),
        ({"since": "1", "wait": "-3"}, {"X-Eureka-Epoch": epoch}),
        ({"apps": ","}, {}),
        ({"since": "1", "regions": "us-west"}, {"X-Eureka-Epoch": epoch}),
    ):
        response = httpx.get(f"{node.base}/eureka/apps/delta", params=params, headers=headers)
        assert response.status_code == 400, params
        assert response.text
    response = httpx.post(f"{node.base}/eureka/apps/PROP-C", content=b"{not json", headers=JSON)
    assert response.status_code == 400
    assert httpx.get(f"{node.base}/eureka/apps/digests").json() == before


def test_digests_agree_with_the_payload_a_client_decodes(node: ServerProcess) -> None:
    _register(node.base, "PROP-D", "pd-1")
    _register(node.base, "PROP-D", "pd-2", status="DOWN")
    full = httpx.get(f"{node.base}/eureka/apps", headers=JSON)
    view = json_codec.decode_applications(full.content)
    truth = per_app_digests(view)
    assert full.headers["x-eureka-digest"] == format_digest(sum(truth.values()))
    digests = httpx.get(f"{node.base}/eureka/apps/digests").json()
    assert digests["applications"] == {name: format_digest(d) for name, d in truth.items()}
    subset = httpx.get(f"{node.base}/eureka/apps", params={"apps": "prop-d"}, headers=JSON)
    subset_view = json_codec.decode_applications(subset.content)
    assert [a.name for a in subset_view.applications] == ["PROP-D"]
    assert subset.headers["x-eureka-digest"] == format_digest(truth["PROP-D"])
    assert subset_view.apps_hashcode == "DOWN_1_UP_1_"


def test_legacy_reads_are_unchanged_by_watchers_cursors_and_subsets(node: ServerProcess) -> None:
    _register(node.base, "PROP-E", "pe-1")
    legacy = {"Accept": "application/json"}
    full = httpx.get(f"{node.base}/eureka/apps", headers=legacy)
    delta = httpx.get(f"{node.base}/eureka/apps/delta", headers=legacy)
    epoch, revision = full.headers["x-eureka-epoch"], int(full.headers["x-eureka-revision"])
    # Everything new, in between:
    httpx.get(f"{node.base}/eureka/apps", params={"apps": "PROP-E"}, headers=legacy)
    httpx.get(f"{node.base}/eureka/apps/delta", params={"apps": "PROP-E"}, headers=legacy)
    httpx.get(f"{node.base}/eureka/apps/digests")
    cursor_headers = {"X-Eureka-Epoch": epoch, **legacy}
    httpx.get(f"{node.base}/eureka/apps/delta", params={"since": 0}, headers=cursor_headers)
    httpx.get(
        f"{node.base}/eureka/apps/delta",
        params={"since": revision, "wait": "0"},
        headers=cursor_headers,
    )
    again_full = httpx.get(f"{node.base}/eureka/apps", headers=legacy)
    again_delta = httpx.get(f"{node.base}/eureka/apps/delta", headers=legacy)
    assert again_full.content == full.content
    assert again_delta.content == delta.content  # same payload: no extra delta generation
    # Only X-Eureka-* headers were added to what legacy clients see.
    added = {k for k in again_full.headers if k.startswith("x-eureka-")}
    assert added == {"x-eureka-epoch", "x-eureka-revision", "x-eureka-digest", "x-eureka-features"}
    assert b"x-eureka" not in full.content.lower() and b"digest" not in full.content


async def test_our_client_keeps_current_by_watch_with_one_full_fetch(node: ServerProcess) -> None:
    from eureka.client import AsyncDiscoveryClient, load_config

    config = load_config(
        env={},
        client={"service_url": {"defaultZone": node.url}, "register_with_eureka": False},
    )
    async with AsyncDiscoveryClient(config) as client:
        started = time.monotonic()
        _register(node.base, "PROP-W", "pw-1")
        while client.get_application("PROP-W") is None:
            assert time.monotonic() - started < 5, client.stats()
            await asyncio.sleep(0.01)
        seen = time.monotonic() - started
        httpx.delete(f"{node.base}/eureka/apps/PROP-W/pw-1")
        while client.get_application("PROP-W") is not None:
            assert time.monotonic() - started < 5, client.stats()
            await asyncio.sleep(0.01)
        stats = client.stats()
    assert stats.watch.watching and stats.watch.changes >= 2
    assert stats.full_fetches == 1 and stats.watch.digest_mismatches == 0
    assert stats.watch.repairs == 0
    assert seen < 1.0

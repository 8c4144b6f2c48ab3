"""What the watch needs from the rest of the client: settings, the status evaluator, per-request
timeouts, interrupting a held request, and drivers that close their operation."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eureka.client.config import load_config
from eureka.client.driver import run_async, run_sync
from eureka.client.endpoints import legacy_accepts
from eureka.client.messages import Interrupted, Op, Request, Response, TransportError
from eureka.client.transport import HttpxSyncTransport, TransportSettings
from eureka.errors import BadInput

# ---- settings -----------------------------------------------------------------------------------


def test_watch_settings_from_nested_yaml(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text(
        """
eureka:
  client:
    registry-fetch-interval-seconds: 5
    watch:
      wait-seconds: 12
      applications: [order-service, payment]
      full-fetch-share: 0.25
      fallback-after-failures: 5
""",
        encoding="utf-8",
    )
    client = load_config(path, env={}).client
    assert client.watch_applications == ["order-service", "payment"]
    watch = client.watch_settings()
    assert watch.enabled and watch.wait_seconds == 12 and watch.full_fetch_share == 0.25
    assert watch.applications == ("ORDER-SERVICE", "PAYMENT") and not watch.subset
    assert watch.fallback_after_failures == 5 and watch.retry_max_seconds == 5
    assert watch.timeout_margin_seconds == 8  # the read timeout


def test_watch_settings_from_dotted_yaml_environment_and_keywords(tmp_path: Path) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text("eureka.client.watch.subset: true\n", encoding="utf-8")
    assert load_config(path, env={}).client.watch_subset
    env = {"EUREKA_CLIENT_WATCH_APPLICATIONS": "a, b", "EUREKA_CLIENT_WATCH_ENABLED": "false"}
    from_env = load_config(env=env).client
    assert from_env.watch_applications == ["a", "b"] and not from_env.watch_enabled
    assert not from_env.watch_settings().enabled
    assert load_config(env={}, client={"watch.wait-seconds": 3}).client.watch_wait_seconds == 3


@pytest.mark.parametrize(
    "setting",
    [
        {"client_data_accept": "compact"},
        {"fetch_remote_regions_registry": "us-west-2"},
        {"registry_refresh_single_vip_address": "orders"},
        {"disable_delta": True},
    ],
)
def test_the_watch_is_off_where_a_digest_cannot_be_verified(setting: dict[str, object]) -> None:
    assert not load_config(env={}, client=setting).client.watch_settings().enabled


def test_bad_watch_settings_are_refused() -> None:
    with pytest.raises(BadInput):
        load_config(env={}, client={"watch_wait_seconds": 0}).client.watch_settings()
    with pytest.raises(BadInput):
        load_config(env={}, client={"watch_full_fetch_share": 2}).client.watch_settings()
    with pytest.raises(BadInput):
        load_config(env={}, client={"watch_applications": {"a": "b"}})


# ---- the status evaluator -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "accepted"),
    [
        ("GET", "apps/delta", 304, True),  # the long-poll's wait passed
        ("GET", "apps/delta", 410, True),  # the cursor is gone: repair, on whichever server
        ("GET", "apps/ORDERS", 404, True),  # the application is gone
        ("GET", "apps/ORDERS", 503, False),
        ("GET", "apps/digests", 404, False),  # a server without digests: ask another
        ("GET", "apps/", 304, False),
    ],
)
def test_watch_answers_are_final(method: str, path: str, status: int, accepted: bool) -> None:
    assert legacy_accepts(method, path, status) is accepted


# ---- timeouts and interrupts on a real socket ---------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections, reads the request, never answers (a held long-poll, forever)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/eureka/", accepted
    stop.set()
    thread.join(2)
    listener.close()
    for conn in accepted:
        conn.close()


def long_poll(timeout: float = 30.0) -> Request:
    params = {"since": "1", "wait": "30"}
    return Request("GET", "apps/delta", params, timeout=timeout, long_poll=True)


def test_a_request_timeout_replaces_the_read_timeout_for_that_request_only(
    silent_server: tuple[str, list[socket.socket]],
) -> None:
    url, _ = silent_server
    transport = HttpxSyncTransport(url, TransportSettings(read_timeout=30, max_attempts=1))
    started = time.monotonic()
    with pytest.raises(TransportError) as raised:
        transport.send(long_poll(timeout=0.3))
    assert not isinstance(raised.value, Interrupted)
    assert 0.25 < time.monotonic() - started < 5
    transport.close()


def test_interrupt_aborts_a_held_request_from_another_thread_without_blaming_the_server(
    silent_server: tuple[str, list[socket.socket]],
) -> None:
    url, accepted = silent_server
    transport = HttpxSyncTransport(url, TransportSettings(max_attempts=3))
    outcome: list[BaseException] = []

    def hold() -> None:
        try:
            transport.send(long_poll())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=hold)
    thread.start()
    deadline = time.monotonic() + 5
    while not accepted and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    transport.interrupt()
    thread.join(5)
    assert time.monotonic() - started < 1.0
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted)
    assert len(accepted) == 1  # not retried on another attempt
    assert transport.selector.quarantined == frozenset()
    transport.interrupt(refuse_new=True)
    with pytest.raises(Interrupted):
        transport.send(long_poll())  # a stopping client sends no new long-poll
    transport.close()


# ---- drivers close the operation ----------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.closed = False

    def op(self) -> Op[int]:
        try:
            response = yield Request("GET", "apps/delta", long_poll=True)
            return response.status
        finally:
            self.closed = True


async def test_a_cancelled_async_operation_is_closed_at_once() -> None:
    recorder = Recorder()
    held = asyncio.Event()

    async def send(request: Request) -> Response:
        held.set()
        await asyncio.sleep(60)
        return Response(200)

    task = asyncio.create_task(run_async(recorder.op(), send))
    await held.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recorder.closed


def test_an_interrupted_sync_operation_is_closed_too() -> None:
    recorder = Recorder()

    def send(request: Request) -> Response:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sync(recorder.op(), send)
    assert recorder.closed

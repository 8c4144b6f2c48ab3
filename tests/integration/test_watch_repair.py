"""Our watching client repairs by digest on real servers: no full fetch where none is needed.

* A client paused (SIGSTOP) while its cursor falls out of the server's change log gets 410 when
  it resumes, and repairs by fetching `/apps/digests` and only the one application that differs.
* A client whose server goes away fails over to its peer: another epoch (410), but registries
  that are equal, so the repair fetches nothing, and the watch goes on on the peer.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from eureka.client import AsyncDiscoveryClient, load_config
from tests.conftest import ROOT
from tests.integration.server_process import FAST_SETTINGS, ServerProcess, free_port, wait_for
from tests.integration.test_propagation import JSON, _register

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("propagation")]


class _ClientProcess:
    """tests/integration/watch_client_script.py: a watching client we can pause."""

    def __init__(self, urls: str) -> None:
        args = [sys.executable, "-m", "tests.integration.watch_client_script", urls]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def state(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return dict(json.loads(self._line()))

    def stop(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _status(node: ServerProcess) -> dict[str, Any]:
    return dict(httpx.get(f"{node.base}/eureka/status", headers=JSON).json())


@pytest.fixture
def short_log() -> Iterator[ServerProcess]:
    settings = dict(FAST_SETTINGS)
    settings["eureka.server.retention-time-in-m-s-in-delta-queue"] = "300"
    settings["eureka.server.cursor-log-retention-ms"] = "300"
    with ServerProcess(settings=settings) as proc:
        yield proc


def test_a_paused_client_whose_cursor_fell_out_of_the_log_fetches_one_application(
    short_log: ServerProcess,
) -> None:
    node = short_log
    for app in ("ALPHA", "BETA", "GAMMA"):
        for n in range(2):
            _register(node.base, app, f"{app.lower()}-{n}")
    client = _ClientProcess(node.url)
    try:
        wait_for(lambda: client.state()["stats"]["watch"]["watching"])
        wait_for(lambda: _status(node)["watch"]["watchers"] == 1)  # its watch is held
        os.kill(client.proc.pid, signal.SIGSTOP)
        _register(node.base, "ALPHA", "alpha-new")  # answers the held watch; unread for now
        revision = _status(node)["registry"]["revision"]
        _register(node.base, "BETA", "beta-new")  # never sent to the client
        # Both changes pruned: the client's next cursor (after ALPHA's) is older than the log.
        wait_for(lambda: _status(node)["registry"]["oldest_revision"] > revision, timeout=10)
        os.kill(client.proc.pid, signal.SIGCONT)
        wait_for(lambda: "BETA/beta-new" in client.state()["view"], timeout=10)
        state = client.state()
    finally:
        client.stop()
    watch = state["stats"]["watch"]
    assert watch["cursor_gone"] >= 1
    assert (watch["repairs"], watch["repair_app_fetches"], watch["repair_full_fetches"]) == (
        1,
        1,
        0,
    )
    assert state["stats"]["full_fetches"] == 1  # the first, at start
    assert "ALPHA/alpha-new" in state["view"] and len(state["view"]) == 8


async def test_failing_over_between_peered_nodes_does_no_full_fetch() -> None:
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}/eureka/" for port in ports]
    settings = {**FAST_SETTINGS, "eureka.server.number-registry-sync-retries": "1"}
    first, second = (ServerProcess(port, settings, peers=urls) for port in ports)
    try:
        first.start()
        second.start()
        for app in ("ALPHA", "BETA"):
            for n in range(3):
                _register(first.base, app, f"{app.lower()}-{n}")

        def digests() -> set[str]:
            return {
                httpx.get(f"{n.base}/eureka/apps", headers=JSON).headers["x-eureka-digest"]
                for n in (first, second)
            }

        await asyncio.to_thread(wait_for, lambda: len(digests()) == 1, 10)
        config = load_config(
            env={},
            client={"service_url": {"defaultZone": ",".join(urls)}, "register_with_eureka": False},
        )
        async with AsyncDiscoveryClient(config) as client:

            async def until(predicate: Any, timeout: float = 10) -> None:
                deadline = asyncio.get_running_loop().time() + timeout
                while not predicate():
                    assert asyncio.get_running_loop().time() < deadline, client.stats()
                    await asyncio.sleep(0.02)

            await until(lambda: client.stats().watch.watching)
            # The client shuffles its servers: stop whichever holds its watch.
            held = await asyncio.to_thread(
                wait_for, lambda: [n for n in (first, second) if _status(n)["watch"]["watchers"]]
            )
            (pinned,) = held
            peer = second if pinned is first else first
            await asyncio.to_thread(pinned.stop)
            # On the peer, by digests. Wait for the digests' answer, not the repair's start: a
            # registration before that answer would rightly make the repair fetch its application.
            await until(lambda: client.stats().watch.repair_digest_requests >= 1)
            # The watch goes on on the peer: a registration there reaches the client.
            _register(peer.base, "GAMMA", "gamma-0")
            await until(lambda: client.get_application("GAMMA") is not None)
            stats = client.stats()
    finally:
        first.stop()
        second.stop()
    assert stats.watch.epoch_changes >= 1 and stats.watch.repairs >= 1
    assert (stats.watch.repair_app_fetches, stats.watch.repair_full_fetches) == (0, 0)
    assert stats.full_fetches == 1
    assert stats.watch.watching

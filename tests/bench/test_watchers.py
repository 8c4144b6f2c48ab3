"""The watch benchmarks' generator (`bench/watch/watchers.c`) counts what a real server sends.

Its figures go into the issue notes, so each mode is checked against a real `eureka server`
process: `once` times one answer per watcher, `follow` follows the cursor (every change reaches
every watcher exactly once), `poll` polls the legacy delta on its interval.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import httpx
import pytest
from bench.serving import instance
from bench.watch import finish_once, finish_totals, start_watchers

from eureka.codec.json import encode_instance
from tests.integration.server_process import FAST_SETTINGS, ServerProcess, wait_for

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed for watchers.c")
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def node() -> Iterator[ServerProcess]:
    settings = dict(FAST_SETTINGS)
    settings["eureka.server.watch-min-interval-ms"] = "0"  # one answer per change
    with ServerProcess(settings=settings) as proc:
        yield proc


def _register(node: ServerProcess, i: int) -> None:
    fresh = instance(i, 3)
    response = httpx.post(
        f"{node.base}/eureka/apps/{fresh.app}",
        content=encode_instance(fresh),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 204


def _state(node: ServerProcess) -> tuple[str, int]:
    head = httpx.get(f"{node.base}/eureka/apps", headers=JSON)
    return head.headers["x-eureka-epoch"], int(head.headers["x-eureka-revision"])


def _held(node: ServerProcess) -> int:
    return int(httpx.get(f"{node.base}/eureka/status", headers=JSON).json()["watch"]["watchers"])


def test_once_times_one_answer_per_watcher(node: ServerProcess) -> None:
    epoch, revision = _state(node)
    held_before = _held(node)
    watchers = start_watchers(
        "once", node.port, 20, 20, "/eureka/apps/delta", epoch=epoch, since=revision, wait=30
    )
    wait_for(lambda: _held(node) >= held_before + 20)
    fired_us = time.time_ns() // 1000
    _register(node, 1)
    once = finish_once(watchers, timeout=30)
    assert (len(once.received_us), once.missing, once.errors) == (20, 0, 0)
    assert all(fired_us < t < fired_us + 10_000_000 for t in once.received_us)


def test_follow_gets_every_change_once_and_poll_polls_on_its_interval(
    node: ServerProcess,
) -> None:
    epoch, revision = _state(node)
    held_before = _held(node)
    follow = start_watchers(
        "follow", node.port, 10, 30, "/eureka/apps/delta", epoch=epoch, since=revision, wait=30
    )
    poll = start_watchers("poll", node.port, 4, 2.2, "/eureka/apps/delta", interval=0.5)
    wait_for(lambda: _held(node) >= held_before + 10)
    for i in range(5):
        _register(node, 100 + i)
        time.sleep(0.1)  # apart: each change its own answer (no minimum interval here)
    wait_for(lambda: _state(node)[1] == revision + 5)
    time.sleep(0.3)
    follow.terminate()  # SIGTERM: it stops and prints what it counted
    followed = finish_totals(follow, timeout=10)
    assert followed.gone == followed.other == followed.errors == 0
    # Each watcher saw each registration in an answer of its own, nothing twice.
    assert (followed.per_min, followed.per_max) == (5, 5)
    assert followed.entries == 10 * 5
    polled = finish_totals(poll, timeout=10)
    assert polled.errors == polled.other == 0
    # 4 connections, every 0.5 s for 2.2 s: 5 polls each (at 0, 0.5, 1, 1.5 and 2 s + stagger).
    assert 4 * 4 <= polled.answers <= 4 * 5
    assert polled.entries > 0  # the legacy delta lists the recent registrations

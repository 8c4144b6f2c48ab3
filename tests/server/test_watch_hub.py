"""Held watches end to end inside one event loop: `handle` parks, writes wake, the timer answers.

The app runs on a ManualClock; the hub's futures live in the test's event loop. Every site that
changes the registry outside a read is checked to wake the watches it concerns: each write
route, replication batches, the eviction and retention timers, the start-up sync and adopted
peer copies.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from eureka.codec import json as json_codec
from eureka.model import Application, Applications, InstanceStatus
from eureka.replication.dispatcher import AdoptPeerCopy
from eureka.replication.protocol import Action, ReplicationInstance, encode_batch
from eureka.server.cluster import PeerCluster
from eureka.server.http import Parked, Response
from eureka.server.timers import Timers
from tests.registry.support import instance
from tests.replication.peer_stub import PeerStub, Reply
from tests.server.app_support import AppHarness, header, make_app

NO_INTERVAL = {"watch_min_interval_ms": 0}


def _watch(harness: AppHarness, since: int, extra: str = "", wait: str = "30") -> Parked:
    result = harness.request(
        "GET",
        "/eureka/apps/delta",
        f"since={since}&wait={wait}{extra}",
        {"accept": "application/json", "x-eureka-epoch": harness.app.epoch},
    )
    assert not isinstance(result, Response), result
    return result


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def _ids(response: Response) -> list[str]:
    body = response.body
    if header(response, "content-encoding") == "gzip":
        body = gzip.decompress(body)
    return [i.id for i in json_codec.decode_applications(body).iter_instances()]


async def _woken_by(harness: AppHarness, change: Callable[[], Any]) -> Response:
    held = _watch(harness, harness.registry.revision)
    waiting = asyncio.ensure_future(held.wait())
    await _settle()
    assert not waiting.done()
    outcome = change()
    if isinstance(outcome, Awaitable):
        await outcome
    await _settle()
    assert waiting.done(), "the change did not wake the held watch"
    return waiting.result()


def _timers(harness: AppHarness) -> Timers:
    registry = harness.registry
    return Timers(registry, harness.cache, registry.config, watch=harness.app.watch)


def _harness(**registry: Any) -> AppHarness:
    harness = make_app(server=NO_INTERVAL, **registry)
    harness.register_new("A", "a-1")
    return harness


# -- the sites ----------------------------------------------------------------------------------


async def test_a_registration_wakes_the_watch_with_the_change() -> None:
    harness = _harness()
    response = await _woken_by(harness, lambda: harness.register_new("B", "b-1"))
    assert response.status == 200
    assert _ids(response) == ["b-1"]
    assert header(response, "x-eureka-features") is not None
    assert header(response, "x-eureka-revision") == str(harness.registry.revision)


async def test_a_status_update_wakes_the_watch() -> None:
    harness = _harness()
    response = await _woken_by(
        harness, lambda: harness.request("PUT", "/eureka/apps/A/a-1/status", "value=DOWN")
    )
    assert _ids(response) == ["a-1"]


async def test_an_override_deletion_wakes_the_watch() -> None:
    harness = _harness()
    harness.request("PUT", "/eureka/apps/A/a-1/status", "value=OUT_OF_SERVICE")
    response = await _woken_by(
        harness, lambda: harness.request("DELETE", "/eureka/apps/A/a-1/status", "value=UP")
    )
    assert _ids(response) == ["a-1"]


async def test_a_cancel_wakes_the_watch() -> None:
    harness = _harness()
    response = await _woken_by(harness, lambda: harness.request("DELETE", "/eureka/apps/A/a-1"))
    assert _ids(response) == ["a-1"]


async def test_a_metadata_update_wakes_the_watch() -> None:
    harness = _harness()
    response = await _woken_by(
        harness, lambda: harness.request("PUT", "/eureka/apps/A/a-1/metadata", "zone=b")
    )
    assert _ids(response) == ["a-1"]


async def test_a_renewal_that_changes_a_status_wakes_the_watch() -> None:
    harness = _harness()
    harness.registry.store_overridden_status_if_required("A", "a-1", InstanceStatus.DOWN)
    harness.app.watch.unpark_ready()
    response = await _woken_by(harness, lambda: harness.request("PUT", "/eureka/apps/A/a-1"))
    assert _ids(response) == ["a-1"]


async def test_a_replication_batch_wakes_the_watch_once_with_all_its_items() -> None:
    harness = _harness()
    items = [
        ReplicationInstance(
            app_name="B",
            id=f"b-{n}",
            action=Action.REGISTER,
            last_dirty_timestamp=1,
            overridden_status=None,
            status="UP",
            instance_info=instance("B", f"b-{n}"),
        )
        for n in range(3)
    ]
    response = await _woken_by(
        harness,
        lambda: harness.request(
            "POST",
            "/eureka/peerreplication/batch",
            headers={"content-type": "application/json"},
            body=encode_batch(items),
        ),
    )
    assert _ids(response) == ["b-0", "b-1", "b-2"]


async def test_an_eviction_wakes_the_watch() -> None:
    harness = make_app(server=NO_INTERVAL, enable_self_preservation=False)
    harness.register_new("A", "a-1", duration=5)
    timers = Timers(
        harness.registry, harness.cache, harness.registry.config, watch=harness.app.watch
    )
    harness.clock.advance(10)

    response = await _woken_by(harness, timers._evict)
    assert _ids(response) == ["a-1"]


async def test_an_adopted_peer_copy_wakes_the_watch() -> None:
    harness = _harness()
    cluster = PeerCluster(harness.app.config, harness.registry, harness.clock)
    cluster.on_change = harness.app.watch.unpark_ready
    newer = instance("A", "a-1", dirty=5_000, status=InstanceStatus.DOWN)
    response = await _woken_by(
        harness, lambda: cluster._follow_up("http://peer/", AdoptPeerCopy("A", "a-1", newer))
    )
    assert _ids(response) == ["a-1"]


async def test_the_start_up_sync_wakes_the_watch() -> None:
    payload = Applications(apps_hashcode="UP_1_")
    copied = instance("B", "b-1")
    payload.add_application(Application("B", {"b-1": copied}))
    body = json_codec.encode_applications(payload)
    async with PeerStub(lambda request, n: Reply(200, body)) as stub:
        harness = make_app(server={**NO_INTERVAL, "peers": (stub.url,)})
        harness.register_new("A", "a-1")
        cluster = PeerCluster(harness.app.config, harness.registry, harness.clock)
        cluster.on_change = harness.app.watch.unpark_ready
        await cluster.start()
        try:
            response = await _woken_by(harness, cluster.sync)
        finally:
            await cluster.stop()
    assert _ids(response) == ["b-1"]


async def test_an_anti_entropy_repair_wakes_the_watch() -> None:
    import httpx

    from eureka.replication.anti_entropy import AntiEntropySettings
    from eureka.server.anti_entropy import AntiEntropyRunner
    from eureka.server.http import Request as AppRequest

    peer = make_app(server=NO_INTERVAL)
    peer.register_new("A", "a-1")
    peer.register_new("B", "b-1")

    def answer(request: Any, _n: int) -> Reply:
        path, _, query = request.path.partition("?")
        # The stub cannot say Content-Encoding: ask the peer app for identity bodies.
        headers = {k: v for k, v in request.headers.items() if k != "accept-encoding"}
        result = peer.app.handle(AppRequest(request.method, path, query, headers))
        assert isinstance(result, Response)
        return Reply(result.status, result.body)

    harness = _harness()  # has A only
    async with PeerStub(answer) as stub, httpx.AsyncClient() as http:
        runner = AntiEntropyRunner(
            AntiEntropySettings(interval_ms=1_000, settle_ms=0),
            harness.registry,
            harness.clock,
            peers=lambda: [stub.url],
            http=http,
        )
        runner.on_change = harness.app.watch.unpark_ready  # as the node wires it
        response = await _woken_by(harness, lambda: runner.run_round(stub.url))
    assert _ids(response) == ["b-1"]


async def test_a_prune_answers_watches_whose_revision_it_dropped_with_410() -> None:
    harness = make_app(server=NO_INTERVAL, cursor_log_max_entries=0)
    harness.register_new("A", "a-1")
    harness.register_new("A", "a-2")
    timers = Timers(
        harness.registry, harness.cache, harness.registry.config, watch=harness.app.watch
    )
    held = _watch(harness, 1, "&apps=B")  # nothing in B after 1: held
    waiting = asyncio.ensure_future(held.wait())
    harness.clock.advance(181)
    timers._prune()
    await _settle()
    assert waiting.done()
    assert waiting.result().status == 410


# -- wake-up rules ------------------------------------------------------------------------------


async def test_one_change_wakes_every_held_request() -> None:
    harness = _harness()
    since = harness.registry.revision
    waiting = [asyncio.ensure_future(_watch(harness, since).wait()) for _ in range(500)]
    await _settle()
    assert len(harness.app.watch) == 500
    harness.register_new("B", "b-1")
    await _settle()
    assert all(task.done() for task in waiting)
    bodies = {task.result().body for task in waiting}
    assert len(bodies) == 1  # one encoding, shared
    stats = harness.app.watch.stats()
    assert (stats.watchers, stats.answered, stats.peak_watchers) == (0, 500, 500)


async def test_watches_woken_together_share_an_answer_only_when_they_asked_the_same() -> None:
    harness = _harness()

    def park(accept: str, extra: str = "", encoding: str = "") -> asyncio.Future[Response]:
        headers = {"accept": accept, "x-eureka-epoch": harness.app.epoch}
        if encoding:
            headers["accept-encoding"] = encoding
        since = harness.registry.revision
        held = harness.request(
            "GET", "/eureka/apps/delta", f"since={since}&wait=30{extra}", headers
        )
        assert not isinstance(held, Response)
        return asyncio.ensure_future(held.wait())

    json_a, json_b = park("application/json"), park("application/json")
    zipped, xml = park("application/json", encoding="gzip"), park("application/xml")
    subset = park("application/json", "&apps=B,C")
    await _settle()
    harness.register_new("B", "b-1")
    await _settle()
    assert json_a.result() is json_b.result()  # one answer for the same question
    assert header(zipped.result(), "content-encoding") == "gzip"
    assert _ids(zipped.result()) == _ids(json_a.result()) == _ids(subset.result()) == ["b-1"]
    assert xml.result().body.startswith(b"<")
    assert header(subset.result(), "x-eureka-digest") != header(json_a.result(), "x-eureka-digest")
    later = park("application/json")
    await _settle()
    harness.register_new("C", "c-1")
    await _settle()
    assert _ids(later.result()) == ["c-1"]  # the next change gets its own answer


async def test_a_subset_watch_sleeps_through_other_applications_changes() -> None:
    harness = _harness()
    since = harness.registry.revision
    orders = asyncio.ensure_future(_watch(harness, since, "&apps=orders").wait())
    await _settle()
    harness.register_new("BILLING", "b-1")
    harness.request("PUT", "/eureka/apps/A/a-1/status", "value=DOWN")
    await _settle()
    assert not orders.done()
    harness.register_new("ORDERS", "o-1")
    await _settle()
    assert orders.done() and _ids(orders.result()) == ["o-1"]


async def test_a_watch_with_changes_pending_is_answered_at_once() -> None:
    harness = _harness()
    result = harness.request(
        "GET",
        "/eureka/apps/delta",
        "since=0&wait=30",
        {"accept": "application/json", "x-eureka-epoch": harness.app.epoch},
    )
    assert isinstance(result, Response) and _ids(result) == ["a-1"]


async def test_a_watch_that_times_out_gets_304_with_the_state_headers() -> None:
    harness = _harness()
    held = _watch(harness, harness.registry.revision, wait="2")
    waiting = asyncio.ensure_future(held.wait())
    await _settle()
    harness.clock.advance_ms(1_999)
    harness.app.watch.answer_expired()
    await _settle()
    assert not waiting.done()
    harness.clock.advance_ms(1 + 2_000 // 16)  # the jitter is at most wait/16
    harness.app.watch.answer_expired()
    await _settle()
    response = waiting.result()
    assert response.status == 304 and response.body == b""
    assert header(response, "x-eureka-revision") == str(harness.registry.revision)
    assert header(response, "x-eureka-epoch") == harness.app.epoch
    assert header(response, "x-eureka-digest") is not None
    assert harness.app.watch.stats().timed_out == 1


async def test_wait_is_capped_at_sixty_seconds() -> None:
    harness = _harness()
    waiting = asyncio.ensure_future(_watch(harness, 1, wait="3600").wait())
    await _settle()
    harness.clock.advance_ms(60_000 + 60_000 // 16 + 1)
    harness.app.watch.answer_expired()
    await _settle()
    assert waiting.done() and waiting.result().status == 304


async def test_a_client_that_goes_away_is_forgotten() -> None:
    harness = _harness()
    held = _watch(harness, harness.registry.revision)
    assert len(harness.app.watch) == 1
    held.cancel()
    assert len(harness.app.watch) == 0
    harness.register_new("B", "b-1")
    assert harness.app.watch.stats().cancelled == 1


async def test_under_churn_a_watcher_is_answered_at_most_once_per_interval() -> None:
    harness = make_app()  # the default 250 ms minimum interval
    harness.register_new("A", "a-1")
    since = harness.registry.revision  # the change this watcher already has, made just now
    waiting = asyncio.ensure_future(_watch(harness, since).wait())
    await _settle()
    harness.clock.advance_ms(100)
    harness.register_new("B", "b-1")
    await _settle()
    assert not waiting.done()  # 100 ms after its previous answer: held
    harness.clock.advance_ms(100)
    harness.register_new("C", "c-1")
    harness.clock.advance_ms(50)
    harness.app.watch.answer_expired()
    await _settle()
    assert waiting.done() and _ids(waiting.result()) == ["b-1", "c-1"]


async def test_after_a_quiet_spell_the_first_change_goes_out_at_once() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    harness.clock.advance(5)
    response = await _woken_by(harness, lambda: harness.register_new("B", "b-1"))
    assert _ids(response) == ["b-1"]


async def test_lag_from_change_to_answer_is_recorded() -> None:
    harness = _harness()
    held = _watch(harness, harness.registry.revision)
    waiting = asyncio.ensure_future(held.wait())
    await _settle()
    harness.register_new("B", "b-1")
    harness.clock.advance_ms(7)  # the answer is built 7 ms after the change
    await _settle()
    assert waiting.done()
    stats = harness.app.watch.stats()
    assert (stats.lag_samples, stats.lag_p50_ms, stats.lag_max_ms) == (1, 7, 7)


async def test_status_shows_the_watchers() -> None:
    harness = _harness()
    held = _watch(harness, harness.registry.revision)
    status = harness.app.node_status().watch
    assert status is not None and status.watchers == 1 and status.lag_p99_ms is None
    held.cancel()


async def test_closing_the_hub_answers_everything_held() -> None:
    harness = _harness()
    waiting = asyncio.ensure_future(_watch(harness, harness.registry.revision).wait())
    await _settle()
    harness.app.watch.close()
    await _settle()
    assert waiting.done() and waiting.result().status == 304


@pytest.mark.parametrize("query", ["since=1&wait=5&apps=", "since=x&wait=5"])
async def test_bad_watches_are_never_held(query: str) -> None:
    harness = _harness()
    result = harness.request(
        "GET", "/eureka/apps/delta", query, {"x-eureka-epoch": harness.app.epoch}
    )
    assert isinstance(result, Response) and result.status == 400
    assert len(harness.app.watch) == 0

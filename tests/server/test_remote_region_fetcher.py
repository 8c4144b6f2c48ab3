"""The remote-region fetcher's HTTP side (protocol.md §9.2) against a scripted remote server
(httpx.MockTransport) serving the Java server's real registry payloads."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from eureka.client.backoff import RunOutcome
from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.registry.remote_regions import FetchKind, RemoteRegions, RemoteRegionsConfig
from eureka.server.remote_regions import RemoteRegionFetcher
from tests.conftest import JAVA_FIXTURES

REGION = "us-west-2"
# Java's server output (LegacyJacksonJson codec): T0, the delta at +45 s, and the result.
FULL = (JAVA_FIXTURES / "registry-full.legacyjackson.json").read_bytes()
DELTA = (JAVA_FIXTURES / "registry-delta.legacyjackson.json").read_bytes()
AFTER = (JAVA_FIXTURES / "registry-full-after-delta.legacyjackson.json").read_bytes()

Handler = Callable[[httpx.Request], httpx.Response]


def fetcher_for(
    handler: Handler, url: str = "http://west.example/eureka/", **options: bool
) -> tuple[RemoteRegionFetcher, RemoteRegions, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    regions = RemoteRegions(RemoteRegionsConfig(regions=((REGION, url),), **options), ManualClock())
    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    return RemoteRegionFetcher(regions, interval_s=30, client=client), regions, seen


def serving(full: bytes = FULL, delta: bytes | int = DELTA) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/apps/delta"):
            if isinstance(delta, int):
                return httpx.Response(delta)
            return httpx.Response(200, content=delta)
        return httpx.Response(200, content=full)

    return handle


def ids_and_statuses(data: bytes) -> set[tuple[str, str, str]]:
    decoded = json_codec.decode_applications(data)
    return {(i.app, i.id, i.status.value) for i in decoded.iter_instances()}


async def test_full_then_delta_reproduces_the_java_servers_view() -> None:
    fetcher, regions, seen = fetcher_for(serving())
    assert await fetcher.fetch(REGION) is RunOutcome.COMPLETED
    assert await fetcher.fetch(REGION) is RunOutcome.COMPLETED
    state = regions.region(REGION)
    assert [r.url.path for r in seen] == ["/eureka/apps/", "/eureka/apps/delta"]
    assert (state.full_fetches, state.delta_fetches, state.hash_mismatches) == (1, 1, 0)
    copy = {(i.app, i.id, i.status.value) for i in state.applications.iter_instances()}
    assert copy == ids_and_statuses(AFTER)
    assert state.current_delta.version == 17  # the delta is what local clients now get


async def test_requests_look_like_javas_remote_region_fetcher() -> None:
    fetcher, _, seen = fetcher_for(serving(), url="http://west.example/eureka")
    await fetcher.fetch(REGION)
    request = seen[0]
    assert str(request.url) == "http://west.example/eureka/apps/"  # missing "/" forgiven
    assert request.headers["accept"] == "application/json"
    assert "gzip" in request.headers["accept-encoding"]
    assert request.headers["discoveryidentity-name"] == "DefaultServer"
    assert "regions" not in str(request.url)


async def test_a_hash_mismatch_is_reconciled_with_a_full_fetch_in_the_same_round() -> None:
    served = {"delta": DELTA}

    def handle(request: httpx.Request) -> httpx.Response:
        return serving(delta=served["delta"])(request)  # what is served now

    fetcher, regions, seen = fetcher_for(handle)
    await fetcher.fetch(REGION)
    # A delta claiming a hash the copy cannot reach: the full registry is fetched at once.
    served["delta"] = DELTA.replace(b"OUT_OF_SERVICE_2_UP_4_", b"UP_99_")
    assert await fetcher.fetch(REGION) is RunOutcome.COMPLETED
    assert [r.url.path for r in seen] == ["/eureka/apps/", "/eureka/apps/delta", "/eureka/apps/"]
    state = regions.region(REGION)
    assert (state.full_fetches, state.hash_mismatches) == (2, 1)
    assert regions.fetch_kind(REGION) is FetchKind.DELTA


async def test_an_unavailable_delta_falls_back_on_a_full_fetch() -> None:
    fetcher, regions, seen = fetcher_for(serving(delta=403))
    await fetcher.fetch(REGION)
    await fetcher.fetch(REGION)
    assert [r.url.path for r in seen] == ["/eureka/apps/", "/eureka/apps/delta", "/eureka/apps/"]
    assert regions.region(REGION).last_error is None


@pytest.mark.parametrize(
    ("handler", "outcome", "error"),
    [
        (lambda r: httpx.Response(503), RunOutcome.COMPLETED, "HTTP 503"),
        (lambda r: httpx.Response(200, content=b"{not json"), RunOutcome.COMPLETED, "malformed"),
        (
            lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r)),
            RunOutcome.COMPLETED,
            "refused",
        ),
        (
            lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)),
            RunOutcome.TIMED_OUT,
            "timeout",
        ),
    ],
    ids=["status", "garbage", "connect", "timeout"],
)
async def test_failures_are_recorded_and_only_slowness_backs_off(
    handler: Handler, outcome: RunOutcome, error: str
) -> None:
    fetcher, regions, _ = fetcher_for(handler)
    assert await fetcher.fetch(REGION) is outcome
    state = regions.region(REGION)
    assert state.ready is False and state.consecutive_failures == 1
    assert state.last_error is not None and error in state.last_error


async def test_start_fetches_at_once_and_stop_ends_the_loop() -> None:
    fetcher, regions, seen = fetcher_for(serving())
    fetcher.start()
    assert await fetcher.wait_initial(timeout_s=5) is True
    assert regions.ready is True and len(seen) == 1
    await fetcher.stop()
    assert fetcher._tasks == []


async def test_a_region_that_stays_down_is_logged_once_summarised_then_recovered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="eureka.remote_regions")
    down = {"yes": True}

    def handle(request: httpx.Request) -> httpx.Response:
        if down["yes"]:
            raise httpx.ConnectError("refused", request=request)
        return serving()(request)

    clock = ManualClock()
    regions = RemoteRegions(
        RemoteRegionsConfig(regions=((REGION, "http://west.example/eureka/"),)), clock
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    fetcher = RemoteRegionFetcher(regions, interval_s=30, client=client, clock=clock)
    for _ in range(10):  # ten failed rounds within a minute: one warning
        await fetcher.fetch(REGION)
        clock.advance(5)
    clock.advance(15)
    await fetcher.fetch(REGION)  # a minute after the first: one summary
    down["yes"] = False
    await fetcher.fetch(REGION)
    messages = [r.getMessage() for r in caplog.records if r.name == "eureka.remote_regions"]
    assert [m for m in messages if "unreachable" in m or "recovered" in m] == [
        "remote region unreachable",
        "remote region still unreachable",
        "remote region recovered",
    ]
    summary = next(r for r in caplog.records if r.getMessage() == "remote region still unreachable")
    assert summary.fields["failed_fetches"] == 10  # type: ignore[attr-defined]

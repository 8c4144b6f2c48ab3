"""`GET /apps/delta?since=R`, `apps=` subsets and every 410 / 400 case, on an in-process app.

Manual clock, no sockets: the app's `handle` is called with `server.http.Request` values.
"""

from __future__ import annotations

import gzip

import pytest

from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.digest import format_digest, per_app_digests
from eureka.model import ActionType, Applications, InstanceStatus
from eureka.reconcile import reconcile_hash
from eureka.registry import CacheKey, EntityType
from eureka.server.http import Response
from tests.registry.support import START_MS
from tests.server.app_support import AppHarness, header, make_app

JSON = {"accept": "application/json"}


def _cursor(
    harness: AppHarness, since: int, extra: str = "", epoch: str | None = None, **headers: str
) -> Response:
    query = f"since={since}{extra}"
    all_headers = {"accept": "application/json", "x-eureka-epoch": epoch or harness.app.epoch}
    all_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    result = harness.request("GET", "/eureka/apps/delta", query, all_headers)
    assert isinstance(result, Response), result
    return result


def _decode(response: Response) -> Applications:
    body = response.body
    if header(response, "content-encoding") == "gzip":
        body = gzip.decompress(body)
    if "xml" in (header(response, "content-type") or ""):
        return xml_codec.decode_applications(body)
    return json_codec.decode_applications(body)


def _entries(view: Applications) -> list[tuple[str, str, ActionType | None]]:
    return [(i.app, i.id, i.action_type) for i in view.iter_instances()]


def test_a_cursor_delta_lists_exactly_the_changes_after_the_revision() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    harness.register_new("B", "b-1")
    mark = harness.registry.revision
    harness.request("PUT", "/eureka/apps/A/a-1/status", "value=OUT_OF_SERVICE")
    harness.register_new("C", "c-1")
    harness.request("DELETE", "/eureka/apps/B/b-1")
    response = _cursor(harness, mark)
    assert response.status == 200
    delta = _decode(response)
    assert _entries(delta) == [
        ("A", "a-1", ActionType.MODIFIED),
        ("C", "c-1", ActionType.ADDED),
        ("B", "b-1", ActionType.DELETED),
    ]
    registry = harness.registry
    assert delta.version == registry.revision == 5
    assert delta.apps_hashcode == registry.apps_hashcode()
    assert header(response, "x-eureka-revision") == "5"
    assert header(response, "x-eureka-epoch") == harness.app.epoch
    assert header(response, "x-eureka-digest") == format_digest(registry.digest)


def test_a_cursor_at_the_current_revision_gets_an_empty_delta() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    response = _cursor(harness, harness.registry.revision)
    assert response.status == 200
    assert _decode(response).instance_count() == 0


def test_cursor_deltas_speak_xml_and_gzip_like_legacy_deltas() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    response = _cursor(harness, 0, accept="application/xml", accept_encoding="gzip")
    assert header(response, "content-encoding") == "gzip"
    assert header(response, "content-type") == "application/xml"
    assert _entries(_decode(response)) == [("A", "a-1", ActionType.ADDED)]


def test_the_epoch_may_come_as_a_query_parameter() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    result = harness.request("GET", "/eureka/apps/delta", f"since=0&epoch={harness.app.epoch}")
    assert isinstance(result, Response) and result.status == 200


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("another epoch", "is not this server's"),
        ("ahead", "is ahead of this server's 1"),
        ("too old", "is older than the change log holds (oldest 1)"),
    ],
)
def test_cursors_that_cannot_be_answered_get_410_with_a_reason(case: str, reason: str) -> None:
    harness = make_app(cursor_log_max_entries=0)
    harness.register_new("A", "a-1")
    harness.clock.advance(181)
    harness.register_new("A", "a-2")
    harness.registry.prune_delta_queue()
    assert harness.registry.oldest_revision == 1
    since, epoch = {
        "another epoch": (1, "0123abcd-1"),
        "ahead": (3, None),
        "too old": (0, None),
    }[case]
    if case == "ahead":
        reason = f"is ahead of this server's {harness.registry.revision}"
    response = _cursor(harness, since, epoch=epoch)
    assert response.status == 410
    assert reason in response.body.decode()
    assert header(response, "x-eureka-epoch") == harness.app.epoch
    assert header(response, "x-eureka-revision") == str(harness.registry.revision)
    assert header(response, "x-eureka-features") is not None


def test_another_node_or_a_restart_is_another_epoch() -> None:
    first = make_app()
    assert make_app().app.epoch == first.app.epoch  # same node, same start
    assert make_app(server={"port": 9999}).app.epoch != first.app.epoch
    assert make_app(start_ms=START_MS + 1).app.epoch != first.app.epoch


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("since=abc", "since must be a revision"),
        ("since=-1", "since must be a revision"),
        ("since=1&wait=soon", "wait must be a number"),
        ("since=1&wait=-5", "wait must be a number of seconds >= 0"),
        ("wait=5", "wait needs since"),
        ("since=1&regions=us-west", "drop regions"),
        ("apps=A&regions=us-west", "cannot be combined with regions"),
        ("apps=", "apps must name at least one application"),
    ],
)
def test_bad_cursor_requests_get_400_and_change_nothing(query: str, reason: str) -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    revision = harness.registry.revision
    before = harness.cache.get(CacheKey(EntityType.ALL_APPS))
    result = harness.request(
        "GET", "/eureka/apps/delta", query, {"x-eureka-epoch": harness.app.epoch}
    )
    assert isinstance(result, Response)
    assert result.status == 400
    assert reason in result.body.decode()
    assert harness.registry.revision == revision
    assert harness.cache.get(CacheKey(EntityType.ALL_APPS)) is before


def test_since_without_an_epoch_is_refused() -> None:
    harness = make_app()
    result = harness.request("GET", "/eureka/apps/delta", "since=0")
    assert isinstance(result, Response) and result.status == 400
    assert b"epoch" in result.body


def test_cursor_deltas_are_refused_like_deltas_while_reads_are() -> None:
    harness = make_app(disable_delta=True)
    assert header(harness.get("/eureka/apps"), "x-eureka-features") == "digest,subset"
    assert _cursor(harness, 0).status == 403
    starting = make_app()
    starting.app.ready = False
    assert _cursor(starting, 0).status == 403


def test_a_subset_delta_lists_only_its_applications_with_their_hash_and_digest() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    harness.register_new("B", "b-1")
    harness.register_new("C", "c-1", status=InstanceStatus.DOWN)
    harness.request("PUT", "/eureka/apps/B/b-1/status", "value=OUT_OF_SERVICE")
    response = _cursor(harness, 0, "&apps=c,%20b")
    delta = _decode(response)
    assert sorted(_entries(delta)) == [
        ("B", "b-1", ActionType.MODIFIED),
        ("C", "c-1", ActionType.ADDED),
    ]
    full = harness.registry.full_view()
    subset = [i for i in full.iter_instances() if i.app in ("B", "C")]
    assert delta.apps_hashcode == reconcile_hash(subset) == "DOWN_1_OUT_OF_SERVICE_1_"
    truth = per_app_digests(full)
    assert header(response, "x-eureka-digest") == format_digest(truth["B"] + truth["C"])


def test_a_subset_full_fetch_shows_its_applications_only() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    harness.register_new("B", "b-1")
    harness.register_new("B", "b-2")
    response = harness.get("/eureka/apps", "apps=b,nope", **JSON)
    assert response.status == 200
    view = _decode(response)
    assert view.version == 1
    assert sorted(i.id for i in view.iter_instances()) == ["b-1", "b-2"]
    assert view.apps_hashcode == "UP_2_"
    truth = per_app_digests(harness.registry.full_view())
    assert header(response, "x-eureka-digest") == format_digest(truth["B"])
    assert header(response, "x-eureka-revision") == "3"


def test_a_legacy_delta_narrowed_to_a_subset_shows_the_window_of_those_apps() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    harness.clock.advance(181)
    harness.register_new("A", "a-2")
    harness.register_new("B", "b-1")
    harness.registry.prune_delta_queue()
    response = harness.get("/eureka/apps/delta", "apps=A", **JSON)
    view = _decode(response)
    assert [i.id for i in view.iter_instances()] == ["a-2"]
    assert view.version == harness.registry.revision
    assert view.apps_hashcode == "UP_2_"


def test_a_legacy_request_gets_the_cached_legacy_bytes() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    harness.request("PUT", "/eureka/apps/A/a-1/status", "value=OUT_OF_SERVICE")
    for path, entity in (("/eureka/apps", EntityType.ALL_APPS), ("/eureka/apps/delta", None)):
        response = harness.get(path, **JSON)
        if entity is not None:
            cached = harness.cache.get(CacheKey(entity))
            assert cached is not None and response.body == cached.body
        else:
            # Each delta generation numbers itself (versions__delta); the rest is the cache's.
            view = _decode(response)
            assert _entries(view) == [("A", "a-1", ActionType.MODIFIED)]
            assert view.version == 1


def test_changes_made_while_a_client_reconnects_are_in_its_next_answer() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    first = _cursor(harness, 0)
    revision = int(header(first, "x-eureka-revision") or -1)
    # Between two requests, several changes to the same instance and to others:
    harness.request("PUT", "/eureka/apps/A/a-1/status", "value=OUT_OF_SERVICE")
    harness.request("PUT", "/eureka/apps/A/a-1/status", "value=UP")
    harness.register_new("B", "b-1")
    second = _decode(_cursor(harness, revision))
    assert [(i.id, i.status) for i in second.iter_instances()] == [
        ("a-1", InstanceStatus.UP),
        ("b-1", InstanceStatus.UP),
    ]
    assert second.version == revision + 3


def test_cursor_payloads_are_encoded_once_per_revision_for_many_clients() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    builds = harness.app.payloads.builds
    bodies = {_cursor(harness, 0).body for _ in range(100)}
    assert len(bodies) == 1
    assert harness.app.payloads.builds == builds + 1
    harness.register_new("A", "a-2")
    _cursor(harness, 0)
    assert harness.app.payloads.builds == builds + 2

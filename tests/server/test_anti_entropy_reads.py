"""What a peer's anti-entropy round asks of a node: digests by tag, and recent cancels."""

from __future__ import annotations

import json

from eureka.digest import format_digest
from tests.registry.support import START_MS
from tests.server.app_support import header, make_app


def test_digests_answer_304_when_the_callers_total_matches() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    first = harness.get("/eureka/apps/digests")
    tag = header(first, "etag")
    assert tag == f'W/"{format_digest(harness.registry.digest)}"'

    same = harness.get("/eureka/apps/digests", if_none_match=tag)
    assert (same.status, same.body) == (304, b"")
    assert header(same, "x-eureka-digest") == format_digest(harness.registry.digest)

    harness.register_new("A", "a-2")
    changed = harness.get("/eureka/apps/digests", if_none_match=tag)
    assert changed.status == 200
    assert json.loads(changed.body)["digest"] == format_digest(harness.registry.digest)


def test_cancelled_lists_recent_cancels_of_the_named_applications() -> None:
    harness = make_app()
    for app, iid in (("A", "a-1"), ("A", "a-2"), ("B", "b-1")):
        harness.register_new(app, iid)
    harness.clock.advance(1)
    for app, iid in (("A", "a-1"), ("B", "b-1")):
        assert harness.request("DELETE", f"/eureka/apps/{app}/{iid}").status == 200  # type: ignore[union-attr]

    response = harness.get("/eureka/peerreplication/cancelled", "apps=a,c")

    assert response.status == 200
    assert json.loads(response.body) == {"applications": {"A": {"a-1": START_MS + 1000}}}


def test_cancelled_without_apps_is_refused_and_changes_nothing() -> None:
    harness = make_app()
    revision = harness.registry.revision
    assert harness.get("/eureka/peerreplication/cancelled").status == 400
    assert harness.get("/eureka/peerreplication/other").status == 404
    assert harness.registry.revision == revision

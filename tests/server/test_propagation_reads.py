"""Epoch, revision, digest and features headers, and `GET /apps/digests`, on an in-process app.

The bodies legacy clients read are untouched (the Java fixtures and the integration tests check
the bytes); these tests check what is added, in headers and new endpoints only.
"""

from __future__ import annotations

import json

from eureka.digest import format_digest, per_app_digests
from tests.server.app_support import header, make_app


def test_every_response_advertises_the_features() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    for response in (
        harness.get("/eureka/apps"),
        harness.get("/eureka/apps/NOPE"),
        harness.get("/eureka/nothing-here"),
        harness.get("/eureka/status"),
    ):
        features = header(response, "x-eureka-features")
        assert features is not None and "digest" in features.split(",")


def test_full_and_app_reads_carry_epoch_revision_and_digest() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    harness.register_new("B", "b-1")
    registry = harness.registry
    full = harness.get("/eureka/apps", accept="application/json")
    assert header(full, "x-eureka-epoch") == harness.app.epoch
    assert header(full, "x-eureka-revision") == str(registry.revision) == "2"
    truth = per_app_digests(registry.full_view())
    assert header(full, "x-eureka-digest") == format_digest(sum(truth.values()))
    app = harness.get("/eureka/apps/a", accept="application/json", accept_encoding="gzip")
    assert header(app, "content-encoding") == "gzip"
    assert header(app, "x-eureka-digest") == format_digest(truth["A"])
    vip = harness.get("/eureka/vips/a")
    assert header(vip, "x-eureka-revision") == "2" and header(vip, "x-eureka-digest") is None


def test_the_read_only_tier_serves_no_revision_it_cannot_vouch_for() -> None:
    harness = make_app(use_read_only_response_cache=True)
    harness.register_new("A", "a-1")
    full = harness.get("/eureka/apps")
    assert header(full, "x-eureka-epoch") == harness.app.epoch
    assert header(full, "x-eureka-revision") is None
    assert header(full, "x-eureka-digest") is None


def test_digests_lists_every_application_with_the_total() -> None:
    harness = make_app()
    harness.register_new("B", "b-1")
    harness.register_new("A", "a-1")
    harness.register_new("A", "a-2")
    response = harness.get("/eureka/apps/digests")
    assert response.status == 200
    body = json.loads(response.body)
    truth = per_app_digests(harness.registry.full_view())
    assert body == {
        "epoch": harness.app.epoch,
        "revision": 3,
        "digest": format_digest(sum(truth.values())),
        "applications": {"A": format_digest(truth["A"]), "B": format_digest(truth["B"])},
    }
    assert list(body["applications"]) == ["A", "B"]
    assert header(response, "x-eureka-digest") == body["digest"]
    assert header(response, "x-eureka-revision") == "3"


def test_digests_of_a_subset_omit_unknown_applications() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    harness.register_new("B", "b-1")
    body = json.loads(harness.get("/eureka/apps/digests", "apps=b,%20zzz").body)
    truth = per_app_digests(harness.registry.full_view())
    assert body["applications"] == {"B": format_digest(truth["B"])}
    assert body["digest"] == format_digest(truth["B"])


def test_digests_follow_every_change() -> None:
    harness = make_app()
    harness.register_new("A", "a-1")
    first = json.loads(harness.get("/eureka/apps/digests").body)
    harness.request("PUT", "/eureka/apps/A/a-1/status", "value=OUT_OF_SERVICE")
    second = json.loads(harness.get("/eureka/apps/digests").body)
    assert second["revision"] == first["revision"] + 1
    assert second["applications"]["A"] != first["applications"]["A"]


def test_bad_subsets_are_refused_with_a_reason() -> None:
    harness = make_app()
    for query, reason in (
        ("apps=", "apps must name at least one application"),
        ("apps=,,", "apps must name at least one application"),
        ("apps=" + ",".join(f"A{n}" for n in range(1025)), "at most 1024"),
    ):
        response = harness.get("/eureka/apps/digests", query)
        assert response.status == 400
        assert reason in response.body.decode()


def test_an_app_named_digests_is_still_reachable_in_upper_case() -> None:
    harness = make_app()
    harness.register_new("DIGESTS", "d-1")
    assert harness.get("/eureka/apps/DIGESTS").status == 200
    assert json.loads(harness.get("/eureka/apps/digests").body)["applications"].keys() == {
        "DIGESTS"
    }

"""The dashboard's page, assets and JSON feeds, driven through `EurekaApp` on a ManualClock."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest

from eureka.model import InstanceStatus
from tests.registry.support import instance
from tests.server.app_support import AppHarness, header, make_app

HOSTILE = "</script><script>alert(1)</script>"


def _json(t: AppHarness, path: str, query: str = "") -> Any:
    response = t.get(path, query)
    assert response.status == 200, (response.status, response.body)
    return msgspec.json.decode(response.body)


def _initial(page: str) -> Any:
    match = re.search(r'<script id="initial" type="application/json">(.*?)</script>', page, re.S)
    assert match is not None
    return msgspec.json.decode(match.group(1))


def test_the_page_carries_the_first_snapshot_as_inert_json() -> None:
    t = make_app()
    t.registry.register(instance("SHOP", HOSTILE))
    response = t.get("/")
    page = response.body.decode()
    assert response.status == 200
    # The hostile id cannot close the data block: it appears only \\u-escaped.
    assert HOSTILE not in page and "alert(1)" in page
    initial = _initial(page)
    assert initial["status"]["registry"]["instances"] == 1
    (app,) = initial["apps"]["applications"]
    assert (app["name"], app["instances"], app["status_counts"]) == ("SHOP", 1, [["UP", 1]])
    assert 'data-api="eureka"' in page


def test_the_page_is_self_contained_under_a_strict_policy() -> None:
    t = make_app()
    response = t.get("/")
    policy = header(response, "content-security-policy") or ""
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    page = response.body.decode()
    # No external asset: every src/href is relative or a fragment.
    for url in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert not re.match(r"^[a-z]+://|^//", url), url
    for asset in re.findall(r'(?:src|href)="(static/[^"?]+)', page):
        served = t.get(f"/{asset}")
        assert served.status == 200
        assert (header(served, "content-type") or "").split(";")[0] in (
            "text/css",
            "text/javascript",
        )
    assert t.get("/static/nope.js").status == 404
    assert t.get("/static/..%2Fapp.py").status == 404


def test_application_summaries_feed_with_filter_and_revision_etag() -> None:
    t = make_app()
    t.registry.register(instance("ORDERS", "web-1"))
    t.registry.register(instance("BILLING", "web-2", status=InstanceStatus.DOWN))
    t.registry.register(instance("BILLING", "db-1"))
    body = _json(t, "/eureka/summary/apps")
    assert [a["name"] for a in body["applications"]] == ["BILLING", "ORDERS"]
    assert body["revision"] == t.registry.revision and body["instances"] == 3
    found = _json(t, "/eureka/summary/apps", "q=web")
    assert {a["name"]: a["matched"] for a in found["applications"]} == {"BILLING": 1, "ORDERS": 1}
    first = t.get("/eureka/summary/apps")
    etag = header(first, "etag")
    assert etag is not None
    assert t.get("/eureka/summary/apps", if_none_match=etag).status == 304
    t.registry.cancel("ORDERS", "web-1")
    assert t.get("/eureka/summary/apps", if_none_match=etag).status == 200


def test_instance_pages_and_their_bad_parameters() -> None:
    t = make_app()
    for n in range(7):
        t.registry.register(instance("APP", f"i-{n}"))
    page = _json(t, "/eureka/summary/apps/app", "offset=5&limit=5")
    assert (page["total"], page["offset"]) == (7, 5)
    assert [i["id"] for i in page["instances"]] == ["i-5", "i-6"]
    assert t.get("/eureka/summary/apps/NOPE").status == 404
    for query in (
        "limit=0",
        "limit=501",
        "offset=-1",
        "offset=x",
        "status=SLEEPY",
        "q=" + "a" * 201,
    ):
        response = t.get("/eureka/summary/apps/APP", query)
        assert response.status == 400, query
    assert t.get("/eureka/summary/other").status == 404


@pytest.mark.parametrize("path", ["/lastn", "/eureka/lastn"])
def test_lastn_lists_recent_leases_newest_first_and_escaped(path: str) -> None:
    t = make_app()
    t.registry.register(instance("APP", "first"))
    t.clock.advance(1)
    t.registry.register(instance("APP", HOSTILE))
    t.registry.cancel("APP", "first")
    page = t.get(path).body.decode()
    assert HOSTILE not in page and "&lt;/script&gt;" in page
    registered = page[page.index('id="registered"') :]
    assert registered.index("&lt;/script&gt;") < registered.index("first")
    cancelled = page[page.index('id="cancelled"') : page.index('id="registered"')]
    assert "first" in cancelled and "2025-08-06 17:06:41.000 UTC" in cancelled

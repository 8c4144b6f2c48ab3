"""Java's RateLimitingFilter (protocol.md §11.3) through `EurekaApp.handle`, on manual time."""

from __future__ import annotations

import json

from tests.server.node_support import call, make_node, registration

LIMITED = {
    "eureka.server.rate-limiter-enabled": "true",
    "eureka.server.rate-limiter-burst-size": "2",
    "eureka.server.rate-limiter-registry-fetch-average-rate": "4",
    "eureka.server.rate-limiter-full-fetch-average-rate": "1",
}
BROWSER = {"discoveryidentity-name": "curl"}


def _statuses(app, path: str, n: int, headers: dict[str, str]) -> list[int]:  # type: ignore[no-untyped-def]
    return [call(app, "GET", path, headers=headers).status for _ in range(n)]


def test_off_by_default() -> None:
    node, _ = make_node()
    assert set(_statuses(node.app, "/eureka/apps", 50, BROWSER)) == {200}


def test_full_fetches_beyond_the_burst_answer_503_until_tokens_refill() -> None:
    node, clock = make_node(LIMITED)
    app = node.app
    assert _statuses(app, "/eureka/apps", 3, BROWSER) == [200, 200, 503]
    # Deltas take from the registry-fetch bucket only: the full fetches spent two of its tokens.
    assert _statuses(app, "/eureka/apps/delta", 1, BROWSER) == [503]
    clock.advance(0.5)  # two registry-fetch tokens, half a full-fetch token
    assert _statuses(app, "/eureka/apps/delta", 1, BROWSER) == [200]
    assert _statuses(app, "/eureka/apps", 1, BROWSER) == [503]
    clock.advance(1)
    assert _statuses(app, "/eureka/apps", 1, BROWSER) == [200]
    limiter = json.loads(call(app, "GET", "/eureka/status").body)["rate_limiter"]
    assert limiter == {"enabled": True, "rate_limited": 3, "rate_limited_full_fetch": 2}


def test_standard_clients_and_privileged_names_are_never_limited() -> None:
    node, _ = make_node({**LIMITED, "eureka.server.rate-limiter-privileged-clients": "ops,batch"})
    app = node.app
    for name in ("DefaultClient", "DefaultServer", "ops", "batch"):
        headers = {"discoveryidentity-name": name}
        assert set(_statuses(app, "/eureka/apps", 20, headers)) == {200}, name


def test_throttling_standard_clients_limits_them_too() -> None:
    node, _ = make_node({**LIMITED, "eureka.server.rate-limiter-throttle-standard-clients": "true"})
    headers = {"discoveryidentity-name": "DefaultClient"}
    assert _statuses(node.app, "/eureka/apps", 3, headers) == [200, 200, 503]


def test_writes_and_instance_reads_are_never_limited() -> None:
    node, _ = make_node(LIMITED)
    app = node.app
    json_type = {"content-type": "application/json", **BROWSER}
    for n in range(10):
        body = registration("APP", f"i-{n}")
        assert call(app, "POST", "/eureka/apps/APP", headers=json_type, body=body).status == 204
        assert call(app, "PUT", f"/eureka/apps/APP/i-{n}", headers=BROWSER).status == 200
        assert call(app, "GET", f"/eureka/apps/APP/i-{n}", headers=BROWSER).status == 200
    # Application reads count against the registry-fetch bucket, like Java's `…/apps/<app>`.
    assert _statuses(app, "/eureka/apps/APP", 3, BROWSER) == [200, 200, 503]

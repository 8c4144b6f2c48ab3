"""Liveness and readiness at Spring Boot's actuator paths: 503 only while reads are refused."""

from __future__ import annotations

import msgspec

from tests.server.app_support import make_app


def _body(response_body: bytes) -> object:
    return msgspec.json.decode(response_body)


def test_a_serving_node_is_live_and_ready() -> None:
    t = make_app()
    for path in ("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness"):
        response = t.get(path)
        assert response.status == 200, path
        assert _body(response.body)["status"] == "UP"  # type: ignore[index]
    # Under the API prefix too, and HEAD for probes that only look at the code.
    assert t.get("/eureka/actuator/health/readiness").status == 200
    head = t.request("HEAD", "/actuator/health")
    assert getattr(head, "status", None) == 200


def test_during_the_start_up_sync_readiness_is_503_and_liveness_stays_200() -> None:
    t = make_app()
    t.app.ready = False
    readiness = t.get("/actuator/health/readiness")
    assert readiness.status == 503
    body = _body(readiness.body)
    assert body["status"] == "OUT_OF_SERVICE"  # type: ignore[index]
    assert "start-up sync" in body["details"]["reason"]  # type: ignore[index]
    assert t.get("/actuator/health").status == 503
    assert t.get("/actuator/health/liveness").status == 200
    # The same decision as the reads themselves.
    assert t.get("/eureka/apps").status == 403
    t.app.ready = True
    assert t.get("/actuator/health/readiness").status == 200
    assert t.get("/eureka/apps").status == 200


def test_the_empty_sync_wait_window_is_not_ready_until_it_ends() -> None:
    # A sync that copied nothing from nobody: Java refuses reads for the wait window (§6.12).
    t = make_app(default_open_for_traffic_count=0, wait_time_in_ms_when_sync_empty=5_000)
    assert t.get("/eureka/apps").status == 403
    response = t.get("/actuator/health")
    assert response.status == 503
    body = _body(response.body)
    assert body["components"]["readinessState"]["status"] == "OUT_OF_SERVICE"  # type: ignore[index]
    assert body["components"]["livenessState"] == {"status": "UP"}  # type: ignore[index]
    t.clock.advance(6)
    assert t.get("/actuator/health").status == 200
    assert t.get("/eureka/apps").status == 200


def test_unknown_actuator_paths_are_404_and_writes_405() -> None:
    t = make_app()
    assert t.get("/actuator/env").status == 404
    assert t.get("/actuator/health/other").status == 404
    response = t.request("POST", "/actuator/health")
    assert getattr(response, "status", None) == 405


def test_with_authenticated_reads_probes_stay_open_and_metrics_do_not() -> None:
    import base64

    from eureka.server.auth import encode_password
    from tests.server.node_support import call, make_node

    node, _ = make_node(
        {
            "eureka.server.auth.users.ops.password": encode_password("ops-secret", "sha256"),
            "eureka.server.auth.users.ops.roles": "client",
            "eureka.server.auth.read-access": "authenticated",
        }
    )
    token = base64.b64encode(b"ops:ops-secret").decode()
    for path in ("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness"):
        assert call(node.app, "GET", path).status == 200, path
    # Spring's Prometheus path is the /metrics route, with its policy: application names and
    # counts are registry reads.
    for path in ("/metrics", "/actuator/prometheus"):
        assert call(node.app, "GET", path).status == 401, path
        authorised = call(node.app, "GET", path, headers={"authorization": f"Basic {token}"})
        assert authorised.status == 200 and b"eureka_registry_instances" in authorised.body

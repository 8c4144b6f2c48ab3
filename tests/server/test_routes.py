from __future__ import annotations

import pytest

from eureka.server.routes import Route, route

PREFIX = ("eureka",)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/eureka/apps", Route("apps", (), v1=False)),
        ("/eureka/apps/", Route("apps", (), v1=False)),
        ("/eureka/v2/apps/", Route("apps", (), v1=False)),
        ("/eureka/V1/apps", Route("apps", (), v1=True)),
        ("/eureka/anything/apps", Route("apps", (), v1=False)),
        ("/v2/apps", Route("apps", (), v1=False)),
        ("/apps/ORDER", Route("apps", ("ORDER",), v1=False)),
        (
            "/eureka/apps/A/10.0.1.13%3Aorder%3A8080",
            Route("apps", ("A", "10.0.1.13:order:8080"), v1=False),
        ),
        ("/eureka/apps/A/x:y/status", Route("apps", ("A", "x:y", "status"), v1=False)),
        ("/eureka/serverinfo/statusoverrides", Route("serverinfo", ("statusoverrides",), v1=False)),
        ("/eureka/", Route("", (), v1=False)),
        ("/", Route("", (), v1=False)),
    ],
)
def test_route(path: str, expected: Route) -> None:
    assert route(path, PREFIX) == expected


@pytest.mark.parametrize("path", ["/eureka/nothing", "/favicon.ico", "/eureka/x/y/apps"])
def test_unknown_paths_do_not_route(path: str) -> None:
    assert route(path, PREFIX) is None


def test_spring_boots_prometheus_path_is_the_metrics_route() -> None:
    # So that it carries the metrics row's access policy, not the open health probes' one.
    assert route("/actuator/prometheus", ("eureka",)) == Route("metrics", (), v1=False)
    assert route("/eureka/actuator/prometheus", ("eureka",)) == Route("metrics", (), v1=False)
    assert route("/actuator/health", ("eureka",)) == Route("actuator", ("health",), v1=False)

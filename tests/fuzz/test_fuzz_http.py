"""The same fuzzing over real HTTP against a `eureka server` process: a share of the requests go
through the real serving stack (request parsing, body limits, gzip, the adapters)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given

from tests.fuzz.probe import HttpProbe
from tests.fuzz.strategies import FuzzRequest, eureka_request, instance_obj
from tests.fuzz.test_fuzz_in_process import SCALE, fuzz_settings, sequences
from tests.integration.server_process import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("fuzz-http")]


@pytest.fixture(scope="module")
def probe() -> Iterator[HttpProbe]:
    with ServerProcess() as server, httpx.Client(base_url=server.base, timeout=10) as client:
        for instance_id in ("i-1", "i-2"):
            body = {"instance": instance_obj("APP", instance_id, "UP")}
            assert client.post("/eureka/apps/APP", json=body).status_code == 204
        probe = HttpProbe(client)
        yield probe
        assert probe.count + probe.unsendable >= int(REQUESTS * SCALE)
        assert probe.unsendable < probe.count // 20
        assert server.proc is not None and server.proc.poll() is None, "the server died"
        assert "Traceback" not in server.output(), server.output()[-3000:]


REQUESTS = 1_000


@fuzz_settings(REQUESTS)
@given(requests=sequences(eureka_request()))
def test_real_process_answers_hostile_requests_below_500_and_4xx_changes_nothing(
    probe: HttpProbe, requests: list[FuzzRequest]
) -> None:
    for request in requests:
        probe.send(request)

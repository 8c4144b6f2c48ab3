"""Register, heartbeat with re-registration on 404, replicator and cancel (§10.4, §10.9)."""

from __future__ import annotations

import contextlib

from eureka.client.driver import run_sync
from eureka.client.messages import Request, Response
from eureka.client.registration import OwnInstance, RegistrationCore
from eureka.client.state import Op
from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.model import InstanceStatus
from tests.client.fakes import FakeEurekaServer, make_instance


def setup() -> tuple[FakeEurekaServer, RegistrationCore, ManualClock]:
    clock = ManualClock()
    own = OwnInstance(make_instance("me", 1), clock)
    return FakeEurekaServer(), RegistrationCore(own, clock), clock


def run(server: FakeEurekaServer, op: Op[object]) -> object:
    def send(request: Request) -> Response:
        return server.request(
            request.method,
            request.path,
            params=request.params,
            headers=request.headers,
            body=request.body,
        )

    return run_sync(op, send)


def test_register_posts_the_instance_as_dialect_a_json() -> None:
    server, core, _ = setup()
    assert run(server, core.register()) is True
    request = server.requests[0]
    assert (request.method, request.path) == ("POST", "apps/ME")
    assert request.headers["Content-Type"] == "application/json"
    sent = json_codec.decode_instance(request.body or b"")
    assert sent.id == core.own.id and sent.status is InstanceStatus.UP
    assert core.counters.registrations == 1


def test_register_succeeds_only_on_204() -> None:
    server, core, _ = setup()
    server.status_for["POST apps/ME"] = 200
    assert run(server, core.register()) is False
    assert core.counters.registration_failures == 1


def test_heartbeat_sends_status_and_last_dirty_timestamp() -> None:
    server, core, _ = setup()
    run(server, core.register())
    result = run(server, core.renew())
    assert result.ok and result.status == 200  # type: ignore[attr-defined]
    request = server.requests[-1]
    assert (request.method, request.path) == ("PUT", f"apps/ME/{core.own.id}")
    assert request.params == {
        "status": "UP",
        "lastDirtyTimestamp": str(core.own.info.last_dirty_timestamp),
    }


def test_heartbeat_404_marks_dirty_and_reregisters() -> None:
    server, core, clock = setup()
    clock.advance(5)
    result = run(server, core.renew())  # the server does not know us
    assert result.ok and result.reregistered  # type: ignore[attr-defined]
    assert server.paths() == [f"PUT apps/ME/{core.own.id}", "POST apps/ME"]
    sent = json_codec.decode_instance(server.requests[1].body or b"")
    assert sent.last_dirty_timestamp == clock.now_ms()  # dirtied with the client clock
    assert not core.own.dirty
    assert core.counters.reregistrations == 1


def test_heartbeat_404_with_failed_registration_counts_as_failure_and_stays_dirty() -> None:
    server, core, _ = setup()
    server.status_for["POST apps/ME"] = 500
    result = run(server, core.renew())
    assert not result.ok  # type: ignore[attr-defined]
    assert core.own.dirty
    assert core.counters.heartbeat_failures == 1


def test_heartbeat_transport_failure() -> None:
    server, core, _ = setup()
    server.failures = 1
    result = run(server, core.renew())
    assert not result.ok and result.status is None  # type: ignore[attr-defined]


def test_replicator_publishes_when_dirty_and_clears_the_flag_even_on_failure() -> None:
    server, core, _ = setup()
    assert run(server, core.replicate()) is None  # clean: nothing sent
    assert server.requests == []
    core.own.set_status(InstanceStatus.DOWN)
    server.status_for["POST apps/ME"] = 500
    assert run(server, core.replicate()) is False
    assert not core.own.dirty  # Java clears it whatever the result (§10.9)


def test_a_change_during_the_publish_keeps_the_instance_dirty() -> None:
    server, core, _ = setup()
    core.own.set_status(InstanceStatus.DOWN)
    op = core.replicate()
    request = next(op)
    core.own.update_metadata({"zone": "b"})  # arrives while the registration is in flight
    with contextlib.suppress(StopIteration):
        op.send(server.request(request.method, request.path, body=request.body))
    assert core.own.dirty


def test_cancel_is_best_effort() -> None:
    server, core, _ = setup()
    run(server, core.register())
    assert run(server, core.cancel()) == 200
    assert run(server, core.cancel()) == 404
    server.failures = 1
    assert run(server, core.cancel()) is None


def test_status_and_metadata_changes_mark_dirty_only_when_they_change_something() -> None:
    _, core, _ = setup()
    assert core.own.set_status(InstanceStatus.UP) is None and not core.own.dirty
    assert core.own.set_status(InstanceStatus.DOWN) is InstanceStatus.UP and core.own.dirty
    stamp = core.own.dirty_stamp()
    assert stamp is not None
    core.own.clear_dirty(stamp)
    assert not core.own.update_metadata({}) and not core.own.dirty
    assert core.own.update_metadata({"k": "v"}) and core.own.dirty

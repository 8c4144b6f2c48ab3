"""The operator commands against a real `eureka server` process (and a Java-like stub)."""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from eureka.cli import main
from tests.conftest import JAVA_HTTP
from tests.integration.server_process import ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("cli-ops")]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _apps_json(capsys: pytest.CaptureFixture[str], server: ServerProcess, *app: str) -> Any:
    code, out, _ = _cli(capsys, "apps", *app, "--json", "--server", server.url)
    assert code == 0
    return json.loads(out)


def _instances(document: Any, app: str) -> dict[str, Any]:
    for application in document["applications"]:
        if application["name"] == app:
            return {i["instance_id"]: i for i in application["instances"]}
    return {}


def test_register_list_override_metadata_and_deregister(
    shared_server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    url = shared_server.url
    code, out, _ = _cli(
        capsys,
        "register", "cli-orders", "--host", "127.0.0.1", "--port", "8080",
        "--metadata", "zone=a", "--server", url,
    )  # fmt: skip
    assert (code, out) == (0, f"registered CLI-ORDERS/127.0.0.1:cli-orders:8080 on {url}\n")
    instance = _instances(_apps_json(capsys, shared_server), "CLI-ORDERS")[
        "127.0.0.1:cli-orders:8080"
    ]
    assert instance["status"] == "UP"
    assert (instance["host_name"], instance["port"], instance["metadata"]) == (
        "127.0.0.1",
        8080,
        {"zone": "a"},
    )
    assert instance["renewed_ago_s"] is not None and instance["renewed_ago_s"] < 30

    code, out, _ = _cli(capsys, "apps", "cli-orders", "--server", url)
    assert code == 0
    assert "127.0.0.1:cli-orders:8080" in out and "UP" in out and "127.0.0.1:8080" in out

    iid = "127.0.0.1:cli-orders:8080"
    assert _cli(capsys, "out-of-service", "cli-orders", iid, "--server", url)[0] == 0
    instance = _instances(_apps_json(capsys, shared_server, "CLI-ORDERS"), "CLI-ORDERS")[iid]
    assert (instance["status"], instance["overridden_status"]) == ("OUT_OF_SERVICE",) * 2

    assert _cli(capsys, "in-service", "cli-orders", iid, "--server", url)[0] == 0
    instance = _instances(_apps_json(capsys, shared_server, "CLI-ORDERS"), "CLI-ORDERS")[iid]
    assert (instance["status"], instance["overridden_status"]) == ("UP", "UNKNOWN")

    assert _cli(capsys, "metadata", "set", "cli-orders", iid, "version=2", "--server", url)[0] == 0
    instance = _instances(_apps_json(capsys, shared_server, "CLI-ORDERS"), "CLI-ORDERS")[iid]
    assert instance["metadata"] == {"zone": "a", "version": "2"}

    assert _cli(capsys, "deregister", "cli-orders", iid, "--server", url)[0] == 0
    assert _instances(_apps_json(capsys, shared_server), "CLI-ORDERS") == {}
    code, _, err = _cli(capsys, "deregister", "cli-orders", iid, "--server", url)
    assert (code, err) == (1, f"eureka: CLI-ORDERS/{iid} is not registered on {url}\n")
    code, _, err = _cli(capsys, "apps", "cli-orders", "--server", url)
    assert (code, err) == (1, f"eureka: {url} has no application CLI-ORDERS\n")


def test_several_servers_are_tried_in_turn(
    shared_server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/eureka/"
    code, out, _ = _cli(capsys, "status", "--json", "--server", f"{dead},{shared_server.url}")
    assert code == 0
    document = json.loads(out)
    assert document["node"]["port"] == shared_server.port
    assert set(document) >= {"registry", "self_preservation", "peers"}


def test_status_shows_the_node_state(
    shared_server: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, "status", "--server", shared_server.url)
    assert code == 0
    assert "serving reads" in out
    assert "revision" in out
    # FAST_SETTINGS switch self-preservation off: the command says what that means.
    assert "self-preservation  off: leases always expire" in out


def test_watch_prints_changes_as_json_lines(shared_server: ServerProcess) -> None:
    watcher = subprocess.Popen(
        [sys.executable, "-m", "eureka", "watch", "CLI-WATCHED", "--json", "--count", "3",
         "--interval", "0.2", "--server", shared_server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    try:
        assert watcher.stderr is not None and watcher.stdout is not None
        assert "watching CLI-WATCHED" in watcher.stderr.readline()
        stdout = watcher.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        base = f"{shared_server.base}/eureka/apps"
        _register(shared_server, "CLI-OTHER", "o-1")  # not watched
        _register(shared_server, "CLI-WATCHED", "w-1")
        added = json.loads(lines.get(timeout=10))
        httpx.put(f"{base}/CLI-WATCHED/w-1/status", params={"value": "OUT_OF_SERVICE"})
        status = json.loads(lines.get(timeout=10))
        httpx.delete(f"{base}/CLI-WATCHED/w-1")
        removed = json.loads(lines.get(timeout=10))
        watcher.wait(timeout=10)
    finally:
        watcher.kill()
    changes = [added, status, removed]
    assert [(c["change"], c["app"], c["instance_id"], c["status"]) for c in changes] == [
        ("added", "CLI-WATCHED", "w-1", "UP"),
        ("status", "CLI-WATCHED", "w-1", "OUT_OF_SERVICE"),
        ("removed", "CLI-WATCHED", "w-1", "OUT_OF_SERVICE"),
    ]
    assert changes[1]["previous_status"] == "UP"
    assert watcher.returncode == 0


def test_register_keep_alive_renews_and_cancels_on_sigterm(shared_server: ServerProcess) -> None:
    keeper = subprocess.Popen(
        [sys.executable, "-m", "eureka", "register", "cli-kept", "--host", "127.0.0.1",
         "--port", "7001", "--lease-duration", "2", "--renewal-interval", "1", "--keep-alive",
         "--server", shared_server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert keeper.stdout is not None
        assert keeper.stdout.readline().startswith("registered CLI-KEPT/127.0.0.1:cli-kept:7001")
        renewed = _lease(shared_server, "CLI-KEPT", "127.0.0.1:cli-kept:7001")
        # Evictions run every 500 ms with leases of 2 s: only renewals keep it registered.
        wait_for(
            lambda: _lease(shared_server, "CLI-KEPT", "127.0.0.1:cli-kept:7001") > renewed,
            timeout=5,
        )
        keeper.send_signal(signal.SIGTERM)
        keeper.wait(timeout=10)
    finally:
        keeper.kill()
    assert keeper.returncode == 0
    gone = httpx.get(f"{shared_server.base}/eureka/apps/CLI-KEPT/127.0.0.1:cli-kept:7001")
    assert gone.status_code == 404


def test_piped_output_has_no_colours_unless_forced(shared_server: ServerProcess) -> None:
    _register(shared_server, "CLI-COLOURS", "c-1")
    args = [sys.executable, "-m", "eureka", "apps", "CLI-COLOURS", "--server", shared_server.url]
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    plain = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert "c-1" in plain.stdout and "\x1b[" not in plain.stdout
    forced = subprocess.run(
        args, capture_output=True, text=True, env={**env, "FORCE_COLOR": "1"}, check=True
    )
    assert "\x1b[" in forced.stdout


# ---- a server that is not eureka-py ---------------------------------------------------------


class _JavaLike(BaseHTTPRequestHandler):
    """Answers like a Java Eureka server: the registry and delta from the Java fixtures, and no
    eureka-py status document."""

    seen: list[dict[str, str]] = []  # noqa: RUF012

    def do_GET(self) -> None:
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        files = {
            "/eureka/apps/": "27-get-apps-json.resp.json",
            "/eureka/apps/delta": "33-get-delta-json.resp.json",
        }
        name = files.get(self.path)
        body = (JAVA_HTTP / name).read_bytes() if name else b""
        self.send_response(200 if name else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def java_like() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JavaLike)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _JavaLike.seen = []
    try:
        yield f"http://ops:s3cret@127.0.0.1:{server.server_address[1]}/eureka/"
    finally:
        server.shutdown()
        server.server_close()


def test_status_against_a_java_server_shows_what_its_api_allows(
    java_like: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, "status", "--json", "--server", java_like)
    assert code == 0
    summary = json.loads(out)
    assert summary["kind"] == "eureka"
    assert summary["apps_hashcode"] == "OUT_OF_SERVICE_1_STARTING_1_UP_2_"
    assert summary["status_counts"] == {"OUT_OF_SERVICE": 1, "STARTING": 1, "UP": 2}
    assert summary["delta_version"] == 19
    code, out, _ = _cli(capsys, "status", "--server", java_like)
    assert "not an eureka-py node" in out
    # Credentials in the URL go out as basic auth, and never appear in what is printed.
    expected = "Basic " + base64.b64encode(b"ops:s3cret").decode()
    assert {h.get("authorization") for h in _JavaLike.seen} == {expected}
    assert "s3cret" not in out


# ---- helpers --------------------------------------------------------------------------------


def _register(server: ServerProcess, app: str, iid: str) -> None:
    body = {
        "instance": {
            "instanceId": iid,
            "hostName": "127.0.0.1",
            "app": app,
            "ipAddr": "127.0.0.1",
            "status": "UP",
            "port": {"$": 8080, "@enabled": "true"},
            "dataCenterInfo": {
                "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                "name": "MyOwn",
            },
        }
    }
    reply = httpx.post(f"{server.base}/eureka/apps/{app}", json=body)
    assert reply.status_code == 204


def _instance(server: ServerProcess, app: str, iid: str) -> dict[str, Any] | None:
    reply = httpx.get(
        f"{server.base}/eureka/apps/{app}/{iid}", headers={"Accept": "application/json"}
    )
    return reply.json()["instance"] if reply.status_code == 200 else None


def _status_is(server: ServerProcess, app: str, iid: str, status: str) -> bool:
    instance = _instance(server, app, iid)
    return instance is not None and instance["status"] == status


def _lease(server: ServerProcess, app: str, iid: str) -> int:
    instance = _instance(server, app, iid)
    assert instance is not None, "the lease expired"
    return int(instance["leaseInfo"]["lastRenewalTimestamp"])


def test_watch_long_polls_exactly_when_the_server_advertises_it(
    shared_server: ServerProcess,
) -> None:
    features = httpx.get(f"{shared_server.base}/eureka/apps/").headers.get("x-eureka-features", "")
    watcher = subprocess.Popen(
        [sys.executable, "-m", "eureka", "watch", "CLI-MODE", "--json", "--count", "1",
         "--interval", "0.2", "--wait", "5", "--server", shared_server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert watcher.stderr is not None
        announced = watcher.stderr.readline()
        _register(shared_server, "CLI-MODE", "m-1")
        out, _ = watcher.communicate(timeout=20)
    finally:
        watcher.kill()
    long_poll = "watch" in {f.strip() for f in features.split(",")}
    assert ("long-poll watch" in announced) is long_poll, (features, announced)
    assert ("delta polling" in announced) is not long_poll
    assert json.loads(out)["change"] == "added"


def test_a_second_server_on_a_busy_port_refuses_to_start(shared_server: ServerProcess) -> None:
    # Under granian the listener is bound with SO_REUSEPORT: without the check the second
    # would start too and the kernel would split clients between two registries.
    second = subprocess.run(
        [sys.executable, "-m", "eureka", "server", "--port", str(shared_server.port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert second.returncode == 1
    errors = [line for line in second.stderr.splitlines() if line.startswith("eureka:")]
    assert errors == [
        f"eureka: the server stopped: 127.0.0.1:{shared_server.port} is already in use"
    ]
    assert "Traceback" not in second.stderr
    assert httpx.get(f"{shared_server.base}/eureka/status", timeout=5).status_code == 200

"""The Docker image and the three-node compose file, where a Docker engine runs.

Skipped elsewhere (this project's CI machine has no Docker engine). By hand, the same as this
test: `docker compose up -d --build`, then `eureka status --server http://127.0.0.1:8761/eureka/`
shows the two other nodes as healthy peers, and `docker compose down`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ROOT
from tests.integration.server_process import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker")]

PROJECT = "eureka-py-test"


def _docker_works() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command on this machine"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return "docker info failed: no Docker engine is running here"
    return None


_WHY = _docker_works()
if _WHY is not None:
    pytestmark.append(pytest.mark.skip(reason=f"{_WHY}; see tests/docker/test_docker.py"))


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", "-p", PROJECT, "-f", str(ROOT / "compose.yaml"), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    _compose("up", "-d", "--build")
    try:
        yield
    finally:
        _compose("down", "--volumes", "--remove-orphans")


def _health(container: str) -> str:
    done = subprocess.run(
        ["docker", "inspect", "--format", "{{json .State.Health.Status}}", container],
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(done.stdout or '""')


def test_three_nodes_replicate_run_as_non_root_and_report_healthy(cluster: None) -> None:
    names = [f"{PROJECT}-eureka{n}-1" for n in (1, 2, 3)]
    wait_for(lambda: all(_health(name) == "healthy" for name in names), timeout=120, interval=1)
    for name in names:
        uid = subprocess.run(
            ["docker", "exec", name, "id", "-u"], capture_output=True, text=True, check=True
        )
        assert uid.stdout.strip() != "0"
    body = {
        "instance": {
            "instanceId": "docker-1",
            "hostName": "10.0.0.9",
            "app": "DOCKERED",
            "ipAddr": "10.0.0.9",
            "status": "UP",
            "port": {"$": 8080, "@enabled": "true"},
            "dataCenterInfo": {
                "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                "name": "MyOwn",
            },
        }
    }
    assert httpx.post("http://127.0.0.1:8761/eureka/apps/DOCKERED", json=body).status_code == 204
    # Replicated to the third node.
    wait_for(
        lambda: httpx.get("http://127.0.0.1:8763/eureka/apps/DOCKERED/docker-1").status_code == 200,
        timeout=30,
    )
    status = httpx.get("http://127.0.0.1:8761/eureka/status").json()
    assert sorted(p["state"]["name"] for p in status["peers"]) == ["healthy", "healthy"]

"""The registry mounted inside a FastAPI application (`app.mount`), served by uvicorn: with
`lifespan=node.lifespan` its timers run, so an expired lease is evicted."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.integration.server_process import free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("mounted-asgi")]

APP = """
from fastapi import FastAPI

from eureka.server.config import load_config
from eureka.server.node import Node

node = Node(load_config(overrides={
    "eureka.server.eviction-interval-timer-in-ms": "300",
    "eureka.server.enable-self-preservation": "false",
}))
app = FastAPI(lifespan=node.lifespan)
app.mount("/registry", node.asgi())


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
"""

INSTANCE = {
    "instance": {
        "instanceId": "m-1",
        "hostName": "127.0.0.1",
        "app": "MOUNTED",
        "ipAddr": "127.0.0.1",
        "status": "UP",
        "port": {"$": 8080, "@enabled": "true"},
        "leaseInfo": {"durationInSecs": 1},
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn",
        },
    }
}


def test_a_mounted_registry_evicts_expired_leases(tmp_path: Path) -> None:
    (tmp_path / "host_app.py").write_text(textwrap.dedent(APP))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "host_app:app", "--port", str(port), "--log-level",
         "warning"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{base}/hello") == 200, timeout=20)
        apps = f"{base}/registry/eureka/apps"
        assert httpx.post(f"{apps}/MOUNTED", json=INSTANCE).status_code == 204
        assert _get(f"{apps}/MOUNTED/m-1") == 200
        # Nobody renews the 1 s lease: the eviction timer, started by the lifespan, removes it.
        wait_for(lambda: _get(f"{apps}/MOUNTED/m-1") == 404, timeout=10)
        assert _get(f"{base}/registry/eureka/status") == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    # uvicorn shuts down gracefully, then re-raises the signal it got.
    assert proc.returncode in (0, -15), out.decode(errors="replace")
    assert b"Traceback" not in out, out.decode(errors="replace")


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0

"""The README's FastAPI example, run as written under uvicorn against a real registry: the first
calls may come before the app's own registration was fetched, and then say so clearly; after
that the call by service name reaches the registered address."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.integration.server_process import ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("readme-fastapi")]


def _example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    (app,) = [b for b in blocks if b.startswith("# app.py")]
    return app


def test_the_readme_fastapi_example_works_as_written(server: ServerProcess, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "app.py").write_text(_example())
    (tmp_path / "eureka.yaml").write_text(
        f"""
spring:
  application:
    name: order-service
server:
  port: {port}
eureka:
  client:
    service-url:
      defaultZone: {server.url}
    registry-fetch-interval-seconds: 1
  instance:
    prefer-ip-address: true
    ip-address: 127.0.0.1
"""
    )
    app = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _status(f"{base}/orders/1") == 200, timeout=20)
        answers = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            reply = httpx.get(f"{base}/via-eureka/42", timeout=5)
            answers.append(reply.status_code)
            if reply.status_code == 200:
                assert reply.json() == {"upstream": {"id": 42, "items": 3}}
                break
            time.sleep(0.2)
        assert answers[-1] == 200, answers
    finally:
        app.terminate()
        out, _ = app.communicate(timeout=15)
    log = out.decode(errors="replace")
    # Calls before the registration was fetched failed with the clear error, not a DNS one.
    raised = re.findall(r"^([\w.]+(?:Error|Registered)): (.*)$", log, flags=re.M)
    assert all(kind.endswith(".NotRegistered") for kind, _ in raised), raised
    if answers[0] != 200:
        assert "NotRegistered: order-service is not registered in Eureka yet" in log


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0

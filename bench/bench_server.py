"""Serving benchmark: our server vs nginx serving the same bytes vs bare granian, with wrk.

Installs nginx and wrk with apt-get when missing. Everything runs on loopback, bounded in time.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tests.integration.server_process import ServerProcess, free_port

from bench.table import print_table
from eureka.model import DataCenterInfo, InstanceInfo, LeaseInfo
from eureka.replication.protocol import Action, ReplicationInstance, encode_batch

DURATION = os.environ.get("BENCH_WRK_DURATION", "5s")
CONNECTIONS = 64
APPS = 50
RETENTION_MS = 10_000

RENEW_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local i = (counter * 7919) %% %(n)d
  return wrk.format("PUT", "%(prefix)s" .. "APP-" .. (i %% %(apps)d) .. "/inst-" .. i)
end
"""


def _ensure_tools() -> None:
    missing = [tool for tool in ("nginx", "wrk") if shutil.which(tool) is None]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx-light", "wrk"], check=True, env=env
        )


def _instance(i: int) -> InstanceInfo:
    app = f"APP-{i % APPS}"
    return InstanceInfo(
        app=app,
        instance_id=f"inst-{i}",
        host_name=f"10.1.{i // 250}.{i % 250}",
        ip_addr=f"10.1.{i // 250}.{i % 250}",
        port=8080,
        data_center_info=DataCenterInfo("MyOwn"),
        lease_info=LeaseInfo(renewal_interval_in_secs=30, duration_in_secs=3600),
        metadata={"management.port": "8081", "zone": f"zone-{i % 3}"},
        home_page_url=f"http://10.1.{i // 250}.{i % 250}:8080/",
        status_page_url=f"http://10.1.{i // 250}.{i % 250}:8080/actuator/info",
        health_check_url=f"http://10.1.{i // 250}.{i % 250}:8080/actuator/health",
        vip_address=app.lower(),
        secure_vip_address=app.lower(),
        last_dirty_timestamp=1754500000000 + i,
    )


def _populate(base: str, start: int, count: int) -> None:
    with httpx.Client(timeout=60) as client:
        for first in range(start, start + count, 250):
            items = [
                ReplicationInstance(
                    app_name=f"APP-{i % APPS}",
                    id=f"inst-{i}",
                    action=Action.REGISTER,
                    last_dirty_timestamp=1754500000000 + i,
                    overridden_status=None,
                    status="UP",
                    instance_info=_instance(i),
                )
                for i in range(first, min(first + 250, start + count))
            ]
            response = client.post(
                f"{base}/eureka/peerreplication/batch/",
                content=encode_batch(items),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            response.raise_for_status()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _wrk(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    script: str | None = None,
    connections: int = CONNECTIONS,
) -> tuple[float, str]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{DURATION}", "--latency"]
    for key, value in (headers or {}).items():
        args += ["-H", f"{key}: {value}"]
    if script:
        args += ["-s", script]
    out = subprocess.run(
        [*args, url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"  (wrk saw {errors.group(1)} non-2xx responses on {url})", file=sys.stderr)
    return rps, p99.group(1) if p99 else "?"


def _nginx(root: Path, port: int) -> subprocess.Popen[bytes]:
    conf = root / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root}/tmp;
  proxy_temp_path {root}/tmp;
  fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp;
  scgi_temp_path {root}/tmp;
  server {{
    listen 127.0.0.1:{port};
    location /renew/ {{ return 200; }}
    location / {{
      root {root}/www;
      default_type application/json;
      add_header Content-Encoding gzip;
    }}
  }}
}}
"""
    )
    (root / "tmp").mkdir(exist_ok=True)
    return subprocess.Popen(["nginx", "-c", str(conf)], stderr=subprocess.DEVNULL)


def _wait_http(url: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def _fetch_gzip(url: str) -> bytes:
    with httpx.Client() as client:
        request = client.build_request(
            "GET", url, headers={"Accept": "application/json", "Accept-Encoding": "gzip"}
        )
        response = client.send(request, stream=True)
        body = b"".join(response.iter_raw())
        response.close()
        return body


def run() -> None:
    _ensure_tools()
    # A short delta retention lets the 10k registrations of the set-up age out of the delta, so
    # that the delta measured is a realistic one (20 recent changes), not the whole registry.
    settings = {
        "eureka.server.enable-self-preservation": "false",
        "eureka.server.retention-time-in-m-s-in-delta-queue": str(RETENTION_MS),
        "eureka.server.delta-retention-timer-interval-in-ms": "500",
    }
    server = ServerProcess(settings=settings).start()
    root = Path(tempfile.mkdtemp(prefix="eureka-bench-"))
    # nginx's workers run as an unprivileged user: they must be able to read the files.
    root.chmod(0o755)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        assert server.proc is not None
        rss_empty = _rss_kb(server.proc.pid)
        _populate(server.base, 0, 10_000)
        rss_10k = _rss_kb(server.proc.pid)
        time.sleep(RETENTION_MS / 1000 + 1)
        with httpx.Client() as client:
            for i in range(20):
                client.put(f"{server.base}/eureka/apps/APP-{i % APPS}/inst-{i}/status?value=DOWN")
        apps_url = f"{server.base}/eureka/apps"
        delta_url = f"{server.base}/eureka/apps/delta"
        (root / "www").mkdir()
        (root / "www" / "apps").write_bytes(_fetch_gzip(apps_url))
        (root / "www" / "delta").write_bytes(_fetch_gzip(delta_url))

        nginx_port, bare_port = free_port(), free_port()
        processes.append(_nginx(root, nginx_port))
        bare_env = dict(os.environ, BARE_BODY_DIR=str(root / "www"))
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "granian",
                    "--interface",
                    "rsgi",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(bare_port),
                    "--backpressure",
                    "16384",
                    "--log-level",
                    "warning",
                    "bench.bare_rsgi:app",
                ],
                env=bare_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        _wait_http(f"http://127.0.0.1:{nginx_port}/apps")
        _wait_http(f"http://127.0.0.1:{bare_port}/apps")

        gz = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        rows = []
        for label, ours, ref in (
            ("GET /eureka/apps (10k, gzip)", apps_url, "/apps"),
            ("GET /eureka/apps/delta (20 changes, gzip)", delta_url, "/delta"),
        ):
            n_rps, _ = _wrk(f"http://127.0.0.1:{nginx_port}{ref}", headers=gz)
            b_rps, _ = _wrk(f"http://127.0.0.1:{bare_port}{ref}", headers=gz)
            o_rps, o_p99 = _wrk(ours, headers=gz)
            rows.append(
                (
                    label,
                    f"{n_rps:,.0f}",
                    f"{b_rps:,.0f}",
                    f"{o_rps:,.0f}",
                    f"{o_rps / n_rps:.2f}",
                    f"{o_rps / b_rps:.2f}",
                    o_p99,
                )
            )

        script = root / "renew.lua"
        script.write_text(RENEW_LUA % {"n": 10_000, "apps": APPS, "prefix": "/eureka/apps/"})
        nscript = root / "renew_nginx.lua"
        nscript.write_text(RENEW_LUA % {"n": 10_000, "apps": APPS, "prefix": "/renew/"})
        n_rps, _ = _wrk(f"http://127.0.0.1:{nginx_port}/", script=str(nscript))
        b_rps, _ = _wrk(f"http://127.0.0.1:{bare_port}/", script=str(nscript))
        o_rps, o_p99 = _wrk(server.base, script=str(script))
        rows.append(
            (
                "PUT renew (spread over 10k)",
                f"{n_rps:,.0f}",
                f"{b_rps:,.0f}",
                f"{o_rps:,.0f}",
                f"{o_rps / n_rps:.2f}",
                f"{o_rps / b_rps:.2f}",
                o_p99,
            )
        )

        # A client fleet polls, it does not saturate: 8 connections of GETs while 100 status
        # changes per second arrive from another process.
        seconds = float(DURATION.rstrip("s"))
        churner = subprocess.Popen(
            [sys.executable, "-m", "bench.churn", server.base, "100", str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        c_rps, c_p99 = _wrk(apps_url, headers=gz, connections=8)
        out, _ = churner.communicate(timeout=60)
        changes, change_p99 = out.split()
        rows.append(
            (
                f"GET /eureka/apps (-c8) while {float(changes) / seconds:.0f} changes/s churn",
                "",
                "",
                f"{c_rps:,.0f}",
                "",
                "",
                f"{c_p99} (change p99 {change_p99} ms)",
            )
        )
        print_table(
            [
                "request (wrk -t2 -c64, one server process)",
                "nginx req/s",
                "bare granian req/s",
                "eureka-py req/s",
                "ratio to nginx",
                "ratio to bare granian",
                "eureka-py p99",
            ],
            rows,
        )

        # Regeneration: the first gzip GET after a change, against a steady-state GET.
        with httpx.Client() as client:
            steady, after = [], []
            for i in range(30):
                started = time.perf_counter()
                client.get(apps_url, headers=gz)
                steady.append(time.perf_counter() - started)
                client.put(f"{server.base}/eureka/apps/APP-{i % APPS}/inst-{i}/status?value=DOWN")
                started = time.perf_counter()
                client.get(apps_url, headers=gz)
                after.append(time.perf_counter() - started)
        steady.sort()
        after.sort()
        _populate(server.base, 10_000, 90_000)
        rss_100k = _rss_kb(server.proc.pid)
        print()
        print_table(
            ["measure", "value"],
            [
                ("GET /apps 10k gzip, steady (median)", f"{steady[15] * 1000:.2f} ms"),
                ("GET /apps 10k gzip, first after a change (median)", f"{after[15] * 1000:.2f} ms"),
                ("server RSS empty", f"{rss_empty / 1024:.1f} MiB"),
                ("memory per instance at 10k", f"{(rss_10k - rss_empty) * 1024 / 10_000:,.0f} B"),
                (
                    "memory per instance at 100k",
                    f"{(rss_100k - rss_empty) * 1024 / 100_000:,.0f} B",
                ),
            ],
        )
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)

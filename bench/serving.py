"""What the serving benchmarks share: pinned processes, nginx as the reference, wrk, CPU and RSS.

The method (DEVELOPERS.md): the server under test on one core (`SERVER_CPU`), the load generator
on the other (`LOAD_CPU`), and nginx serving the very same bytes, pinned where the server was, as
the reference in the same run. Server CPU per request comes from /proc/<pid>/stat (utime + stime,
all threads) before and after a run. On a one-core machine nothing is pinned.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.integration.server_process import ServerProcess

from eureka.model import DataCenterInfo, InstanceInfo, LeaseInfo
from eureka.replication.protocol import Action, ReplicationInstance, encode_batch

__all__ = [
    "LOAD_CPU",
    "SERVER_CPU",
    "Nginx",
    "WrkResult",
    "compiled",
    "cpu_seconds",
    "ensure_tools",
    "instance",
    "load_average",
    "pinned",
    "populate",
    "rss_kb",
    "start_server",
    "taskset",
    "wrk",
]

_CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPU = _CPUS[0]
LOAD_CPU = _CPUS[1] if len(_CPUS) > 1 else _CPUS[0]
_TICKS = os.sysconf("SC_CLK_TCK")
DIRTY_BASE = 1_754_500_000_000


def ensure_tools(*tools: str) -> None:
    """apt-get the Debian packages that provide `tools` when missing (nginx, wrk, gcc)."""
    packages = {"nginx": "nginx-light", "wrk": "wrk", "gcc": "gcc", "h2load": "nghttp2-client"}
    missing = [packages[t] for t in tools if shutil.which(t) is None]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def compiled(source: Path) -> Path:
    """`source` (C) compiled once per version with gcc -O2, into the temp directory."""
    code = source.read_bytes()
    digest = hashlib.sha1(code).hexdigest()[:12]
    binary = Path(tempfile.gettempdir()) / f"eureka-{source.stem}-{digest}"
    if not binary.exists():
        ensure_tools("gcc")
        partial = binary.with_suffix(".part")
        subprocess.run(["gcc", "-O2", "-o", str(partial), str(source)], check=True)
        partial.rename(binary)
    return binary


def taskset(cpu: int, args: Sequence[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *args] if len(_CPUS) > 1 else list(args)


@contextlib.contextmanager
def pinned(cpu: int) -> Iterator[None]:
    """Processes started inside inherit this thread's affinity: pin it while they start."""
    before = os.sched_getaffinity(0)
    if len(_CPUS) > 1:
        os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def start_server(settings: dict[str, str]) -> ServerProcess:
    """A real `eureka server` process on a free port, pinned to SERVER_CPU."""
    with pinned(SERVER_CPU):
        server = ServerProcess(settings=settings).start(wait=False)
    server.wait_ready()
    return server


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def instance(i: int, apps: int, *, dirty: int | None = None) -> InstanceInfo:
    """A Spring Cloud style registration: instance `inst-i` of application `APP-(i % apps)`."""
    app = f"APP-{i % apps}"
    host = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
    return InstanceInfo(
        app=app,
        instance_id=f"inst-{i}",
        host_name=host,
        ip_addr=host,
        port=8080,
        data_center_info=DataCenterInfo("MyOwn"),
        lease_info=LeaseInfo(renewal_interval_in_secs=30, duration_in_secs=90),
        metadata={"management.port": "8081", "zone": f"zone-{i % 3}"},
        home_page_url=f"http://{host}:8080/",
        status_page_url=f"http://{host}:8080/actuator/info",
        health_check_url=f"http://{host}:8080/actuator/health",
        vip_address=app.lower(),
        secure_vip_address=app.lower(),
        last_dirty_timestamp=DIRTY_BASE + i if dirty is None else dirty,
    )


def populate(base: str, start: int, count: int, apps: int) -> None:
    """Register instances start..start+count through the replication batch endpoint (fast)."""
    with httpx.Client(timeout=120) as client:
        for first in range(start, start + count, 500):
            items = [
                ReplicationInstance(
                    app_name=f"APP-{i % apps}",
                    id=f"inst-{i}",
                    action=Action.REGISTER,
                    last_dirty_timestamp=DIRTY_BASE + i,
                    overridden_status=None,
                    status="UP",
                    instance_info=instance(i, apps),
                )
                for i in range(first, min(first + 500, start + count))
            ]
            response = client.post(
                f"{base}/eureka/peerreplication/batch/",
                content=encode_batch(items),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            response.raise_for_status()


@dataclass(frozen=True)
class WrkResult:
    rps: float
    requests: int
    p50: str
    p99: str
    errors: int
    # Server CPU per request (µs), when the server's pid was given.
    cpu_us: float | None


def wrk(
    url: str,
    *,
    duration: str,
    connections: int,
    headers: dict[str, str] | None = None,
    script: str | None = None,
    server_pid: int | None = None,
) -> WrkResult:
    """wrk -t1 pinned to LOAD_CPU; the server's CPU seconds are read around the run."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency"]
    for key, value in (headers or {}).items():
        args += ["-H", f"{key}: {value}"]
    if script:
        args += ["-s", script]
    before = cpu_seconds(server_pid) if server_pid else 0.0
    out = subprocess.run(
        taskset(LOAD_CPU, [*args, url]), capture_output=True, text=True, timeout=300, check=True
    ).stdout
    used = cpu_seconds(server_pid) - before if server_pid else 0.0
    rps = float(_find(r"Requests/sec:\s+([\d.]+)", out) or 0)
    requests = int(_find(r"(\d+) requests in", out) or 0)
    non_2xx = int(_find(r"Non-2xx or 3xx responses: (\d+)", out) or 0)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = non_2xx + (sum(int(g) for g in socket.groups()) if socket else 0)
    return WrkResult(
        rps=rps,
        requests=requests,
        p50=_find(r"50%\s+([\d.]+\w+)", out) or "?",
        p99=_find(r"99%\s+([\d.]+\w+)", out) or "?",
        errors=errors,
        cpu_us=used / requests * 1e6 if server_pid and requests else None,
    )


def _find(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None


class Nginx:
    """nginx in one process (no master), pinned to SERVER_CPU, serving files from `root/www`
    with `Content-Encoding: gzip` and answering 200 to anything under /renew/; for the fleet,
    GET /eureka/apps and /eureka/apps/delta are the files `apps` and `delta`, and any other
    /eureka/ request is answered 200."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        (root / "www").mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir(exist_ok=True)
        # nginx's worker may run as an unprivileged user: it must be able to read the files.
        root.chmod(0o755)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, name: str, body: bytes) -> str:
        (self.root / "www" / name).write_bytes(body)
        return f"{self.base}/{name}"

    def start(self) -> Nginx:
        root = self.root
        conf = root / "nginx.conf"
        conf.write_text(
            f"""
worker_processes 1;
master_process off;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {root}/tmp;
  proxy_temp_path {root}/tmp;
  fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp;
  scgi_temp_path {root}/tmp;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{self.port};
    location /renew/ {{ return 200; }}
    # The fleet's requests: the two registry reads as files, every write answered 200.
    location = /eureka/apps/delta {{
      alias {root}/www/delta;
      default_type application/json;
      add_header Content-Encoding gzip;
    }}
    location = /eureka/apps {{
      alias {root}/www/apps;
      default_type application/json;
      add_header Content-Encoding gzip;
    }}
    location /eureka/ {{ return 200; }}
    location / {{
      root {root}/www;
      default_type application/json;
      add_header Content-Encoding gzip;
    }}
  }}
}}
"""
        )
        self.proc = subprocess.Popen(
            taskset(SERVER_CPU, ["nginx", "-c", str(conf)]), stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.base}/renew/x", timeout=1)
                return self
            time.sleep(0.05)
        raise RuntimeError("nginx did not come up")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

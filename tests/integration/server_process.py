"""Start a real `eureka server` process on a free loopback port, and stop it by PID.

Integration and cluster tests talk HTTP to these processes; nothing in them is mocked.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, TypeVar

import httpx

T = TypeVar("T")

# Short timers so that lease expiry, eviction and delta retention can be observed in seconds.
FAST_SETTINGS: dict[str, str] = {
    "eureka.server.eviction-interval-timer-in-ms": "500",
    "eureka.server.delta-retention-timer-interval-in-ms": "500",
    "eureka.server.enable-self-preservation": "false",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(
        self,
        port: int | None = None,
        settings: Mapping[str, str] | None = None,
        peers: list[str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.settings = dict(FAST_SETTINGS if settings is None else settings)
        # EUREKA_TEST_HTTP_LAYER=native runs every real-process test on the native HTTP layer.
        layer = os.environ.get("EUREKA_TEST_HTTP_LAYER")
        if layer:
            self.settings.setdefault("eureka.server.http-layer", layer)
        self.peers = peers or []
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The service URL a Eureka client is configured with."""
        return f"{self.base}/eureka/"

    def start(self, wait: bool = True) -> ServerProcess:
        args = [sys.executable, "-m", "eureka.cli", "server", "--port", str(self.port)]
        args += ["--my-url", self.url]
        for key, value in self.settings.items():
            args += ["--set", f"{key}={value}"]
        for peer in self.peers:
            args += ["--peer", peer]
        fd, name = tempfile.mkstemp(prefix=f"eureka-{self.port}-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/eureka/status", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        code = self.proc.returncode
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


@contextlib.contextmanager
def running_server(**kwargs: object) -> Iterator[ServerProcess]:
    server = ServerProcess(**kwargs)  # type: ignore[arg-type]
    with server:
        yield server


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll `predicate` until it returns a truthy value; return it, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")


def rss_mb(server: ServerProcess) -> float:
    """The server process's resident memory (VmRSS), MiB."""
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def read_http_response(sock: socket.socket, data: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response read off a raw socket (`data`: bytes of it already received).
    Every answer of this server carries a content-length, or none for a bodiless status."""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65_536)
        if not chunk:
            raise ConnectionError(f"closed before a full response head: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65_536)
        if not chunk:
            raise ConnectionError("closed before the full response body")
        body += chunk
    return int(lines[0].split()[1]), headers, body[:length]

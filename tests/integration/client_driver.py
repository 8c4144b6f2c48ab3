"""Run a line-oriented client driver process and read its latest JSON snapshot."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from typing import Any


class DriverProcess:
    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.latest: dict[str, Any] = {}
        self.events: list[str] = []
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                snapshot = json.loads(line)
            except ValueError:
                continue
            self.latest = snapshot
            self.events.append(snapshot.get("event", ""))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def wait_until(self, predicate, timeout: float = 15.0) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.latest and predicate(self.latest):
                return self.latest
            if self.proc.poll() is not None and not self.latest:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"driver condition not met; last snapshot {self.latest!r}; "
            f"stderr {self.stderr[-2000:]!r}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(b"stop\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

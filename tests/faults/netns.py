"""Hosts of our own for fault tests: network namespaces on a bridge, made and removed by the test.

`Network` makes one namespace per host and a hub namespace holding a bridge; each host has a veth
pair, `eth0` (10.99.0.N/24) on its side and a port of the bridge on the hub's. Cutting a host off
sets its bridge port down: its packets go nowhere, exactly as when its switch port dies — peers
see connect timeouts, not refusals. Nothing touches the machine's own namespace: the test talks
to the hosts from the hub (`Network.http`, a thread that entered the hub's namespace).

Needs root and `ip netns` (Debian's iproute2); `unavailable()` says why not, for a skip.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

__all__ = ["Network", "unavailable"]

T = TypeVar("T")
_CLONE_NEWNET = 0x40000000
_SUBNET = "10.99.0"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def unavailable() -> str | None:
    """None if namespaces can be made here; otherwise the reason (for pytest.skip)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "ip (iproute2) is not installed"
    name = f"eur-probe-{os.getpid()}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        return f"ip netns add is refused here: {exc.stderr.strip()}"
    _ip("netns", "del", name)
    return None


def _enter(namespace: str) -> None:
    """Move the calling thread into `namespace` (network namespaces are per thread)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {namespace}")
    finally:
        os.close(fd)


class _NamespacedHttp:
    """httpx calls made from one thread inside a namespace."""

    def __init__(self, namespace: str) -> None:
        self._local = threading.local()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            1,
            thread_name_prefix=f"netns-{namespace}",
            initializer=self._start,
            initargs=(namespace,),
        )

    def _start(self, namespace: str) -> None:
        _enter(namespace)
        self._local.client = httpx.Client(timeout=5.0)

    def call(self, fn: Callable[[httpx.Client], T]) -> T:
        return self._pool.submit(lambda: fn(self._local.client)).result()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.call(lambda client: client.get(url, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class Network:
    """Hosts `names` (10.99.0.1, .2, … in that order) on one bridge; a context manager."""

    def __init__(self, names: Sequence[str]) -> None:
        tag = os.getpid() % 100_000
        self._tag = tag
        self.hub = f"eur-{tag}-hub"
        self.namespaces = {name: f"eur-{tag}-{name}" for name in names}
        self.addresses = {name: f"{_SUBNET}.{i + 1}" for i, name in enumerate(names)}
        self._ports = {name: f"v{tag}{name}"[:15] for name in names}
        self._http: _NamespacedHttp | None = None

    def __enter__(self) -> Network:
        try:
            self._build()
        except BaseException:
            self._teardown()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._teardown()

    def _build(self) -> None:
        _ip("netns", "add", self.hub)
        _ip("-n", self.hub, "link", "set", "lo", "up")
        _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.hub, "addr", "add", f"{_SUBNET}.254/24", "dev", "br0")
        _ip("-n", self.hub, "link", "set", "br0", "up")
        for name, namespace in self.namespaces.items():
            port = self._ports[name]
            _ip("netns", "add", namespace)
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("-n", self.hub, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                "netns", namespace)  # fmt: skip
            _ip("-n", self.hub, "link", "set", port, "master", "br0", "up")
            _ip("-n", namespace, "addr", "add", f"{self.addresses[name]}/24", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "eth0", "up")

    def _teardown(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        for namespace in [*self.namespaces.values(), self.hub]:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)

    def exec_args(self, name: str, args: Sequence[str]) -> list[str]:
        """`args` run inside host `name` (`ip netns exec` execs: the PID is the program's)."""
        return ["ip", "netns", "exec", self.namespaces[name], *args]

    def cut(self, name: str) -> None:
        """Host `name` loses the network (its bridge port goes down)."""
        _ip("-n", self.hub, "link", "set", self._ports[name], "down")

    def heal(self, name: str) -> None:
        _ip("-n", self.hub, "link", "set", self._ports[name], "up")

    @property
    def http(self) -> _NamespacedHttp:
        """HTTP from the hub, which reaches every host that is not cut off."""
        if self._http is None:
            self._http = _NamespacedHttp(self.hub)
        return self._http

"""A registry node: the core objects wired together, and how to serve them over HTTP.

`Node` owns the registry, its response cache, the HTTP application and the timers; `serve()` runs
it in the current event loop, one process, one worker — the registry lives in this process's
memory, so more workers would mean more registries — on the native HTTP/1.1 layer
(server/native_http.py, the default: cheapest per small request, measured) or under granian's
embedded RSGI server (`eureka.server.http-layer: granian`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from granian.constants import Interfaces, SSLProtocols
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server

from eureka.clock import Clock, SystemClock
from eureka.errors import BadInput
from eureka.registry import Registry, ResponseCache
from eureka.registry.remote_regions import RemoteRegions, RemoteRegionsConfig
from eureka.replication.anti_entropy import AntiEntropySettings
from eureka.server.adapters import AsgiAdapter, RsgiAdapter
from eureka.server.anti_entropy import AntiEntropyRunner
from eureka.server.app import EurekaApp
from eureka.server.cluster import PeerCluster
from eureka.server.config import ServerConfig
from eureka.server.gc_freezer import GcFreezer
from eureka.server.gc_policy import GcSettings
from eureka.server.log_format import adopt_loggers
from eureka.server.native_http import HttpLimits, NativeServer
from eureka.server.remote_regions import RemoteRegionFetcher
from eureka.server.replicator import NoPeers, Replicator
from eureka.server.timers import Timers
from eureka.tls import client_verify, server_context

__all__ = ["Node", "serve"]

log = logging.getLogger("eureka.server")


class Node:
    def __init__(self, config: ServerConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.registry = Registry(config.registry, self.clock)
        self.remote_regions: RemoteRegions | None = None
        self.remote_fetcher: RemoteRegionFetcher | None = None
        if config.remote_region_urls_with_name:
            self.remote_regions = RemoteRegions(
                _remote_regions_config(config), self.clock, self.registry
            )
            self.remote_fetcher = RemoteRegionFetcher(
                self.remote_regions,
                interval_s=config.remote_region_registry_fetch_interval,
                connect_timeout_ms=config.remote_region_connect_timeout_ms,
                read_timeout_ms=config.remote_region_read_timeout_ms,
                clock=self.clock,
                verify=client_verify(config.tls_trust_store),
            )
        self.cache = ResponseCache(
            self.registry,
            config.registry,
            self.clock,
            gzip_level=config.gzip_level,
            delta_gzip_level=config.delta_gzip_level,
            remote_regions=self.remote_regions,
        )
        self.cluster = PeerCluster(config, self.registry, self.clock) if config.peers else None
        self.replicator: Replicator = self.cluster if self.cluster is not None else NoPeers()
        self.app = EurekaApp(
            config,
            self.registry,
            self.cache,
            self.clock,
            replicator=self.replicator,
            remote_regions=self.remote_regions,
        )
        self.timers = Timers(
            self.registry,
            self.cache,
            config.registry,
            heap_trim_interval_s=config.heap_trim_interval_ms / 1000,
            watch=self.app.watch,
        )
        if self.cluster is not None:
            self.cluster.on_change = self.app.watch.unpark_ready
        # Started once the start-up sync is done (it needs the peers' HTTP client).
        self.anti_entropy: AntiEntropyRunner | None = None

    async def start(self) -> None:
        if self.remote_fetcher is not None:
            # Java fetches every region once while constructing the registry (§9.2); ours run
            # alongside the peer sync and are awaited, bounded by the timeouts, below.
            self.remote_fetcher.start()
        if self.cluster is None:
            # A single node has no peer to copy from: open with Spring Cloud's default count so
            # that it serves reads at once instead of refusing them for
            # waitTimeInMsWhenSyncEmpty (§6.12).
            self.registry.open_for_traffic(0)
        else:
            # Reads answer 403 until the sync is done, so clients ask another node instead of
            # taking our empty registry for the truth (§6.12).
            self.app.ready = False
            await self.cluster.start()
            result = await self.cluster.sync()
            self.registry.open_for_traffic(result.copied, authoritative=result.authoritative)
            self.app.startup_sync = result
            self.app.ready = True
            self._start_anti_entropy(self.cluster)
        if self.remote_fetcher is not None:
            await self.remote_fetcher.wait_initial()
        self.timers.start()
        auth = self.config.auth
        if auth.enabled:
            log.info(
                "basic auth on: %d user(s), reads %s",
                len(auth.users),
                auth.read_access.value,
            )
            if auth.plain_text_users:
                log.warning(
                    "plain-text password in the configuration for user(s) %s: store a "
                    "{bcrypt} form, or use password-file / password-env",
                    ", ".join(auth.plain_text_users),
                )
        log.info(
            "eureka-py node ready at http://%s:%d%s/ (self-preservation %s)",
            self.config.host,
            self.config.port,
            self.config.prefix,
            "on" if self.config.registry.enable_self_preservation else "off",
        )

    def _start_anti_entropy(self, cluster: PeerCluster) -> None:
        config = self.config
        if config.anti_entropy_interval_ms <= 0:
            return
        settings = AntiEntropySettings(
            interval_ms=config.anti_entropy_interval_ms,
            settle_ms=config.anti_entropy_settle_ms,
            max_apps_per_round=config.anti_entropy_max_apps_per_round,
        )
        self.anti_entropy = AntiEntropyRunner(
            settings,
            self.registry,
            self.clock,
            peers=lambda: list(cluster.nodes),
            http=cluster.http,
        )
        self.app.anti_entropy = self.anti_entropy
        self.anti_entropy.on_change = self.app.watch.unpark_ready  # repairs wake watches too
        self.anti_entropy.start()

    async def stop(self) -> None:
        self.app.watch.close()
        if self.anti_entropy is not None:
            await self.anti_entropy.stop()
        await self.timers.stop()
        if self.remote_fetcher is not None:
            await self.remote_fetcher.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        log.info("eureka-py node stopped")

    def rsgi(self) -> RsgiAdapter:
        return RsgiAdapter(self.app, on_start=self.start, on_stop=self.stop)

    def asgi(self) -> AsgiAdapter:
        return AsgiAdapter(self.app, on_start=self.start, on_stop=self.stop)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """Start and stop the node with a host application: `FastAPI(lifespan=node.lifespan)`.

        An ASGI app mounted inside another (`app.mount("/registry", node.asgi())`) never gets
        lifespan events, so without this the registry serves requests but its timers (eviction,
        delta retention, renewal threshold) and peers never start."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()


def _remote_regions_config(config: ServerConfig) -> RemoteRegionsConfig:
    return RemoteRegionsConfig(
        regions=config.remote_region_urls_with_name,
        app_whitelist=config.remote_region_app_whitelist,
        disable_delta=config.disable_delta_for_remote_regions,
        transparent_fallback=not config.disable_transparent_fallback_to_other_region,
        legacy_fallback_delta=config.remote_region_legacy_fallback_delta,
    )


def claim_port(host: str, port: int) -> None:
    """Fail when something already listens on host:port.

    Granian binds with SO_REUSEPORT, so a second node on a busy port would start silently and the
    kernel would split clients between two different registries. A probe bound without
    SO_REUSEPORT (but with SO_REUSEADDR, so that a restart is not refused over TIME_WAIT
    connections) fails when any listener holds the port, including a SO_REUSEPORT one. It is
    closed before granian binds: a race remains only with another node starting in that instant.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                shown = f"[{host}]" if family == socket.AF_INET6 else host
                raise OSError(exc.errno, f"{shown}:{port} is already in use") from None
            raise


async def serve(config: ServerConfig) -> None:
    claim_port(config.host, config.port)
    node = Node(config)
    # This process is the node's own: its collector follows the registry's rule.
    freezer = GcFreezer(GcSettings(config.gc_freeze, config.gc_sweep_interval_ms), node.clock)
    freezer.install()
    node.app.gc_stats = freezer.stats
    sweeps = asyncio.get_running_loop().create_task(freezer.run_sweeps(), name="gc sweeps")
    try:
        await _serve(node, config)
    finally:
        sweeps.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeps
        freezer.uninstall()


async def _serve(node: Node, config: ServerConfig) -> None:
    if config.http_layer == "native":
        await _serve_native(node, config)
        return
    server = Server(
        RsgiAdapter(node.app, on_start=node.start),
        address=config.host,
        port=config.port,
        interface=Interfaces.RSGI,
        backpressure=config.backpressure,
        backlog=2048,
        log_level=LogLevels(config.log_level.lower()),
        log_access=False,
        # Hyper's header-read timeout is also its keep-alive idle timeout. At its default 30 s
        # it closed connections just as clients that renew every 30 s reused them (the soak
        # counted the requests lost that way): idle connections now stay as long as the
        # native layer lets them.
        http1_settings=HTTP1Settings(header_read_timeout=config.keep_alive_timeout_ms),
        **_granian_tls(config),
    )
    # Granian has just installed its own handlers and format: route them through ours.
    adopt_loggers()
    _on_signals(node, server.stop)  # type: ignore[no-untyped-call]
    try:
        await server.serve()
    finally:
        # Stopped here rather than from granian's worker teardown, so that it runs to the end
        # (closing peer connections) before the loop does.
        await node.stop()


async def _serve_native(node: Node, config: ServerConfig) -> None:
    """The same node on server/native_http.py instead of granian."""
    ssl = None
    if _granian_tls(config):  # validates the pair of files, as for granian
        assert config.ssl_certificate and config.ssl_certificate_private_key
        ssl = server_context(config.ssl_certificate, config.ssl_certificate_private_key)
    limits = HttpLimits(
        max_header_bytes=config.max_header_bytes,
        max_body_bytes=config.max_body_bytes,
        header_timeout_s=config.header_timeout_ms / 1000,
        keep_alive_timeout_s=config.keep_alive_timeout_ms / 1000,
    )
    started: list[asyncio.Task[None]] = []
    server = NativeServer(
        node.app,
        config.host,
        config.port,
        limits=limits,
        ssl=ssl,
        # As under granian: the start-up work (peer sync) runs while requests are served.
        on_start=lambda: started.append(asyncio.get_running_loop().create_task(node.start())),
    )
    _on_signals(node, server.stop)
    try:
        await server.serve()
    finally:
        await node.stop()


def _on_signals(node: Node, stop: Callable[[], object]) -> None:
    loop = asyncio.get_running_loop()

    def shutdown() -> None:
        node.app.watch.close()  # answer held watches now, so that none delays the stop
        stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shutdown)


def _granian_tls(config: ServerConfig) -> dict[str, Any]:
    """HTTPS from `server.ssl.certificate` / `-private-key`: granian's own TLS (rustls). The
    files are checked here, with the standard library, so a bad one stops the node with a clear
    message before the server starts. TLS 1.2 at least, which every Java client speaks."""
    if config.ssl_certificate is None and config.ssl_certificate_private_key is None:
        return {}
    if not config.ssl_certificate or not config.ssl_certificate_private_key:
        raise BadInput("server.ssl: give both certificate and certificate-private-key")
    server_context(config.ssl_certificate, config.ssl_certificate_private_key)
    return {
        "ssl_cert": Path(config.ssl_certificate),
        "ssl_key": Path(config.ssl_certificate_private_key),
        "ssl_protocol_min": SSLProtocols.tls12,
    }

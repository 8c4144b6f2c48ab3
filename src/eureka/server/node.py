"""A registry node: the core objects wired together, and how to serve them with granian.

`Node` owns the registry, its response cache, the HTTP application and the timers; `serve()` runs
it under granian's embedded RSGI server in the current event loop, one process, one worker — the
registry lives in this process's memory, so more workers would mean more registries.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from eureka.clock import Clock, SystemClock
from eureka.registry import Registry, ResponseCache
from eureka.server.adapters import AsgiAdapter, RsgiAdapter
from eureka.server.app import EurekaApp
from eureka.server.cluster import PeerCluster
from eureka.server.config import ServerConfig
from eureka.server.replicator import NoPeers, Replicator
from eureka.server.timers import Timers

__all__ = ["Node", "serve"]

log = logging.getLogger("eureka.server")


class Node:
    def __init__(self, config: ServerConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.registry = Registry(config.registry, self.clock)
        self.cache = ResponseCache(
            self.registry, config.registry, self.clock, gzip_level=config.gzip_level
        )
        self.cluster = PeerCluster(config, self.registry, self.clock) if config.peers else None
        self.replicator: Replicator = self.cluster if self.cluster is not None else NoPeers()
        self.app = EurekaApp(
            config,
            self.registry,
            self.cache,
            self.clock,
            replicator=self.replicator,
            extra_status=self._cluster_status,
        )
        self.timers = Timers(self.registry, self.cache, config.registry)

    async def start(self) -> None:
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
            self.app.ready = True
        self.timers.start()
        log.info(
            "eureka-py node ready at http://%s:%d%s/ (self-preservation %s)",
            self.config.host,
            self.config.port,
            self.config.prefix,
            "on" if self.config.registry.enable_self_preservation else "off",
        )

    async def stop(self) -> None:
        await self.timers.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        log.info("eureka-py node stopped")

    def _cluster_status(self) -> dict[str, Any]:
        if self.cluster is None or self.cluster.sync_result is None:
            return {}
        result = self.cluster.sync_result
        return {
            "startup_sync": {
                "copied": result.copied,
                "answered": result.answered,
                "unreachable": result.unreachable,
            }
        }

    def rsgi(self) -> RsgiAdapter:
        return RsgiAdapter(self.app, on_start=self.start, on_stop=self.stop)

    def asgi(self) -> AsgiAdapter:
        return AsgiAdapter(self.app, on_start=self.start, on_stop=self.stop)


async def serve(config: ServerConfig) -> None:
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    node = Node(config)
    server = Server(
        RsgiAdapter(node.app, on_start=node.start),
        address=config.host,
        port=config.port,
        interface=Interfaces.RSGI,
        backpressure=config.backpressure,
        backlog=2048,
        log_level=LogLevels(config.log_level.lower()),
        log_access=False,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    try:
        await server.serve()
    finally:
        # Stopped here rather than from granian's worker teardown, so that it runs to the end
        # (closing peer connections) before the loop does.
        await node.stop()

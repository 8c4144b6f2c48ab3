"""The periodic tasks of a registry node (protocol.md §6.9–6.11, §7.2), driven by asyncio.

Each task calls one core method on an interval; the core decides everything. Intervals come from
the configuration, so tests can run the real process with sub-second timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from eureka.registry import Registry, ResponseCache
from eureka.registry.config import RegistryConfig
from eureka.server.heap import heap_trimmer

__all__ = ["Timers"]

log = logging.getLogger("eureka.server")

# Eureka's renews-per-minute counter is, by definition, a one-minute bucket (§6.11).
RENEWS_BUCKET_SECONDS = 60.0


class WatchNotifier(Protocol):
    """The held watches (`server.watch.WatchHub`): told after the timers change the registry."""

    def unpark_ready(self) -> None: ...

    def unpark_pruned(self) -> None: ...


class Timers:
    def __init__(
        self,
        registry: Registry,
        cache: ResponseCache,
        config: RegistryConfig,
        *,
        count_for_threshold: Callable[[], int] | None = None,
        renews_bucket_seconds: float = RENEWS_BUCKET_SECONDS,
        heap_trim_interval_s: float = 0.0,
        watch: WatchNotifier | None = None,
    ) -> None:
        self.registry = registry
        self.watch = watch
        self.cache = cache
        self.config = config
        self._count = count_for_threshold or registry.instance_count
        self._bucket = renews_bucket_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self._last_reason: str | None = None
        self._heap_trim_interval_s = heap_trim_interval_s
        self._trimmed_at: tuple[int, int] | None = None

    def start(self) -> None:
        cfg = self.config
        self._spawn("eviction", cfg.eviction_interval_timer_in_ms / 1000, self._evict)
        self._spawn("delta retention", cfg.delta_retention_timer_interval_in_ms / 1000, self._prune)
        self._spawn("renews bucket", self._bucket, self.registry.tick_renews_bucket)
        self._spawn(
            "renewal threshold",
            cfg.renewal_threshold_update_interval_ms / 1000,
            self._update_threshold,
        )
        trim = heap_trimmer() if self._heap_trim_interval_s > 0 else None
        if trim is not None:
            self._tasks.append(
                asyncio.get_running_loop().create_task(self._trim_loop(trim), name="heap trim")
            )
        if cfg.use_read_only_response_cache:
            self._spawn(
                "read-only cache", cfg.response_cache_update_interval_ms / 1000, self._refresh_cache
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _spawn(self, name: str, interval: float, job: Callable[[], object]) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    job()
                except Exception:
                    log.exception("periodic task %s failed", name)

        self._tasks.append(asyncio.get_running_loop().create_task(loop(), name=name))

    async def _trim_loop(self, trim: Callable[[], int]) -> None:
        # Only after the registry changed or its delta window moved (something may have been
        # freed: the window's leaving entries hold the last copies of cancelled instances), in a
        # thread: trimming a few hundred MB takes ~0.15 s, which the event loop must not wait for.
        while True:
            await asyncio.sleep(self._heap_trim_interval_s)
            seen = (self.registry.revision, self.registry.delta_window_floor)
            if seen == self._trimmed_at:
                continue
            self._trimmed_at = seen
            try:
                await asyncio.to_thread(trim)
            except Exception:
                log.exception("periodic task heap trim failed")

    def _evict(self) -> None:
        evicted = self.registry.evict()
        if self.watch is not None:
            self.watch.unpark_ready()
        for info in evicted:
            log.info(
                "evicted",
                extra={
                    "fields": {
                        "app": info.app,
                        "instance": info.id,
                        "status": str(info.status),
                        "replication": False,
                    }
                },
            )
        if evicted:
            log.info("eviction run", extra={"fields": {"evicted": len(evicted)}})
        self._log_self_preservation()

    def _prune(self) -> None:
        self.registry.prune_delta_queue()
        self.cache.release_pruned()
        if self.watch is not None:
            self.watch.unpark_pruned()

    def _update_threshold(self) -> None:
        self.registry.update_renewal_threshold(self._count())
        self._log_self_preservation()

    def _refresh_cache(self) -> None:
        self.cache.refresh_read_only()

    def _log_self_preservation(self) -> None:
        reason = self.registry.self_preservation_state().reason
        if reason != self._last_reason:
            if reason:
                log.warning("self-preservation: eviction suspended: %s", reason)
            else:
                log.info("self-preservation: lease expiration enabled")
            self._last_reason = reason

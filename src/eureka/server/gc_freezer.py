"""The collector rule of server/gc_policy.py applied to this process (an adapter: `gc`, asyncio).

Installed by `eureka server` (server/node.py `serve`), which owns its process; a node embedded in
another application leaves that application's collector alone. `install` freezes what start-up
built (modules, configuration: about 100,000 objects no collection needs to see again) and
registers a `gc.callbacks` hook that times every collection and freezes after a full one;
`run_sweeps` is the task that sweeps when the policy says so.

Freezing from the callback is safe: CPython calls "stop" callbacks after the collection has
finished and its generation lists are consistent, and `gc.freeze()` only splices those lists.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

from eureka.clock import Clock
from eureka.server.gc_policy import GcPolicy, GcSettings, GcStats

__all__ = ["GcFreezer"]

log = logging.getLogger("eureka.server")

# How often the sweep task asks whether a sweep is due: sweeps are hours apart, so a minute late
# is nothing, and the task costs nothing in between.
_SWEEP_POLL_S = 60.0


class GcFreezer:
    def __init__(self, settings: GcSettings, clock: Clock) -> None:
        self.policy = GcPolicy(settings, clock.now_ms())
        self._clock = clock
        self._started = 0.0
        self._installed = False

    def install(self) -> None:
        if self._installed or not self.policy.settings.freeze:
            return
        self._installed = True
        gc.collect()
        gc.freeze()
        gc.callbacks.append(self._on_collection)

    def uninstall(self) -> None:
        if not self._installed:
            return
        self._installed = False
        gc.callbacks.remove(self._on_collection)
        gc.unfreeze()

    def stats(self) -> GcStats:
        return self.policy.stats(gc.get_freeze_count())

    async def run_sweeps(self, poll_s: float = _SWEEP_POLL_S) -> None:
        while True:
            await asyncio.sleep(poll_s)
            if self._installed and self.policy.sweep_due(self._clock.now_ms()):
                self.sweep()

    def sweep(self) -> None:
        """Collect everything once, frozen objects included, and freeze the survivors."""
        self.policy.sweep_started()
        started = time.perf_counter()
        collected = 0
        try:
            gc.unfreeze()
            collected = gc.collect()
        finally:
            gc.freeze()
            pause_ms = (time.perf_counter() - started) * 1000
            self.policy.swept(self._clock.now_ms(), pause_ms, collected)
        log.info(
            "gc sweep",
            extra={
                "fields": {
                    "pause_ms": round(pause_ms, 1),
                    "collected": collected,
                    "frozen": gc.get_freeze_count(),
                }
            },
        )

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - self._started) * 1000
        if self.policy.collected(info["generation"], pause_ms):
            gc.freeze()

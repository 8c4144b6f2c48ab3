"""Fetching other regions' registries over HTTP (protocol.md §9.2), for the pure core in
`eureka.registry.remote_regions`.

One asyncio task per region acts like a simplified client: a fetch at start-up, then one every
`remote_region_registry_fetch_interval` seconds under Eureka's supervisor back-off (the delay
doubles on timeouts up to 5 × the interval and resets after a run that finishes in time, §10.7).
The core decides full or delta and checks the hash; this module only speaks HTTP and decodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

import httpx

from eureka import __version__
from eureka.backoff import RunOutcome, SupervisorBackoff
from eureka.clock import Clock, SystemClock
from eureka.codec import json as json_codec
from eureka.errors import BadInput
from eureka.log_throttle import FirstFailure, LogThrottle, Recovered, StillFailing
from eureka.model import Applications
from eureka.registry.remote_regions import FetchKind, RemoteRegions
from eureka.urls import redact_url

__all__ = ["FETCH_HEADERS", "RemoteRegionFetcher"]

log = logging.getLogger("eureka.remote_regions")

# What Java's remote-region fetcher sends (§2.1): JSON, gzip, and the server identity.
FETCH_HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
    "DiscoveryIdentity-Name": "DefaultServer",
    "DiscoveryIdentity-Version": "1.0",
    "User-Agent": f"eureka-py-RemoteRegion/v{__version__}",
}

# Java's `TimedSupervisorTask` bound for the remote-region fetch (§9.2).
BACKOFF_BOUND = 5


class _Unusable(Exception):
    """The region answered, but not with a registry (a non-200 status)."""


class RemoteRegionFetcher:
    def __init__(
        self,
        regions: RemoteRegions,
        *,
        interval_s: float,
        connect_timeout_ms: int = 2000,
        read_timeout_ms: int = 5000,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.regions = regions
        self._verify = verify
        self.interval_s = interval_s
        self._connect_s = connect_timeout_ms / 1000
        self._read_s = read_timeout_ms / 1000
        self._client = client
        self._owns_client = client is None
        # The supervisor's limit on one round is the interval (Java), but never less than what a
        # delta plus a full fetch may take under the HTTP timeouts: with a short interval Java
        # cancels a large full fetch every time, and the region never becomes ready.
        self.round_limit_s = max(interval_s, 2 * (self._connect_s + self._read_s))
        self._tasks: list[asyncio.Task[None]] = []
        self._first_done: dict[str, asyncio.Event] = {}
        # A region that stays down fails every round: one warning, summaries, one "recovered".
        self._throttles = {region.name: LogThrottle(clock or SystemClock()) for region in regions}

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start one fetch loop per region; the first fetch of each begins at once."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._read_s, connect=self._connect_s, pool=self._read_s),
                verify=self._verify,
            )
        loop = asyncio.get_running_loop()
        for region in self.regions:
            done = self._first_done[region.name] = asyncio.Event()
            self._tasks.append(
                loop.create_task(self._run(region.name, done), name=f"remote region {region.name}")
            )

    async def wait_initial(self, timeout_s: float | None = None) -> bool:
        """Wait for every region's first fetch, at most `timeout_s` (default: one connect plus
        one read timeout, what a single full fetch may take). True if all finished."""
        if not self._first_done:
            return True
        bound = self._connect_s + self._read_s if timeout_s is None else timeout_s
        waits = [asyncio.ensure_future(event.wait()) for event in self._first_done.values()]
        _, pending = await asyncio.wait(waits, timeout=bound)
        for waiter in pending:
            waiter.cancel()
        if pending:
            log.warning(
                "remote regions not fetched within %.1f s at start-up: %s; `regions` requests "
                "answer 403 until they are",
                bound,
                ", ".join(r.name for r in self.regions if not r.ready),
            )
        return not pending

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    # -- fetching ------------------------------------------------------------------------------

    async def _run(self, name: str, first_done: asyncio.Event) -> None:
        backoff = SupervisorBackoff(self.interval_s, BACKOFF_BOUND)
        delay = 0.0
        while True:
            if delay:
                await asyncio.sleep(delay)
            try:
                outcome = await asyncio.wait_for(self.fetch(name), timeout=self.round_limit_s)
            except TimeoutError:
                self.regions.record_failure(name, f"fetch took longer than {self.round_limit_s} s")
                outcome = RunOutcome.TIMED_OUT
            except Exception:
                log.exception("remote region %s: fetch failed", name)
                outcome = RunOutcome.FAILED
            first_done.set()
            delay = backoff.record(outcome)

    async def fetch(self, name: str) -> RunOutcome:
        """One fetch round for a region: a delta, or a full fetch when the core asks for one or
        the delta could not be used. HTTP errors are recorded in the region's state."""
        regions = self.regions
        state = regions.region(name)
        try:
            if regions.fetch_kind(name) is FetchKind.DELTA:
                try:
                    delta = await self._get(state.url, "apps/delta")
                except _Unusable as error:
                    # Java falls back on a full fetch when the delta is unavailable (§9.2).
                    log.info("remote region %s: delta unavailable (%s), fetching all", name, error)
                else:
                    if regions.apply_delta(name, delta):
                        self._succeeded(name)
                        return RunOutcome.COMPLETED
                    log.info(
                        "remote region %s: hash mismatch after delta (ours %s, theirs %s); "
                        "fetching all",
                        name,
                        state.stats().apps_hashcode,
                        delta.apps_hashcode,
                    )
            was_ready = state.ready
            regions.apply_full(name, await self._get(state.url, "apps/"))
            if not was_ready:
                log.info(
                    "remote region %s ready: %d instance(s) from %s",
                    name,
                    state.instance_count(),
                    redact_url(state.url),
                )
            self._succeeded(name)
            return RunOutcome.COMPLETED
        except httpx.TimeoutException as error:
            self._failed(name, f"timeout ({type(error).__name__})")
            # Slowness is what the supervisor backs off from.
            return RunOutcome.TIMED_OUT
        except (httpx.HTTPError, _Unusable, BadInput) as error:
            reason = (
                error.reason if isinstance(error, BadInput) else str(error) or type(error).__name__
            )
            self._failed(name, reason)
            # Like Java's job, which catches its own errors: a failure is not slowness.
            return RunOutcome.COMPLETED

    async def _get(self, base_url: str, path: str) -> Applications:
        assert self._client is not None
        # Java concatenates strings (§9.1); a missing trailing slash is forgiven here.
        url = (base_url if base_url.endswith("/") else base_url + "/") + path
        response = await self._client.get(url, headers=FETCH_HEADERS)
        if response.status_code != 200:
            raise _Unusable(f"HTTP {response.status_code} from {redact_url(url)}")
        # A large registry takes a while to decode: keep serving meanwhile.
        return await asyncio.to_thread(json_codec.decode_applications, response.content)

    def _failed(self, name: str, reason: str) -> None:
        match self._throttles[name].failed(reason):
            case FirstFailure():
                log.warning(
                    "remote region unreachable",
                    extra={"fields": {"region": name, "reason": reason}},
                )
            case StillFailing(failures, failing_s, _):
                log.warning(
                    "remote region still unreachable",
                    extra={
                        "fields": {
                            "region": name,
                            "failed_fetches": failures,
                            "for_s": round(failing_s),
                            "reason": reason,
                        }
                    },
                )
        self.regions.record_failure(name, reason)

    def _succeeded(self, name: str) -> None:
        recovered = self._throttles[name].succeeded()
        if isinstance(recovered, Recovered):
            log.info(
                "remote region recovered",
                extra={
                    "fields": {
                        "region": name,
                        "failed_fetches": recovered.failures,
                        "after_s": round(recovered.failing_s, 1),
                    }
                },
            )

"""`AsyncDiscoveryClient`: the discovery client for asyncio applications.

It runs in the caller's event loop as a few tasks — no thread, no private loop. The decisions are
the shared pure core's (`state.py`, `cursor.py`, `registration.py`, `scheduler.py`); this module
only awaits the transport and the timers. Against a server that advertises the watch, one more
task holds the long-poll (`_watch_loop`); stopping the client cancels it, and with it the request.

    async with AsyncDiscoveryClient(load_config("eureka.yaml")) as eureka:
        instance = eureka.next_server("order-service")
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import signal
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from eureka.client.backoff import RunOutcome
from eureka.client.config import EurekaConfig
from eureka.client.cursor import Subscription, WatchOutcome, WatchResult
from eureka.client.driver import run_async
from eureka.client.errors import ClientStartError
from eureka.client.facade import BackupRegistry, ClientBase
from eureka.client.messages import Request, Response
from eureka.client.registration import HeartbeatResult
from eureka.client.scheduler import Job
from eureka.client.state import FetchResult, Op
from eureka.client.transport import AsyncTransport, HttpxAsyncTransport
from eureka.clock import Clock
from eureka.model import InstanceInfo, InstanceStatus

__all__ = ["AsyncDiscoveryClient", "AsyncHealthCheck"]

log = logging.getLogger("eureka.client")

T = TypeVar("T")
HealthAnswer = InstanceStatus | bool | None
AsyncHealthCheck = Callable[[], HealthAnswer | Awaitable[HealthAnswer]]


class AsyncDiscoveryClient(ClientBase):
    """Registers, renews, fetches and answers queries; see the module docstring."""

    def __init__(
        self,
        config: EurekaConfig | None = None,
        *,
        transport: AsyncTransport | None = None,
        instance: InstanceInfo | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        health_check: AsyncHealthCheck | None = None,
        backup_registry: BackupRegistry | None = None,
        handle_sigterm: bool = False,
    ) -> None:
        super().__init__(
            config, instance=instance, clock=clock, rng=rng, backup_registry=backup_registry
        )
        self._transport = transport
        self._owns_transport = transport is None
        self.health_check = health_check
        self._handle_sigterm = handle_sigterm
        self._previous_sigterm: Any = None
        self._sigterm_task: asyncio.Task[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._jobs: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._watch_round: asyncio.Task[WatchResult] | None = None
        self._watch_wake: asyncio.Event | None = None
        self._background = False
        self._started = False
        self._stopped = False

    # ---- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncDiscoveryClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self, *, background: bool = True, register: bool = True) -> None:
        """Fetch the registry, register, then schedule the periodic jobs (§10.1).

        With `register=False` the own instance is only marked dirty: it is published by
        `register_soon()`, the replicator's first periodic run
        (`initial_instance_info_replication_interval_seconds`) or a heartbeat's 404, whichever
        comes first — Java's order when registration is not enforced at start (§10.1). A web
        app's lifespan uses this to register only once its own startup is complete. With
        `background=False` no timer task is started; `run_due_jobs()` then runs whatever the
        schedule says is due (tests drive it with a manual clock).
        """
        if self._started:
            return
        self._started = True
        if self._transport is None:
            ip = self.own.info.ip_addr if self.own else None
            cc = self.config.client
            self._transport = HttpxAsyncTransport(
                self._service_urls(), cc.transport_settings(identity_id=ip), rng=self.rng
            )
        if self._fetching:
            result = await self.refresh()
            enforce = self.config.client.should_enforce_fetch_registry_at_init
            if not result.ok and not self._start_backup() and enforce:
                raise ClientStartError(f"initial registry fetch failed: {result.error}")
        if self._registering and self.own is not None:
            ok = False
            if register:
                ok = await self.register()
                if not ok and self.config.client.should_enforce_registration_at_init:
                    raise ClientStartError("initial registration failed")
            if not ok:
                self.own.mark_dirty()  # the replicator publishes it on its first run
        self._plan_jobs()
        self._wake = asyncio.Event()
        self._watch_wake = asyncio.Event()
        self._background = background
        if background:
            self._runner = asyncio.create_task(self._run_schedule(), name="eureka-client")
            self._ensure_watch()
        if self._handle_sigterm:
            self._install_sigterm()

    async def stop(self) -> None:
        """Cancel the jobs; if registered and configured so, go DOWN locally and cancel (§10.1)."""
        if self._stopped:
            return
        self._stopped = True
        self._remove_sigterm()
        current = asyncio.current_task()
        tasks = [
            t
            for t in (self._runner, self._watcher, *self._jobs)
            if t is not None and t is not current
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if (
            self._started
            and self.registration is not None
            and self._registering
            and self.config.client.should_unregister_on_shutdown
        ):
            assert self.own is not None
            self.own.set_status(InstanceStatus.DOWN)  # local only: nothing publishes it now
            await self._run(self.registration.cancel())
        if self._owns_transport and self._transport is not None:
            await self._transport.aclose()

    # ---- operations ---------------------------------------------------------------------------

    async def _send(self, request: Request) -> Response:
        transport = self._transport
        assert transport is not None, "start() the client first"
        send = getattr(transport, "send", None)
        if send is not None:  # carries the request's own timeout (the long-poll's)
            response: Response = await send(request)
            return response
        return await transport.request(
            request.method,
            request.path,
            params=request.params,
            headers=request.headers,
            body=request.body,
        )

    async def _run(self, op: Op[T]) -> T:
        return await run_async(op, self._send)

    async def refresh(self, force_full: bool = False) -> FetchResult:
        """One registry fetch (full or delta as §10.2 decides; `since=R` against a server with
        cursors); listeners hear its events."""
        result = await self._run(self.state.fetch_registry(force_full))
        self._dispatch(result.events)
        if result.ok:
            self._ensure_watch()
        return result

    async def watch_once(self) -> WatchResult:
        """One watch round: a long-poll held until a change or `watch.wait-seconds`, merged and
        verified (repaired by digest if need be). The background task runs these in a loop."""
        result = await self._run(self.state.cursor.watch_once())
        self._dispatch(result.events)
        return result

    async def watch_application(self, app: str) -> bool:
        """Watch `app` too (with `watch.applications` / `watch.subset`): fetch it now and restart
        the held watch so that it covers it. True if the application is known afterwards."""
        subscription: Subscription = await self._run(self.state.cursor.subscribe(app))
        self._dispatch(subscription.events)
        if subscription.added and self._watch_round is not None:
            self._watch_round.cancel()  # the loop asks again, with the new subset
        return subscription.known

    # ---- the watch ----------------------------------------------------------------------------

    def _ensure_watch(self) -> None:
        """Start the watch task once the server turns out to advertise the watch."""
        if not self._background or self._stopped or not self.state.cursor.watching():
            return
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch_loop(), name="eureka-watch")

    async def _watch_loop(self) -> None:
        assert self._watch_wake is not None
        while not self._stopped and self.state.cursor.watching():
            round_task = asyncio.ensure_future(self.watch_once())
            self._watch_round = round_task
            try:
                result = await round_task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if self._stopped or (current is not None and current.cancelling()):
                    raise
                continue  # only the round was cancelled: a new subscription
            except Exception:
                log.exception("registry watch round failed")
                result = WatchResult(WatchOutcome.FAILED, retry_in=1.0)
            finally:
                self._watch_round = None
            if result.retry_in > 0:
                self._watch_wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(result.retry_in):
                        await self._watch_wake.wait()
        log.info("registry watch stopped; the periodic refresh keeps the registry current")

    async def register(self) -> bool:
        if self.registration is None:
            return False
        return await self._run(self.registration.register())

    async def renew(self) -> HeartbeatResult:
        if self.registration is None:
            return HeartbeatResult(False, None)
        return await self._run(self.registration.renew())

    async def replicate(self) -> bool | None:
        """One instance-info replicator run: health check, then publish if dirty (§10.9)."""
        if self.registration is None:
            return None
        if self.health_check is not None:
            try:
                result: Any = self.health_check()
                if inspect.isawaitable(result):
                    result = await result
                status = self._health_status(result)
            except Exception:
                log.exception("health check failed; reporting DOWN")
                status = InstanceStatus.DOWN  # as Java's replicator does
            if status is not None:
                self._apply_status(status)
        return await self._run(self.registration.replicate())

    def set_status(self, status: InstanceStatus) -> None:
        """Change the own status; published at once (rate limited) when on-demand updates are on."""
        if self._apply_status(status):
            self._on_demand()

    def set_metadata(self, **updates: str) -> None:
        if self.own is not None and self.own.update_metadata(updates):
            self._on_demand()

    def register_soon(self) -> None:
        """Run the replicator as soon as the event loop allows, whatever the rate limit: it
        registers the own instance if it is dirty (e.g. after `start(register=False)`)."""
        if Job.REPLICATE not in self.schedule:
            return
        self.schedule.trigger(Job.REPLICATE)
        if self._wake is not None:
            self._wake.set()

    def _on_demand(self) -> None:
        if (
            not self.config.client.on_demand_update_status_change
            or Job.REPLICATE not in self.schedule
        ):
            return
        if self.on_demand_bucket.try_acquire():
            self.schedule.trigger(Job.REPLICATE)
            if self._wake is not None:
                self._wake.set()
        else:
            log.info("on-demand update rate limited; the next periodic run will publish it")

    # ---- timers -------------------------------------------------------------------------------

    async def run_due_jobs(self) -> list[str]:
        """Run every job the schedule says is due, one after the other; returns their names."""
        due = self.schedule.due()
        for job in due:
            await self._supervise(job)
        return due

    async def _run_schedule(self) -> None:
        assert self._wake is not None
        # `asyncio.timeout` rather than `wait_for`: on 3.11 the latter can swallow a cancellation
        # that races with the inner wait finishing, and `stop()` would then wait forever.
        while not self._stopped:
            for job in self.schedule.due():
                task = asyncio.create_task(self._supervise(job), name=f"eureka-{job}")
                self._jobs.add(task)
                task.add_done_callback(self._jobs.discard)
            deadline = self.schedule.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.clock.monotonic())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _supervise(self, job: str) -> None:
        interval = self.schedule.interval(job)
        started = self.clock.monotonic()
        try:
            async with asyncio.timeout(interval):
                await self._job(job)
            timed_out = self.clock.monotonic() - started > interval
            outcome = RunOutcome.TIMED_OUT if timed_out else RunOutcome.COMPLETED
        except TimeoutError:
            outcome = RunOutcome.TIMED_OUT
        except Exception:
            log.exception("periodic job %s failed", job)
            outcome = RunOutcome.FAILED
        delay = self.schedule.completed(job, outcome)
        if outcome is RunOutcome.TIMED_OUT:
            log.warning("%s timed out; next run in %.0f s", job, delay)
        if self._wake is not None:
            self._wake.set()

    async def _job(self, job: str) -> None:
        if job == Job.REFRESH:
            if self.state.cursor.should_poll():
                await self.refresh()
        elif job == Job.HEARTBEAT:
            await self.renew()
        elif job == Job.REPLICATE:
            await self.replicate()

    # ---- SIGTERM ------------------------------------------------------------------------------

    def _install_sigterm(self) -> None:
        loop = asyncio.get_running_loop()
        self._previous_sigterm = signal.getsignal(signal.SIGTERM)
        try:
            loop.add_signal_handler(signal.SIGTERM, self._on_sigterm)
        except (NotImplementedError, RuntimeError, ValueError):
            log.warning("cannot handle SIGTERM here (not the main thread or no support)")
            self._previous_sigterm = None
            self._handle_sigterm = False

    def _remove_sigterm(self) -> None:
        if not self._handle_sigterm:
            return
        self._handle_sigterm = False
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
        except (RuntimeError, ValueError):
            pass

    def _on_sigterm(self) -> None:
        async def shutdown() -> None:
            await self.stop()
            # Hand the signal on to whoever had it before (default: terminate the process).
            signal.raise_signal(signal.SIGTERM)

        self._sigterm_task = asyncio.get_running_loop().create_task(shutdown())

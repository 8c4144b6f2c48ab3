"""`DiscoveryClient`: the blocking discovery client for threaded applications.

It owns one background thread that runs the periodic jobs one after the other and, against a
server that advertises the watch, a second one that holds the long-poll (a 30 s hold on the jobs'
thread would delay the heartbeats); listeners are called on either. It never touches an event
loop. Reads from application threads take a lock that the core holds only while it computes
(never during I/O), so they always see a registry between two merges. `close()` aborts the held
request through the transport's `interrupt()` (see `transport.py`) instead of waiting it out.

    with DiscoveryClient(load_config("eureka.yaml")) as eureka:
        instance = eureka.next_server("order-service")
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import FrameType, TracebackType
from typing import Any, TypeVar

from eureka.client.backoff import RunOutcome
from eureka.client.config import EurekaConfig
from eureka.client.cursor import WatchOutcome, WatchResult
from eureka.client.driver import run_sync
from eureka.client.errors import ClientStartError
from eureka.client.facade import BackupRegistry, ClientBase
from eureka.client.messages import Request, Response
from eureka.client.registration import HeartbeatResult
from eureka.client.scheduler import Job
from eureka.client.state import FetchResult, Op
from eureka.client.transport import HttpxSyncTransport, SyncTransport
from eureka.clock import Clock
from eureka.model import InstanceInfo, InstanceStatus

__all__ = ["DiscoveryClient", "SyncHealthCheck"]

log = logging.getLogger("eureka.client")

T = TypeVar("T")
SyncHealthCheck = Callable[[], "InstanceStatus | bool | None"]


class DiscoveryClient(ClientBase):
    """Registers, renews, fetches and answers queries; see the module docstring."""

    def __init__(
        self,
        config: EurekaConfig | None = None,
        *,
        transport: SyncTransport | None = None,
        instance: InstanceInfo | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        health_check: SyncHealthCheck | None = None,
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
        self._lock = threading.RLock()
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._watch_pause = threading.Event()  # set: stop waiting between watch rounds
        self._background = False
        self._started = False
        self._stopped = False

    def _read_lock(self) -> AbstractContextManager[object]:
        return self._lock

    # ---- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> DiscoveryClient:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self, *, background: bool = True, register: bool = True) -> None:
        """Fetch the registry, register, then start the one background thread (§10.1).

        With `register=False` the own instance is only marked dirty: it is published by
        `register_soon()`, the replicator's first periodic run
        (`initial_instance_info_replication_interval_seconds`) or a heartbeat's 404, whichever
        comes first — Java's order when registration is not enforced at start (§10.1). With
        `background=False` no thread is started; `run_due_jobs()` then runs whatever the
        schedule says is due (tests drive it with a manual clock).
        """
        if self._started:
            return
        self._started = True
        if self._transport is None:
            ip = self.own.info.ip_addr if self.own else None
            cc = self.config.client
            self._transport = HttpxSyncTransport(
                self._service_urls(), cc.transport_settings(identity_id=ip), rng=self.rng
            )
        if self._fetching:
            result = self.refresh()
            enforce = self.config.client.should_enforce_fetch_registry_at_init
            if not result.ok and not self._start_backup() and enforce:
                raise ClientStartError(f"initial registry fetch failed: {result.error}")
        if self._registering and self.own is not None and (not register or not self.register()):
            if register and self.config.client.should_enforce_registration_at_init:
                raise ClientStartError("initial registration failed")
            with self._lock:
                self.own.mark_dirty()  # the replicator publishes it on its first run
        with self._lock:
            self._plan_jobs()
        self._background = background
        if background:
            self._thread = threading.Thread(
                target=self._run_schedule, name="eureka-discovery-client", daemon=True
            )
            self._thread.start()
            self._ensure_watch()
        if self._handle_sigterm:
            self._install_sigterm()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread; if registered and configured so, go DOWN locally and cancel (§10.1)."""
        if self._stopped:
            return
        self._stopped = True
        self._remove_sigterm()
        with self._wakeup:
            self._wakeup.notify_all()
        self._watch_pause.set()
        self._interrupt_watch(refuse_new=True)
        for thread in (self._thread, self._watcher):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
        if (
            self._started
            and self.registration is not None
            and self._registering
            and self.config.client.should_unregister_on_shutdown
        ):
            assert self.own is not None
            with self._lock:
                self.own.set_status(InstanceStatus.DOWN)  # local only: nothing publishes it now
            self._run(self.registration.cancel())
        if self._owns_transport and self._transport is not None:
            self._transport.close()

    # ---- operations ---------------------------------------------------------------------------

    def _send(self, request: Request) -> Response:
        transport = self._transport
        assert transport is not None, "start() the client first"
        send = getattr(transport, "send", None)
        if send is not None:  # carries the request's own timeout (the long-poll's)
            response: Response = send(request)
            return response
        return transport.request(
            request.method,
            request.path,
            params=request.params,
            headers=request.headers,
            body=request.body,
        )

    def _interrupt_watch(self, *, refuse_new: bool = False) -> None:
        interrupt = getattr(self._transport, "interrupt", None)
        if interrupt is not None:
            interrupt(refuse_new=refuse_new)

    def _run(self, op: Op[T]) -> T:
        return run_sync(op, self._send, self._lock)

    def refresh(self, force_full: bool = False) -> FetchResult:
        """One registry fetch (full or delta as §10.2 decides; `since=R` against a server with
        cursors); listeners hear its events."""
        result = self._run(self.state.fetch_registry(force_full))
        self._dispatch(result.events)
        if result.ok:
            self._ensure_watch()
        return result

    def watch_once(self) -> WatchResult:
        """One watch round: a long-poll held until a change or `watch.wait-seconds`, merged and
        verified (repaired by digest if need be). The watch thread runs these in a loop."""
        result = self._run(self.state.cursor.watch_once())
        self._dispatch(result.events)
        return result

    def watch_application(self, app: str) -> bool:
        """Watch `app` too (with `watch.applications` / `watch.subset`): fetch it now and restart
        the held watch so that it covers it. True if the application is known afterwards."""
        subscription = self._run(self.state.cursor.subscribe(app))
        self._dispatch(subscription.events)
        if subscription.added:
            self._interrupt_watch()  # the watch thread asks again, with the new subset
        return subscription.known

    # ---- the watch thread ---------------------------------------------------------------------

    def _ensure_watch(self) -> None:
        """Start the watch thread once the server turns out to advertise the watch."""
        with self._lock:
            wanted = self._background and not self._stopped and self.state.cursor.watching()
            if not wanted or (self._watcher is not None and self._watcher.is_alive()):
                return
            self._watcher = threading.Thread(
                target=self._watch_loop, name="eureka-watch", daemon=True
            )
            self._watcher.start()

    def _watch_loop(self) -> None:
        while not self._stopped:
            with self._lock:
                if not self.state.cursor.watching():
                    break
            try:
                result = self.watch_once()
            except Exception:
                log.exception("registry watch round failed")
                result = WatchResult(WatchOutcome.FAILED, retry_in=1.0)
            if result.retry_in > 0 and not self._stopped:
                self._watch_pause.wait(result.retry_in)
        log.info("registry watch stopped; the periodic refresh keeps the registry current")

    def register(self) -> bool:
        if self.registration is None:
            return False
        return self._run(self.registration.register())

    def renew(self) -> HeartbeatResult:
        if self.registration is None:
            return HeartbeatResult(False, None)
        return self._run(self.registration.renew())

    def replicate(self) -> bool | None:
        """One instance-info replicator run: health check, then publish if dirty (§10.9)."""
        if self.registration is None:
            return None
        if self.health_check is not None:
            try:
                status = self._health_status(self.health_check())
            except Exception:
                log.exception("health check failed; reporting DOWN")
                status = InstanceStatus.DOWN  # as Java's replicator does
            if status is not None:
                self._apply_status(status)
        return self._run(self.registration.replicate())

    def set_status(self, status: InstanceStatus) -> None:
        """Change the own status; published at once (rate limited) when on-demand updates are on."""
        if self._apply_status(status):
            self._on_demand()

    def set_metadata(self, **updates: str) -> None:
        if self.own is None:
            return
        with self._lock:
            changed = self.own.update_metadata(updates)
        if changed:
            self._on_demand()

    def register_soon(self) -> None:
        """Have the background thread run the replicator now, whatever the rate limit: it
        registers the own instance if it is dirty (e.g. after `start(register=False)`)."""
        with self._lock:
            if Job.REPLICATE not in self.schedule:
                return
            self.schedule.trigger(Job.REPLICATE)
        with self._wakeup:
            self._wakeup.notify_all()

    def _on_demand(self) -> None:
        with self._lock:
            if (
                not self.config.client.on_demand_update_status_change
                or Job.REPLICATE not in self.schedule
            ):
                return
            admitted = self.on_demand_bucket.try_acquire()
            if admitted:
                self.schedule.trigger(Job.REPLICATE)
        if admitted:
            with self._wakeup:
                self._wakeup.notify_all()
        else:
            log.info("on-demand update rate limited; the next periodic run will publish it")

    # ---- the background thread ----------------------------------------------------------------

    def run_due_jobs(self) -> list[str]:
        """Run every job the schedule says is due, one after the other; returns their names."""
        with self._lock:
            due = self.schedule.due()
        for job in due:
            self._supervise(job)
        return due

    def _run_schedule(self) -> None:
        while not self._stopped:
            self.run_due_jobs()
            with self._lock:
                deadline = self.schedule.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.clock.monotonic())
            with self._wakeup:
                if not self._stopped:
                    self._wakeup.wait(timeout)

    def _supervise(self, job: str) -> None:
        # A blocking call cannot be interrupted, so a run that outlived its interval counts as
        # timed out afterwards; the effect on the delay is the same as Java's cancellation.
        with self._lock:
            interval = self.schedule.interval(job)
        started = self.clock.monotonic()
        try:
            self._job(job)
            timed_out = self.clock.monotonic() - started > interval
            outcome = RunOutcome.TIMED_OUT if timed_out else RunOutcome.COMPLETED
        except Exception:
            log.exception("periodic job %s failed", job)
            outcome = RunOutcome.FAILED
        with self._lock:
            delay = self.schedule.completed(job, outcome)
        if outcome is RunOutcome.TIMED_OUT:
            log.warning("%s timed out; next run in %.0f s", job, delay)

    def _job(self, job: str) -> None:
        if self._stopped:
            return
        if job == Job.REFRESH:
            with self._lock:
                poll = self.state.cursor.should_poll()
            if poll:
                self.refresh()
        elif job == Job.HEARTBEAT:
            self.renew()
        elif job == Job.REPLICATE:
            self.replicate()

    # ---- SIGTERM ------------------------------------------------------------------------------

    def _install_sigterm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            log.warning("cannot handle SIGTERM outside the main thread")
            self._handle_sigterm = False
            return
        self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)

    def _remove_sigterm(self) -> None:
        if not self._handle_sigterm:
            return
        self._handle_sigterm = False
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous_sigterm or signal.SIG_DFL)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.close()  # restores the previous handler
        # Hand the signal on to whoever had it before (default: terminate the process).
        signal.raise_signal(signum)

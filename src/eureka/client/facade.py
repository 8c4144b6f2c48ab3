"""What the async and sync discovery clients share: wiring, listeners, queries, stats.

Everything here is I/O-free; the façades add only the driving of operations (`driver.py`), the
timers and the watch (a task of its own in the async client, a thread of its own in the blocking
one: a long-poll held for 30 s is no `Schedule` job, which would count it as timed out and hold
up the heartbeats behind it). The own instance, the registry core and the schedule are built once
from the config.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from eureka.client.backoff import TokenBucket
from eureka.client.config import EurekaConfig, build_instance_info
from eureka.client.cursor import WatchStats
from eureka.client.errors import NoInstanceAvailable
from eureka.client.events import Event, InstanceAdded, InstanceChanged, InstanceRemoved
from eureka.client.registration import OwnInstance, RegistrationCore
from eureka.client.scheduler import Job, Schedule
from eureka.client.state import ClientState
from eureka.clock import Clock, SystemClock
from eureka.model import Application, Applications, InstanceInfo, InstanceStatus

__all__ = ["BackupRegistry", "ClientBase", "ClientStats", "HealthCheck", "Listener"]

log = logging.getLogger("eureka.client")

Listener = Callable[[Event], None]
BackupRegistry = Callable[[], Applications | None]
HealthCheck = Callable[[], InstanceStatus | None]


@dataclass(frozen=True, slots=True)
class ClientStats:
    full_fetches: int
    delta_fetches: int
    reconcile_mismatches: int
    fetch_failures: int
    discarded_fetch_results: int
    last_successful_fetch_ms: int | None
    registry_size: int
    registry_version: int
    reconcile_hash: str
    registrations: int
    registration_failures: int
    heartbeats: int
    heartbeat_failures: int
    reregistrations: int
    last_successful_heartbeat_ms: int | None
    instance_status: InstanceStatus | None
    refresh_delay_seconds: float | None
    heartbeat_delay_seconds: float | None
    watch: WatchStats


class ClientBase:
    """Construction and the read side shared by `AsyncDiscoveryClient` and `DiscoveryClient`."""

    def __init__(
        self,
        config: EurekaConfig | None,
        *,
        instance: InstanceInfo | None,
        clock: Clock | None,
        rng: random.Random | None,
        backup_registry: BackupRegistry | None,
    ) -> None:
        self.config = config = config or EurekaConfig()
        self.clock = clock = clock or SystemClock()
        self.rng = rng or random.Random()
        cc = config.client
        self._registering = cc.register_with_eureka
        self._fetching = cc.fetch_registry
        own: OwnInstance | None = None
        if self._registering or instance is not None:
            info = instance if instance is not None else build_instance_info(config.instance, clock)
            own = OwnInstance(info, clock)
        self.own = own
        self.registration = RegistrationCore(own, clock) if own is not None else None
        self.state = ClientState(
            cc.fetch_settings(),
            clock=clock,
            rng=self.rng,
            own_app=own.app if own else None,
            own_id=own.id if own else None,
        )
        self.backup_registry = backup_registry
        self.listeners: list[Listener] = []
        self._instance_listeners: list[Listener] = []
        self.schedule = Schedule(clock)
        interval = cc.instance_info_replication_interval_seconds
        # On-demand updates: burst 2, refill 60 × 2 / interval per minute (4 with 30 s) (§10.9).
        self.on_demand_bucket = TokenBucket(clock, 2, 60 * 2 / interval if interval > 0 else 4)

    def _service_urls(self) -> list[str]:
        zone = self.own.info.metadata.get("zone") if self.own is not None else None
        return self.config.client.service_urls(zone, rng=self.rng)

    # ---- to be provided by the façades --------------------------------------------------------

    def _read_lock(self) -> AbstractContextManager[object]:
        return nullcontext()

    # ---- schedule -----------------------------------------------------------------------------

    def _plan_jobs(self) -> None:
        cc = self.config.client
        if self._fetching:
            self.schedule.add(
                Job.REFRESH,
                cc.registry_fetch_interval_seconds,
                bound=cc.cache_refresh_executor_exponential_back_off_bound,
            )
        if self.own is not None and self._registering:
            lease = self.own.info.lease_info
            renewal = lease.renewal_interval_in_secs if lease else 30
            self.schedule.add(
                Job.HEARTBEAT, renewal, bound=cc.heartbeat_executor_exponential_back_off_bound
            )
            self.schedule.add(
                Job.REPLICATE,
                cc.instance_info_replication_interval_seconds,
                first_delay=cc.initial_instance_info_replication_interval_seconds,
            )

    # ---- listeners ----------------------------------------------------------------------------

    def add_listener(self, listener: Listener, *, instance_events: bool = False) -> None:
        """`listener` hears `CacheRefreshed` and `StatusChange`; with `instance_events=True`
        also `InstanceAdded`, `InstanceRemoved` and `InstanceChanged`, one per instance whose
        content changed, whichever fetch brought the change (a listener written for Java's two
        events never sees the others)."""
        self.listeners.append(listener)
        if instance_events:
            self._instance_listeners.append(listener)
            with self._read_lock():
                self.state.instance_events = True

    def remove_listener(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)
        if listener in self._instance_listeners:
            self._instance_listeners.remove(listener)
            if not self._instance_listeners:
                with self._read_lock():
                    self.state.instance_events = False

    def _dispatch(self, events: tuple[Event, ...]) -> None:
        for event in events:
            per_instance = isinstance(event, (InstanceAdded, InstanceRemoved, InstanceChanged))
            for listener in list(self._instance_listeners if per_instance else self.listeners):
                try:
                    listener(event)
                except Exception:  # Java swallows listener failures too (§10.11)
                    log.exception("event listener %r failed on %r", listener, event)

    # ---- own status (pure part; the façades add the on-demand publish) -------------------------

    def _apply_status(self, status: InstanceStatus) -> bool:
        if self.own is None:
            return False
        with self._read_lock():
            changed = self.own.set_status(status) is not None
        return changed

    @staticmethod
    def _health_status(result: object) -> InstanceStatus | None:
        """A health check may answer a status, a bool (healthy or not) or None (no opinion)."""
        if result is None:
            return None
        if isinstance(result, InstanceStatus):
            return result
        if isinstance(result, bool):
            return InstanceStatus.UP if result else InstanceStatus.DOWN
        return InstanceStatus.parse(str(result))

    def _start_backup(self) -> bool:
        if self.backup_registry is None:
            return False
        try:
            registry = self.backup_registry()
        except Exception:
            log.exception("backup registry failed")
            return False
        if registry is None:
            return False
        with self._read_lock():
            self.state.install_backup(registry)
        log.info("using the backup registry (%d instances)", self.state.instance_count())
        return True

    # ---- queries ------------------------------------------------------------------------------

    @property
    def instance_info(self) -> InstanceInfo | None:
        return None if self.own is None else self.own.info

    def applications(self) -> Applications:
        """A snapshot of the local registry, unfiltered (shares the immutable instances)."""
        with self._read_lock():
            registry = self.state.applications
            copy = Applications(registry.version, registry.apps_hashcode)
            for name, app in registry.applications_by_name.items():
                copy.applications_by_name[name] = Application(name, dict(app.instances_by_id))
            return copy

    def get_application(self, name: str) -> Application | None:
        with self._read_lock():
            app = self.state.get_application(name)
            return None if app is None else Application(app.name, dict(app.instances_by_id))

    def get_instances(self, app_name: str) -> list[InstanceInfo]:
        """The app's instances, shuffled; UP only unless `filter_only_up_instances=False`."""
        with self._read_lock():
            return self.state.get_instances(app_name)

    def get_instances_by_vip(
        self, vip: str, secure: bool = False, *, region: str | None = None
    ) -> list[InstanceInfo]:
        with self._read_lock():
            return self.state.get_instances_by_vip(vip, secure=secure, region=region)

    def get_instance(self, instance_id: str) -> InstanceInfo | None:
        with self._read_lock():
            return self.state.get_instance(instance_id)

    def next_server(self, vip: str, secure: bool = False) -> InstanceInfo:
        """Round robin over the VIP's instances; raises `NoInstanceAvailable` when there is none."""
        with self._read_lock():
            found = self.state.next_server(vip, secure=secure)
        if found is None:
            raise NoInstanceAvailable(f"no instance for VIP {vip}")
        return found

    def next_instance(self, name: str) -> InstanceInfo:
        """Round robin over a VIP's instances, or an application's if no VIP has that name."""
        with self._read_lock():
            found = self.state.next_server(name) or self.state.next_instance_of_app(name)
        if found is None:
            raise NoInstanceAvailable(f"no instance for {name}")
        return found

    def stats(self) -> ClientStats:
        with self._read_lock():
            f = self.state.counters
            r = self.registration.counters if self.registration is not None else None
            return ClientStats(
                full_fetches=f.full_fetches,
                delta_fetches=f.delta_fetches,
                reconcile_mismatches=f.reconcile_mismatches,
                fetch_failures=f.fetch_failures,
                discarded_fetch_results=f.discarded_results,
                last_successful_fetch_ms=f.last_successful_fetch_ms,
                registry_size=self.state.instance_count(),
                registry_version=self.state.applications.version,
                reconcile_hash=self.state.reconcile_hash(),
                registrations=r.registrations if r else 0,
                registration_failures=r.registration_failures if r else 0,
                heartbeats=r.heartbeats if r else 0,
                heartbeat_failures=r.heartbeat_failures if r else 0,
                reregistrations=r.reregistrations if r else 0,
                last_successful_heartbeat_ms=r.last_successful_heartbeat_ms if r else None,
                instance_status=self.own.status if self.own else None,
                refresh_delay_seconds=self._delay_of(Job.REFRESH),
                heartbeat_delay_seconds=self._delay_of(Job.HEARTBEAT),
                watch=self.state.cursor.stats(),
            )

    def _delay_of(self, job: str) -> float | None:
        return self.schedule.delay(job) if job in self.schedule else None

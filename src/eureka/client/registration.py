"""The own instance and the operations that publish it: register, heartbeat, cancel (§10.4, §10.9).

Pure like `state.py`: each operation is a generator of `Request`s (see `driver.py`). `OwnInstance`
is Java's `ApplicationInfoManager` + the dirty flag: every change that must reach the server marks
the instance dirty, which stamps `lastDirtyTimestamp` with the client clock — the version the server
compares on heartbeats (§2.3 (2)).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from eureka.client.messages import Request, TransportError
from eureka.client.state import Op
from eureka.clock import Clock
from eureka.codec.json import encode_instance
from eureka.model import InstanceInfo, InstanceStatus

__all__ = ["HeartbeatResult", "OwnInstance", "RegistrationCore", "RegistrationCounters"]

log = logging.getLogger("eureka.client")


@dataclass(slots=True)
class RegistrationCounters:
    registrations: int = 0
    registration_failures: int = 0
    heartbeats: int = 0
    heartbeat_failures: int = 0
    reregistrations: int = 0  # registrations caused by a heartbeat 404
    last_successful_heartbeat_ms: int | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    ok: bool
    status: int | None  # the heartbeat's HTTP status; None when no server answered
    reregistered: bool = False


class OwnInstance:
    """The instance this client publishes, with Java's dirty-flag bookkeeping.

    Java clears the flag only if `lastDirtyTimestamp` did not move while a registration was in
    flight; two changes within the same millisecond would defeat that, so a sequence number is
    used as the stamp instead (the timestamp still goes on the wire).
    """

    __slots__ = ("_clock", "_dirty", "_sequence", "info")

    def __init__(self, info: InstanceInfo, clock: Clock) -> None:
        self.info = info
        self._clock = clock
        self._sequence = 0
        self._dirty = False

    @property
    def app(self) -> str:
        return self.info.app.upper()

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def status(self) -> InstanceStatus:
        return self.info.status

    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_dirty(self) -> int:
        """Java's `setIsDirty()`: dirty now, `lastDirtyTimestamp = now`. Returns the stamp."""
        self.info.last_dirty_timestamp = self._clock.now_ms()
        self._sequence += 1
        self._dirty = True
        return self._sequence

    def dirty_stamp(self) -> int | None:
        return self._sequence if self._dirty else None

    def clear_dirty(self, stamp: int) -> None:
        """Clear the flag unless something re-dirtied the instance after `stamp` was read."""
        if self._sequence == stamp:
            self._dirty = False

    def set_status(self, status: InstanceStatus) -> InstanceStatus | None:
        """Set the own status; returns the previous one if it changed (and marks it dirty)."""
        previous = self.info.status
        if previous is status:
            return None
        self.info.status = status
        self.mark_dirty()
        return previous

    def update_metadata(self, updates: Mapping[str, str]) -> bool:
        changed = any(self.info.metadata.get(k) != v for k, v in updates.items())
        if changed:
            self.info.metadata.update(updates)
            self.mark_dirty()
        return changed


class RegistrationCore:
    """Builds the register / renew / cancel exchanges for one `OwnInstance`."""

    def __init__(self, own: OwnInstance, clock: Clock) -> None:
        self.own = own
        self.clock = clock
        self.counters = RegistrationCounters()

    def _instance_path(self) -> str:
        return f"apps/{self.own.app}/{self.own.id}"

    def register(self) -> Op[bool]:
        """`POST apps/{APP}` with the instance as dialect-A JSON; success ⇔ 204 (§2.5)."""
        body = encode_instance(self.own.info)
        request = Request(
            "POST",
            f"apps/{self.own.app}",
            headers={"Content-Type": "application/json"},
            body=body,
        )
        try:
            response = yield request
        except TransportError as exc:
            self.counters.registration_failures += 1
            log.warning("registration of %s failed: %s", self.own.id, exc)
            return False
        if response.status == 204:
            self.counters.registrations += 1
            log.info("registered %s/%s", self.own.app, self.own.id)
            return True
        self.counters.registration_failures += 1
        log.warning("registration of %s answered %s", self.own.id, response.status)
        return False

    def renew(self) -> Op[HeartbeatResult]:
        """`PUT apps/{APP}/{id}`; 404 ⇒ mark dirty and re-register at once (§10.4)."""
        info = self.own.info
        params = {"status": info.status.value, "lastDirtyTimestamp": str(info.last_dirty_timestamp)}
        try:
            response = yield Request("PUT", self._instance_path(), params)
        except TransportError as exc:
            self.counters.heartbeat_failures += 1
            log.warning("heartbeat of %s failed: %s", self.own.id, exc)
            return HeartbeatResult(False, None)
        if response.status == 200:
            self.counters.heartbeats += 1
            self.counters.last_successful_heartbeat_ms = self.clock.now_ms()
            return HeartbeatResult(True, 200)
        if response.status == 404:
            log.info("heartbeat of %s answered 404: re-registering", self.own.id)
            stamp = self.own.mark_dirty()
            self.counters.reregistrations += 1
            ok = yield from self.register()
            if ok:
                self.own.clear_dirty(stamp)
                self.counters.heartbeats += 1
                self.counters.last_successful_heartbeat_ms = self.clock.now_ms()
            else:
                self.counters.heartbeat_failures += 1
            return HeartbeatResult(ok, 404, reregistered=True)
        self.counters.heartbeat_failures += 1
        log.warning("heartbeat of %s answered %s", self.own.id, response.status)
        return HeartbeatResult(False, response.status)

    def replicate(self) -> Op[bool | None]:
        """One replicator run (§10.9): register if dirty, then clear the flag *whatever the
        result* (Java's behaviour: a failed publish is retried on the next change or 404).
        Returns None when there was nothing to publish."""
        stamp = self.own.dirty_stamp()
        if stamp is None:
            return None
        ok = yield from self.register()
        self.own.clear_dirty(stamp)
        return ok

    def cancel(self) -> Op[int | None]:
        """`DELETE apps/{APP}/{id}`; best effort, any answer is final. Returns the status."""
        try:
            response = yield Request("DELETE", self._instance_path())
        except TransportError as exc:
            log.warning("cancel of %s failed: %s", self.own.id, exc)
            return None
        log.info("cancelled %s/%s: %s", self.own.app, self.own.id, response.status)
        return response.status

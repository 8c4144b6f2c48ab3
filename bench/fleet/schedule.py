"""The fleet's traffic as a pure, seeded function: who sends what, when.

Each of N instances renews its lease every 30 s and fetches the delta every 30 s, each on its own
offset (spread uniformly, as real clients that started at different times are). Open-loop: the send
times are fixed in advance, whatever the server answers. Churn, as a fraction of the fleet per
minute (issue 11: 0.1 %), in equal thirds:
- status changes: an operator takes an instance OUT_OF_SERVICE, later removes the override;
- re-registrations: the instance registers again with a new lastDirtyTimestamp (a metadata or
  status change of its own), and renews with that timestamp from then on;
- restarts: cancel, register again a second later, and fetch the full registry (a fresh client).

The server's delta retention is shortened for the benchmark (`retention_s`, production 180 s) so
that a run takes a minute; status changes and re-registrations are multiplied by 180 / retention_s
so that the delta still holds as many instances as in production (its size is what a delta costs).
Restarts stay at the production rate: they drive the full fetches.

Pure: `fleet_schedule` only computes; `write_schedule` writes the file `openloop` reads.
"""

from __future__ import annotations

import heapq
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.serving import DIRTY_BASE, instance
from eureka.codec import json as json_codec
from eureka.model import InstanceStatus

__all__ = [
    "KINDS",
    "FleetShape",
    "Schedule",
    "fleet_schedule",
    "status_churn_schedule",
    "write_schedule",
]

KINDS = ("renew", "delta", "full", "status", "register", "cancel")
RENEW, DELTA, FULL, STATUS, REGISTER, CANCEL = range(len(KINDS))
PRODUCTION_RETENTION_S = 180
# A client's requests are sequential; open-loop ones are not. A cancel sent this soon after the
# same instance's renewal could overtake it (another connection) and turn it into a 404.
SETTLE_US = 500_000


@dataclass(frozen=True)
class FleetShape:
    instances: int
    seconds: float
    seed: int = 1
    # Instances per application (applications are APP-0 .. APP-(instances / per_app - 1)).
    per_app: int = 100
    renew_s: float = 30.0
    delta_s: float = 30.0
    churn_per_min: float = 0.001
    retention_s: float = 30.0
    host: str = "127.0.0.1"
    # Only the first `delta_clients` instances fetch the delta (None: every one).
    delta_clients: int | None = None
    # The churn's own seed (None: `seed`): consecutive runs of one fleet (the soak's minutes)
    # keep every instance's offsets and vary the churn.
    churn_seed: int | None = None

    @property
    def apps(self) -> int:
        return max(1, self.instances // self.per_app)


@dataclass
class Schedule:
    """Requests as raw HTTP/1.1 bytes (`templates`) and (time µs, template, kind) events."""

    shape: FleetShape
    templates: list[bytes]
    events: Iterator[tuple[int, int, int]]


def _request(method: str, path: str, host: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def fleet_schedule(shape: FleetShape) -> Schedule:
    """The whole run, deterministic in `shape` (seed included)."""
    rng = random.Random(shape.seed)
    n, apps, host = shape.instances, shape.apps, shape.host
    renew_offset = [rng.random() * shape.renew_s for _ in range(n)]
    delta_offset = [rng.random() * shape.delta_s for _ in range(n)]
    pollers = n if shape.delta_clients is None else min(n, shape.delta_clients)
    templates: list[bytes] = []

    def add(template: bytes) -> int:
        templates.append(template)
        return len(templates) - 1

    gz = {"Accept": "application/json", "Accept_Encoding": "gzip"}
    delta = add(_request("GET", "/eureka/apps/delta", host, **gz))
    full = add(_request("GET", "/eureka/apps", host, **gz))

    def renewal(i: int, dirty: int) -> bytes:
        query = f"status=UP&lastDirtyTimestamp={dirty}"
        return _request("PUT", f"/eureka/apps/APP-{i % apps}/inst-{i}?{query}", host)

    renew = [add(renewal(i, DIRTY_BASE + i)) for i in range(n)]

    def periodic(offsets: list[float], period: float, kind: int) -> Iterator[tuple[int, int, int]]:
        order = sorted(range(len(offsets)), key=offsets.__getitem__)
        k = 0
        while k * period < shape.seconds:
            for i in order:
                t = offsets[i] + k * period
                if t >= shape.seconds:
                    break
                yield int(t * 1e6), kind, i
            k += 1

    scale = PRODUCTION_RETENTION_S / shape.retention_s
    per_s = n * shape.churn_per_min / 60 / 3  # each third of the production churn
    churn_rates = ((STATUS, per_s * scale), (REGISTER, per_s * scale), (CANCEL, per_s))

    def churn() -> Iterator[tuple[int, int, int]]:
        seed = shape.seed if shape.churn_seed is None else shape.churn_seed
        crng = random.Random(seed * 7919 + 1)
        streams = []
        for kind, rate in churn_rates:
            times, t = [], 0.0
            while rate > 0:
                t += crng.expovariate(rate)
                if t >= shape.seconds:
                    break
                times.append((int(t * 1e6), kind, crng.randrange(n)))
            streams.append(times)
        yield from heapq.merge(*streams)

    def events() -> Iterator[tuple[int, int, int]]:
        overridden: set[int] = set()
        down_until: dict[int, int] = {}
        renewed: dict[int, int] = {}  # instance → its latest renewal's send time
        pending: list[tuple[int, int, int]] = []  # follow-ups of restarts: (t, kind, instance)
        merged = heapq.merge(
            periodic(renew_offset, shape.renew_s, RENEW),
            periodic(delta_offset[:pollers], shape.delta_s, DELTA),
            churn(),
        )
        for t, kind, i in merged:
            while pending and pending[0][0] <= t:
                yield from _restart_step(heapq.heappop(pending))
            if kind == DELTA:
                yield t, delta, DELTA
            elif down_until.get(i, -1) >= t:
                continue  # a restarting instance neither renews nor changes
            elif kind == RENEW:
                switch = renew_from.get(i)
                if switch is not None and switch[0] <= t:
                    renew[i] = switch[1]
                    del renew_from[i]
                renewed[i] = t
                yield t, renew[i], RENEW
            elif kind == CANCEL and t - renewed.get(i, -SETTLE_US) < SETTLE_US:
                continue  # a renewal may still be in flight: a client cancels after it returns
            elif kind == STATUS:
                app = f"APP-{i % apps}/inst-{i}"
                if i in overridden:
                    overridden.discard(i)
                    path = f"/eureka/apps/{app}/status?value=UP"
                    yield t, add(_request("DELETE", path, host)), STATUS
                else:
                    overridden.add(i)
                    path = f"/eureka/apps/{app}/status?value={InstanceStatus.OUT_OF_SERVICE}"
                    yield t, add(_request("PUT", path, host)), STATUS
            elif kind == REGISTER:
                yield t, _register(t, i), REGISTER
            else:
                overridden.discard(i)
                down_until[i] = t + 2_000_000
                path = f"/eureka/apps/APP-{i % apps}/inst-{i}"
                yield t, add(_request("DELETE", path, host)), CANCEL
                heapq.heappush(pending, (t + 1_000_000, REGISTER, i))
                heapq.heappush(pending, (t + 2_000_000, FULL, i))
        while pending:
            yield from _restart_step(heapq.heappop(pending))

    serial = [0]
    # A client renews with its new lastDirtyTimestamp only once its registration is answered.
    # Open-loop, a renewal sent a moment after the POST could overtake it on another connection
    # and get 404 (a timestamp newer than the server's): the switch waits a second.
    renew_from: dict[int, tuple[int, int]] = {}

    def _register(t: int, i: int) -> int:
        """POST a new registration of instance i with a newer lastDirtyTimestamp; its renewals
        carry that timestamp from a second later on (as a client's do once it is registered)."""
        serial[0] += 1
        dirty = DIRTY_BASE + n + serial[0] * n + i
        info = instance(i, apps, dirty=dirty)
        body = json_codec.encode_instance(info)
        path = f"/eureka/apps/APP-{i % apps}"
        template = add(_request("POST", path, host, body, Content_Type="application/json"))
        renew_from[i] = (t + 1_000_000, add(renewal(i, dirty)))
        return template

    def _restart_step(step: tuple[int, int, int]) -> Iterator[tuple[int, int, int]]:
        t, kind, i = step
        if kind == REGISTER:
            yield t, _register(t, i), REGISTER
        else:
            yield t, full, FULL

    return Schedule(shape, templates, events())


def status_churn_schedule(
    rate: float, seconds: float, instances: int, apps: int, host: str = "127.0.0.1"
) -> Schedule:
    """Status changes at a fixed rate, evenly spaced: instance (37 n mod instances) goes
    OUT_OF_SERVICE (each a real change while n < instances)."""
    shape = FleetShape(instances=instances, seconds=seconds, per_app=max(1, instances // apps))
    templates: list[bytes] = []
    events: list[tuple[int, int, int]] = []
    for n in range(int(rate * seconds)):
        i = (n * 37) % instances
        path = f"/eureka/apps/APP-{i % apps}/inst-{i}/status?value={InstanceStatus.OUT_OF_SERVICE}"
        templates.append(_request("PUT", path, host))
        events.append((int(n / rate * 1e6), n, STATUS))
    return Schedule(shape, templates, iter(events))


def write_schedule(schedule: Schedule, path: Path) -> dict[str, int]:
    """Write the file `openloop` reads; returns the number of events per kind."""
    counts = dict.fromkeys(KINDS, 0)
    packed = bytearray()
    pack = struct.Struct("<QIB").pack
    n_events = 0
    for t, template, kind in schedule.events:  # consumed first: it adds templates as it goes
        packed += pack(t, template, kind)
        counts[KINDS[kind]] += 1
        n_events += 1
    with path.open("wb") as out:
        out.write(b"OLG1" + struct.pack("<I", len(KINDS)))
        for name in KINDS:
            out.write(struct.pack("<H", len(name)) + name.encode())
        out.write(struct.pack("<I", len(schedule.templates)))
        for template in schedule.templates:
            out.write(struct.pack("<I", len(template)))
            out.write(template)
        out.write(struct.pack("<I", n_events))
        out.write(packed)
    return counts

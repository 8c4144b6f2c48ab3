"""An in-memory Eureka server behind the client's transport seam, and instance builders.

`FakeEurekaServer` implements `SyncTransport`; `AsyncFake(server)` the async flavour. It speaks
the real wire format (payloads encoded with `eureka.codec.json`), keeps a delta of everything
changed since `forget_delta()`, and can be told to misbehave (refuse deltas, lie about the hash,
fail, be slow) so that each client decision can be provoked on purpose.

By default it is a Java server: no `X-Eureka-Features`. With `features=FEATURES` it also speaks
the propagation contract (docs/design/propagation.md): an epoch and a revision per change, a
cursor log (`forget_log()` drops it, so old cursors get 410), `delta?since=R[&wait=S][&apps=]`
(304 when nothing changed; with `hold=True` a long-poll really blocks, in a thread or a task,
until a change, `interrupt()` or the wait), `apps/digests` and `apps/{app}` — digests computed
from scratch here, so the client's incremental ones are checked against an independent sum.
`tamper()` changes an instance without a log entry: a lost change only the digest can see.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping

import msgspec

from eureka.client.messages import Interrupted, Request, Response, TransportError
from eureka.codec import json as json_codec
from eureka.digest import format_digest, per_app_digests
from eureka.model import (
    AMAZON_CLASS,
    DEFAULT_DATA_CENTER_CLASS,
    ActionType,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
)
from eureka.reconcile import reconcile_hash

FEATURES = "cursor,watch,digest,subset"


def make_instance(
    app: str,
    n: int,
    *,
    status: InstanceStatus = InstanceStatus.UP,
    vip: str | None = None,
    svip: str | None = None,
    zone: str | None = None,
) -> InstanceInfo:
    host = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    dci = (
        DataCenterInfo("Amazon", AMAZON_CLASS, {"instance-id": f"i-{n}", "availability-zone": zone})
        if zone
        else DataCenterInfo("MyOwn", DEFAULT_DATA_CENTER_CLASS)
    )
    return InstanceInfo(
        app=app.upper(),
        instance_id=f"{host}:{app.lower()}:{8000 + n % 1000}",
        host_name=host,
        ip_addr=host,
        status=status,
        port=8000 + n % 1000,
        data_center_info=dci,
        vip_address=vip if vip is not None else app.lower(),
        secure_vip_address=svip,
        last_updated_timestamp=1_754_500_000_000 + n,
        last_dirty_timestamp=1_754_500_000_000 + n,
    )


def make_registry(count: int, *, apps: int = 10, version: int = 1) -> Applications:
    instances = [make_instance(f"app-{i % apps}", i) for i in range(count)]
    registry = Applications.of(instances, version=version)
    registry.apps_hashcode = reconcile_hash(registry.iter_instances())
    return registry


def with_action(instance: InstanceInfo, action: ActionType) -> InstanceInfo:
    copy = instance.copy()
    copy.action_type = action
    return copy


class FakeEurekaServer:
    """A tiny Eureka: full and delta fetches, register, heartbeat, cancel — in memory."""

    def __init__(self, *, features: str | None = None, epoch: str = "epoch-1") -> None:
        self.instances: dict[tuple[str, str], InstanceInfo] = {}
        self.recent: dict[tuple[str, str], InstanceInfo] = {}
        self.delta_version = 0
        self.requests: list[Request] = []
        # Knobs for misbehaviour:
        self.delta_status: int | None = None  # e.g. 403: deltas refused
        self.delta_empty_body = False
        self.delta_hash: str | None = None  # a lie about the hash
        self.failures: int = 0  # the next N requests raise TransportError
        self.status_for: dict[str, int] = {}  # "METHOD path" → forced status
        self.on_request: Callable[[Request], None] | None = None  # e.g. advance a clock
        self.closed = False
        # The propagation contract (None: a Java server, none of it):
        self.features = features
        self.epoch = epoch
        self.revision = 0
        self.log: list[tuple[int, tuple[str, str], InstanceInfo]] = []
        self.log_floor = 0  # a cursor older than this is gone (410)
        self.digest_lie: str | None = None  # the digest the next cursor answers claim
        self.hold = False  # long-polls block until a change, an interrupt or their wait
        self.holding = 0  # long-polls being held right now
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._interrupts = 0
        self._refusing = False

    # ---- state changes --------------------------------------------------------------------------

    def add(self, instance: InstanceInfo, action: ActionType = ActionType.ADDED) -> None:
        with self._lock:
            key = (instance.app.upper(), instance.id)
            self.instances[key] = instance
            self._record(key, with_action(instance, action))

    def set_status(self, app: str, instance_id: str, status: InstanceStatus) -> None:
        key = (app.upper(), instance_id)
        instance = self.instances[key].copy()
        instance.status = status
        self.add(instance, ActionType.MODIFIED)

    def delete(self, app: str, instance_id: str) -> None:
        with self._lock:
            key = (app.upper(), instance_id)
            instance = self.instances.pop(key)
            self._record(key, with_action(instance, ActionType.DELETED))

    def _record(self, key: tuple[str, str], entry: InstanceInfo) -> None:
        self.recent[key] = entry
        self.revision += 1
        self.log.append((self.revision, key, entry))
        self._changed.notify_all()

    def tamper(self, app: str, instance_id: str, **fields: object) -> None:
        """Change an instance without recording the change (a change the client never hears of)."""
        with self._lock:
            key = (app.upper(), instance_id)
            self.instances[key] = msgspec.structs.replace(self.instances[key], **fields)

    def forget_delta(self) -> None:
        self.recent.clear()

    def forget_log(self) -> None:
        """Drop the cursor log: every cursor before the current revision now gets 410."""
        with self._lock:
            self.log.clear()
            self.log_floor = self.revision

    def restart(self, epoch: str) -> None:
        """Another revision space (a restart, or a peer): same instances, new epoch."""
        with self._lock:
            self.epoch = epoch
            self.log.clear()
            self.revision = self.log_floor = 0

    def full(self, apps: set[str] | None = None) -> Applications:
        registry = Applications.of(self._selected(apps), version=1)
        registry.apps_hashcode = reconcile_hash(registry.iter_instances())
        return registry

    def _selected(self, apps: set[str] | None) -> list[InstanceInfo]:
        return [i for (app, _), i in self.instances.items() if apps is None or app in apps]

    def digests(self, apps: set[str] | None = None) -> dict[str, int]:
        return per_app_digests(Applications.of(self._selected(apps)))

    def delta(self) -> Applications:
        self.delta_version += 1
        delta = Applications.of(self.recent.values(), version=self.delta_version)
        delta.apps_hashcode = (
            self.delta_hash
            if self.delta_hash is not None
            else reconcile_hash(self.instances.values())
        )
        return delta

    # ---- the transport seam ---------------------------------------------------------------------

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        return self.send(Request(method, path, dict(params or {}), dict(headers or {}), body))

    def send(self, request: Request) -> Response:
        first = self._accept(request)
        if first is not None:
            return first
        with self._lock:
            answer = self._handle(request)
            if answer is not None:
                return answer
            # A long-poll with nothing to answer yet: hold it (or pretend its wait passed).
            deadline = time.monotonic() + float(request.params.get("wait") or 30)
            interrupts = self._interrupts
            self.holding += 1
            try:
                while self.hold:
                    if self._interrupts != interrupts:
                        raise Interrupted("interrupted (fake)")
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(left)
                    answer = self._cursor_delta(request)
                    if answer is not None:
                        return answer
            finally:
                self.holding -= 1
            return self._not_modified(request)

    def _accept(self, request: Request) -> Response | None:
        """Bookkeeping and forced failures; a Response here is final."""
        with self._lock:
            self.requests.append(request)
            if request.long_poll and self._refusing:
                raise Interrupted("refused (fake)")
        if self.on_request is not None:
            self.on_request(request)
        if self.failures:
            self.failures -= 1
            raise TransportError("connection refused (fake)")
        forced = self.status_for.get(f"{request.method} {request.path}")
        if forced is not None:
            return Response(forced)
        return None

    def interrupt(self, *, refuse_new: bool = False) -> None:
        with self._lock:
            self._interrupts += 1
            self._refusing = self._refusing or refuse_new
            self._changed.notify_all()

    # ---- the propagation contract ---------------------------------------------------------------

    def _headers(self, apps: set[str] | None, *, digest: bool = True) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.features is None:
            return headers
        headers["x-eureka-features"] = self.features
        headers["x-eureka-epoch"] = self.epoch
        headers["x-eureka-revision"] = str(self.revision)
        if digest:
            total = sum(self.digests(apps).values())
            headers["x-eureka-digest"] = format_digest(total)
        return headers

    def _subset(self, request: Request) -> set[str] | None:
        raw = request.params.get("apps")
        if raw is None or self.features is None or "subset" not in self.features:
            return None
        return {a.strip().upper() for a in raw.split(",") if a.strip()}

    def _cursor_delta(self, request: Request) -> Response | None:
        """A cursor delta, a 410, or None: nothing after the cursor yet and the request waits."""
        apps = self._subset(request)
        epoch = request.headers.get("X-Eureka-Epoch") or request.params.get("epoch")
        if epoch is None:
            return Response(400, {}, b"since without an epoch")
        since = int(request.params["since"])
        if epoch != self.epoch or since < self.log_floor or since > self.revision:
            gone = self._headers(None, digest=False) | {"content-type": "text/plain"}
            return Response(410, gone, b"cursor gone")
        latest: dict[tuple[str, str], InstanceInfo] = {}
        for revision, key, entry in self.log:
            if revision > since and (apps is None or key[0] in apps):
                latest.pop(key, None)
                latest[key] = entry
        if not latest and "wait" in request.params:
            return None
        delta = Applications.of(latest.values(), version=self.revision)
        delta.apps_hashcode = reconcile_hash(self._selected(apps))
        headers = self._headers(apps)
        if self.digest_lie is not None:
            headers["x-eureka-digest"] = self.digest_lie
        return Response(200, headers, json_codec.encode_applications(delta))

    def _not_modified(self, request: Request) -> Response:
        headers = self._headers(self._subset(request))
        headers.pop("content-type")
        if self.digest_lie is not None:
            headers["x-eureka-digest"] = self.digest_lie
        return Response(304, headers)

    def _digests_document(self, apps: set[str] | None) -> bytes:
        per_app = self.digests(apps)
        return msgspec.json.encode(
            {
                "epoch": self.epoch,
                "revision": self.revision,
                "digest": format_digest(sum(per_app.values())),
                "applications": {name: format_digest(d) for name, d in sorted(per_app.items())},
            }
        )

    # ---- requests -------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response | None:
        json = {"content-type": "application/json"}
        segments = [s for s in request.path.split("/") if s]
        method = request.method
        if method == "GET" and segments == ["apps"]:
            apps = self._subset(request)
            body = json_codec.encode_applications(self.full(apps))
            return Response(200, self._headers(apps), body)
        cursor = self.features is not None and "since" in request.params
        if method == "GET" and segments == ["apps", "delta"] and cursor:
            return self._cursor_delta(request)
        if method == "GET" and segments == ["apps", "digests"] and self.features is not None:
            apps = self._subset(request)
            return Response(200, self._headers(apps), self._digests_document(apps))
        if (
            method == "GET"
            and len(segments) == 2
            and segments[0] == "apps"
            and (segments[1] not in ("delta", "digests"))
        ):
            app = segments[1].upper()
            found = Applications.of(self._selected({app})).applications_by_name.get(app)
            if found is None:
                return Response(404, self._headers(None, digest=False))
            return Response(200, self._headers({app}), json_codec.encode_application(found))
        if method == "GET" and segments == ["apps", "delta"]:
            if self.delta_status is not None:
                return Response(self.delta_status)
            if self.delta_empty_body:
                return Response(200, json, b"")
            body = json_codec.encode_applications(self.delta())
            return Response(200, self._headers(None), body)
        if method == "GET" and len(segments) == 2 and segments[0] == "vips":
            matching = [
                i
                for i in self.instances.values()
                if segments[1] in (i.vip_address or "").split(",")
            ]
            vip_registry = Applications.of(matching, version=-1)
            vip_registry.apps_hashcode = reconcile_hash(matching)
            return Response(200, json, json_codec.encode_applications(vip_registry))
        if method == "POST" and len(segments) == 2 and segments[0] == "apps":
            instance = json_codec.decode_instance(request.body or b"")
            self.add(instance)
            return Response(204)
        if len(segments) == 3 and segments[0] == "apps":
            key = (segments[1].upper(), segments[2])
            if method == "PUT":
                return Response(200 if key in self.instances else 404)
            if method == "DELETE":
                if key in self.instances:
                    self.delete(*key)
                    return Response(200)
                return Response(404)
        return Response(404)

    def close(self) -> None:
        self.closed = True


class AsyncFake:
    """The same server behind the async transport protocol (a held long-poll polls the server
    every few milliseconds; cancelling the task that awaits it ends it)."""

    def __init__(self, server: FakeEurekaServer) -> None:
        self.server = server
        self.closed = False
        self.cancelled = 0  # long-polls cancelled while held

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        request = Request(method, path, dict(params or {}), dict(headers or {}), body)
        return await self.send(request)

    async def send(self, request: Request) -> Response:
        server = self.server
        first = server._accept(request)
        if first is not None:
            return first
        with server._lock:
            answer = server._handle(request)
        if answer is not None:
            return answer
        deadline = time.monotonic() + float(request.params.get("wait") or 30)
        server.holding += 1
        try:
            while server.hold and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
                with server._lock:
                    answer = server._cursor_delta(request)
                if answer is not None:
                    return answer
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            server.holding -= 1
        with server._lock:
            return server._not_modified(request)

    async def aclose(self) -> None:
        self.closed = True

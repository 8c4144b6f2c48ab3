"""An in-memory Eureka server behind the client's transport seam, and instance builders.

`FakeEurekaServer` implements `SyncTransport`; `AsyncFake(server)` the async flavour. It speaks
the real wire format (payloads encoded with `eureka.codec.json`), keeps a delta of everything
changed since `forget_delta()`, and can be told to misbehave (refuse deltas, lie about the hash,
fail, be slow) so that each client decision can be provoked on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from eureka.client.messages import Request, Response, TransportError
from eureka.codec import json as json_codec
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

    def __init__(self) -> None:
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

    # ---- state changes --------------------------------------------------------------------------

    def add(self, instance: InstanceInfo, action: ActionType = ActionType.ADDED) -> None:
        key = (instance.app.upper(), instance.id)
        self.instances[key] = instance
        self.recent[key] = with_action(instance, action)

    def set_status(self, app: str, instance_id: str, status: InstanceStatus) -> None:
        key = (app.upper(), instance_id)
        instance = self.instances[key].copy()
        instance.status = status
        self.add(instance, ActionType.MODIFIED)

    def delete(self, app: str, instance_id: str) -> None:
        key = (app.upper(), instance_id)
        instance = self.instances.pop(key)
        self.recent[key] = with_action(instance, ActionType.DELETED)

    def forget_delta(self) -> None:
        self.recent.clear()

    def full(self) -> Applications:
        registry = Applications.of(self.instances.values(), version=1)
        registry.apps_hashcode = reconcile_hash(registry.iter_instances())
        return registry

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
        request = Request(method, path, dict(params or {}), dict(headers or {}), body)
        self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)
        if self.failures:
            self.failures -= 1
            raise TransportError("connection refused (fake)")
        forced = self.status_for.get(f"{method} {path}")
        if forced is not None:
            return Response(forced)
        return self._handle(request)

    def _handle(self, request: Request) -> Response:
        json = {"content-type": "application/json"}
        segments = [s for s in request.path.split("/") if s]
        method = request.method
        if method == "GET" and segments == ["apps"]:
            return Response(200, json, json_codec.encode_applications(self.full()))
        if method == "GET" and segments == ["apps", "delta"]:
            if self.delta_status is not None:
                return Response(self.delta_status)
            if self.delta_empty_body:
                return Response(200, json, b"")
            return Response(200, json, json_codec.encode_applications(self.delta()))
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
    """The same server behind the async transport protocol."""

    def __init__(self, server: FakeEurekaServer) -> None:
        self.server = server
        self.closed = False

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        return self.server.request(method, path, params=params, headers=headers, body=body)

    async def aclose(self) -> None:
        self.closed = True

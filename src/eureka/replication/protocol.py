"""The peer-replication batch wire format (protocol.md §8.2, §8.3) and its pure receiver.

`POST {peer}peerreplication/batch/` carries `{"replicationList": [...]}` and is answered with
`{"responseList": [...]}`, one entry per request item, in order. Both are plain Jackson bean
encodings with nulls omitted and **no** root wrapper, including around the embedded InstanceInfo.

Encoders emit exactly the Java key order and typing (checked against
`fixtures/java/peer-replication-batch-*.legacyjackson.json`): `lastDirtyTimestamp` is a JSON number
here, unlike inside an InstanceInfo where dialect A writes it as a string. Decoders are lenient the
way our instance decoder is: unknown keys are ignored, `null` means absent and numbers may arrive as
numeric strings (Jackson coerces those too). What they cannot make sense of — no `appName`, `id`
or `action`, an action name that does not exist — rejects the whole batch with BadInput, as Java's
decoder does with a 400, so that nothing of a half-understood batch is applied.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

import msgspec

from eureka.codec.json import decode_document, instance_from_obj, instance_to_obj
from eureka.errors import BadInput
from eureka.model import InstanceInfo, InstanceStatus
from eureka.registry.registry import RenewOutcome, RenewResult

__all__ = [
    "DEFAULT_MAX_BATCH_BYTES",
    "MAX_TIME_FOR_REPLICATION_MS",
    "Action",
    "ReplicationInstance",
    "ReplicationItemResult",
    "ReplicationTarget",
    "ReplicationTask",
    "apply_batch",
    "cancel_task",
    "decode_batch",
    "decode_batch_response",
    "delete_status_override_task",
    "encode_batch",
    "encode_batch_response",
    "heartbeat_task",
    "register_task",
    "status_update_task",
    "task_id",
]

_log = logging.getLogger("eureka.replication")

# A batch holds at most 250 items (§8.4); a full InstanceInfo is 1–3 KB, so 8 MiB leaves a wide
# margin for metadata-heavy registrations while still bounding what a peer can make us parse.
DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024
# `maxTimeForReplication` (§11.2): how long cancel / status tasks may wait for a peer.
MAX_TIME_FOR_REPLICATION_MS = 30_000
# Java's `Lease.DEFAULT_DURATION_IN_SECS`, which `PeerEurekaNode.getLeaseRenewalOf` falls back on
# when an instance carries no lease info (it uses the *duration* default, not the 30 s interval).
_NO_LEASE_INFO_EXPIRY_MS = 90_000


class Action(enum.StrEnum):
    """`PeerAwareInstanceRegistryImpl.Action`; the wire carries the Java constant names."""

    HEARTBEAT = "Heartbeat"
    REGISTER = "Register"
    CANCEL = "Cancel"
    STATUS_UPDATE = "StatusUpdate"
    DELETE_STATUS_OVERRIDE = "DeleteStatusOverride"

    @property
    def task_kind(self) -> str:
        """The request-type prefix of Java's task ids (`PeerEurekaNode.taskId`)."""
        return _TASK_KINDS[self]


_TASK_KINDS = {
    Action.HEARTBEAT: "heartbeat",
    Action.REGISTER: "register",
    Action.CANCEL: "cancel",
    Action.STATUS_UPDATE: "statusUpdate",
    Action.DELETE_STATUS_OVERRIDE: "deleteStatusOverride",
}


class ReplicationInstance(msgspec.Struct, gc=False):
    """One item of a batch. `status` and `overridden_status` stay strings, as in Java's bean: the
    receiver parses them only for the actions that use them (a bad name fails that item alone)."""

    app_name: str
    id: str
    action: Action
    last_dirty_timestamp: int | None = None
    overridden_status: str | None = None
    status: str | None = None
    instance_info: InstanceInfo | None = None


class ReplicationItemResult(msgspec.Struct, gc=False):
    """One entry of the batch response: an HTTP-like status code, plus the receiver's copy of the
    instance on a heartbeat conflict (409)."""

    status_code: int
    response_entity: InstanceInfo | None = None


class ReplicationTask(NamedTuple):
    """What the sender hands to each peer's dispatcher: dedup key, payload, time to live."""

    task_id: str
    item: ReplicationInstance
    expiry_ms: int


# --------------------------------------------------------------------------------------------
# Encoding (exactly Java's shape)

_encoder = msgspec.json.Encoder()


def _item_to_obj(item: ReplicationInstance) -> dict[str, Any]:
    # Key order of Jackson's bean serialisation of ReplicationInstance (fixture-verified).
    obj: dict[str, Any] = {"appName": item.app_name, "id": item.id}
    if item.last_dirty_timestamp is not None:
        obj["lastDirtyTimestamp"] = item.last_dirty_timestamp
    if item.overridden_status is not None:
        obj["overriddenStatus"] = item.overridden_status
    if item.status is not None:
        obj["status"] = item.status
    if item.instance_info is not None:
        obj["instanceInfo"] = instance_to_obj(item.instance_info)
    obj["action"] = item.action.value
    return obj


def encode_batch(items: Iterable[ReplicationInstance]) -> bytes:
    return _encoder.encode({"replicationList": [_item_to_obj(item) for item in items]})


def _result_to_obj(result: ReplicationItemResult) -> dict[str, Any]:
    obj: dict[str, Any] = {"statusCode": result.status_code}
    if result.response_entity is not None:
        obj["responseEntity"] = instance_to_obj(result.response_entity)
    return obj


def encode_batch_response(results: Iterable[ReplicationItemResult]) -> bytes:
    return _encoder.encode({"responseList": [_result_to_obj(result) for result in results]})


# --------------------------------------------------------------------------------------------
# Decoding (lenient on form, strict on meaning)


def _parse_document(data: bytes, max_bytes: int, root_key: str) -> list[Any]:
    if len(data) > max_bytes:
        raise BadInput(f"replication payload larger than {max_bytes} bytes")
    # The codec's bounded helper: malformed, non-UTF-8 or too deeply nested → BadInput (a 400),
    # never the RecursionError that used to end a 1,000-deep batch in a 500.
    document = decode_document(data, max_bytes=max_bytes)
    if not isinstance(document, dict):
        raise BadInput("replication payload is not a JSON object")
    entries = document.get(root_key)
    if not isinstance(entries, list):
        raise BadInput(f"replication payload has no {root_key} array")
    return entries


def _optional_int(obj: dict[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise BadInput(f"{where}: {key} is not a number")


def _optional_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise BadInput(f"{where}: {key} is not a string")


def _required_str(obj: dict[str, Any], key: str, where: str) -> str:
    value = _optional_str(obj, key, where)
    if not value:
        raise BadInput(f"{where}: missing {key}")
    return value


def _optional_instance(obj: dict[str, Any], key: str, where: str) -> InstanceInfo | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput(f"{where}: {key} is not an object")
    return instance_from_obj(value)


def _item_from_obj(obj: Any, index: int) -> ReplicationInstance:
    where = f"replicationList[{index}]"
    if not isinstance(obj, dict):
        raise BadInput(f"{where} is not an object")
    action_name = _required_str(obj, "action", where)
    try:
        action = Action(action_name)
    except ValueError:
        raise BadInput(f"{where}: unknown action {action_name[:40]!r}") from None
    return ReplicationInstance(
        app_name=_required_str(obj, "appName", where),
        id=_required_str(obj, "id", where),
        action=action,
        last_dirty_timestamp=_optional_int(obj, "lastDirtyTimestamp", where),
        overridden_status=_optional_str(obj, "overriddenStatus", where),
        status=_optional_str(obj, "status", where),
        instance_info=_optional_instance(obj, "instanceInfo", where),
    )


def decode_batch(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BATCH_BYTES
) -> list[ReplicationInstance]:
    """Decode a batch request body; BadInput (with a short reason) on anything unusable."""
    entries = _parse_document(data, max_bytes, "replicationList")
    return [_item_from_obj(entry, index) for index, entry in enumerate(entries)]


def _result_from_obj(obj: Any, index: int) -> ReplicationItemResult:
    where = f"responseList[{index}]"
    if not isinstance(obj, dict):
        raise BadInput(f"{where} is not an object")
    code = _optional_int(obj, "statusCode", where)
    if code is None:
        raise BadInput(f"{where}: missing statusCode")
    try:
        entity = _optional_instance(obj, "responseEntity", where)
    except BadInput:
        # The status code alone still tells the sender what to do (a 409 without a usable
        # entity is merely logged, as Java does when the entity is absent), so one malformed
        # entity must not discard the verdicts on the other items of the batch.
        entity = None
    return ReplicationItemResult(code, entity)


def decode_batch_response(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BATCH_BYTES
) -> list[ReplicationItemResult]:
    """Decode a peer's batch response; BadInput if it is not a response list at all."""
    entries = _parse_document(data, max_bytes, "responseList")
    return [_result_from_obj(entry, index) for index, entry in enumerate(entries)]


# --------------------------------------------------------------------------------------------
# Sender side: the items Java builds for each local operation (§8.1, table of §8.2)


def task_id(action: Action, app_name: str, instance_id: str) -> str:
    """`register#APP/id`, `heartbeat#APP/id`, … — the dispatcher's dedup key."""
    return f"{action.task_kind}#{app_name}/{instance_id}"


def _lease_renewal_ms(info: InstanceInfo) -> int:
    lease = info.lease_info
    if lease is None:
        return _NO_LEASE_INFO_EXPIRY_MS
    return lease.renewal_interval_in_secs * 1000


def register_task(info: InstanceInfo) -> ReplicationTask:
    item = ReplicationInstance(
        app_name=info.app,
        id=info.id,
        action=Action.REGISTER,
        last_dirty_timestamp=info.last_dirty_timestamp,
        status=info.status.value,
        instance_info=info,
    )
    return ReplicationTask(
        task_id(Action.REGISTER, info.app, info.id), item, _lease_renewal_ms(info)
    )


def heartbeat_task(info: InstanceInfo, overridden: InstanceStatus | None = None) -> ReplicationTask:
    """`info` is the registry copy; `overridden` the id's entry in the override map, if any."""
    # The hottest builder (every renewal, for every peer): positional, no helper calls.
    app, instance_id = info.app, info.id
    item = ReplicationInstance(
        app,
        instance_id,
        Action.HEARTBEAT,
        info.last_dirty_timestamp,
        None if overridden is None else overridden.value,
        info.status.value,
    )
    lease = info.lease_info
    expiry_ms = _NO_LEASE_INFO_EXPIRY_MS if lease is None else lease.renewal_interval_in_secs * 1000
    return ReplicationTask(f"heartbeat#{app}/{instance_id}", item, expiry_ms)


def cancel_task(
    app_name: str, instance_id: str, *, expiry_ms: int = MAX_TIME_FOR_REPLICATION_MS
) -> ReplicationTask:
    item = ReplicationInstance(app_name=app_name, id=instance_id, action=Action.CANCEL)
    return ReplicationTask(task_id(Action.CANCEL, app_name, instance_id), item, expiry_ms)


def _status_task(
    action: Action, app_name: str, instance_id: str, info: InstanceInfo, expiry_ms: int
) -> ReplicationTask:
    item = ReplicationInstance(
        app_name=app_name,
        id=instance_id,
        action=action,
        last_dirty_timestamp=info.last_dirty_timestamp,
        status=info.status.value,
    )
    return ReplicationTask(task_id(action, app_name, instance_id), item, expiry_ms)


def status_update_task(
    app_name: str,
    instance_id: str,
    info: InstanceInfo,
    *,
    expiry_ms: int = MAX_TIME_FOR_REPLICATION_MS,
) -> ReplicationTask:
    """`info` is the registry copy after the update (its status is the new status)."""
    return _status_task(Action.STATUS_UPDATE, app_name, instance_id, info, expiry_ms)


def delete_status_override_task(
    app_name: str,
    instance_id: str,
    info: InstanceInfo,
    *,
    expiry_ms: int = MAX_TIME_FOR_REPLICATION_MS,
) -> ReplicationTask:
    """`info` is the registry copy after the deletion (usually status UNKNOWN)."""
    return _status_task(Action.DELETE_STATUS_OVERRIDE, app_name, instance_id, info, expiry_ms)


# --------------------------------------------------------------------------------------------
# Receiver side (§8.3): apply a decoded batch to the local registry


class ReplicationTarget(Protocol):
    """The registry operations a batch drives (`eureka.registry.registry.Registry` fits)."""

    def validate_registration(self, path_app: str, info: InstanceInfo) -> None: ...

    def register(self, info: InstanceInfo, *, is_replication: bool = False) -> None: ...

    def renew(
        self,
        app: str,
        instance_id: str,
        *,
        is_replication: bool = False,
        last_dirty_timestamp: int | None = None,
        overridden_status: InstanceStatus | None = None,
    ) -> RenewResult: ...

    def cancel(self, app: str, instance_id: str, *, is_replication: bool = False) -> bool: ...

    def status_update(
        self,
        app: str,
        instance_id: str,
        status: InstanceStatus,
        last_dirty_timestamp: int | None,
        *,
        is_replication: bool = False,
    ) -> bool: ...

    def delete_status_override(
        self,
        app: str,
        instance_id: str,
        new_status: InstanceStatus = InstanceStatus.UNKNOWN,
        last_dirty_timestamp: int | None = None,
        *,
        is_replication: bool = False,
    ) -> bool: ...


_OK = ReplicationItemResult(200)
_NOT_FOUND = ReplicationItemResult(404)
_BAD_ITEM = ReplicationItemResult(400)
_FAILED = ReplicationItemResult(500)


def _status_name(value: str | None, *, default: InstanceStatus | None) -> InstanceStatus:
    """Exact-case InstanceStatus name, as Java's `InstanceStatus.valueOf`."""
    if value is None:
        if default is None:
            raise BadInput("missing status")
        return default
    try:
        return InstanceStatus(value)
    except ValueError:
        raise BadInput(f"invalid status {value[:40]!r}") from None


def _apply_item(registry: ReplicationTarget, item: ReplicationInstance) -> ReplicationItemResult:
    app, instance_id = item.app_name, item.id
    action = item.action
    if action is Action.REGISTER:
        info = item.instance_info
        if info is None:
            # Java dereferences the missing instance and answers this item with 500.
            return _FAILED
        try:
            registry.validate_registration(app, info)
        except BadInput:
            # Java's addInstance answers 400, but the batch reports 200 regardless (§8.3).
            # We keep the 200 and, unlike a careless reading of Java, apply nothing.
            return _OK
        registry.register(info, is_replication=True)
        return _OK
    if action is Action.HEARTBEAT:
        overridden = (
            None
            if item.overridden_status is None
            else _status_name(item.overridden_status, default=None)
        )
        result = registry.renew(
            app,
            instance_id,
            is_replication=True,
            last_dirty_timestamp=item.last_dirty_timestamp,
            overridden_status=overridden,
        )
        if result.outcome is RenewOutcome.OK:
            return _OK
        if result.outcome is RenewOutcome.CONFLICT:
            return ReplicationItemResult(409, result.instance)
        return _NOT_FOUND
    if action is Action.CANCEL:
        return _OK if registry.cancel(app, instance_id, is_replication=True) else _NOT_FOUND
    if action is Action.STATUS_UPDATE:
        status = _status_name(item.status, default=None)
        found = registry.status_update(
            app, instance_id, status, item.last_dirty_timestamp, is_replication=True
        )
        return _OK if found else _NOT_FOUND
    # DeleteStatusOverride: an absent status means UNKNOWN, as on the single endpoint (§2.3 (5)).
    status = _status_name(item.status, default=InstanceStatus.UNKNOWN)
    found = registry.delete_status_override(
        app, instance_id, status, item.last_dirty_timestamp, is_replication=True
    )
    return _OK if found else _NOT_FOUND


def apply_batch(
    registry: ReplicationTarget, items: Sequence[ReplicationInstance]
) -> list[ReplicationItemResult]:
    """Apply `items` in order as replications; one result per item (§8.3).

    Per-item codes: 200 done; 404 unknown instance (or a heartbeat that must re-register);
    409 + the local copy for a heartbeat whose sender is older; 400 for an item whose status
    names are not InstanceStatus names (Java answers 500 there, and Java senders treat every
    non-2xx alike, so the friendlier code costs no compatibility); 500 if applying the item
    raised — for that item only, the rest of the batch still applies.
    """
    results: list[ReplicationItemResult] = []
    for item in items:
        try:
            results.append(_apply_item(registry, item))
        except BadInput:
            results.append(_BAD_ITEM)
        except Exception:
            _log.exception("replicated %s of %s/%s failed", item.action, item.app_name, item.id)
            results.append(_FAILED)
    return results

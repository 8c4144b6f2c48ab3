"""The batch wire format (protocol.md §8.2, §8.3) against the Java encoder's output."""

from __future__ import annotations

import json

import pytest

from eureka.errors import BadInput
from eureka.model import InstanceStatus, LeaseInfo
from eureka.replication.protocol import (
    Action,
    ReplicationInstance,
    ReplicationItemResult,
    cancel_task,
    decode_batch,
    decode_batch_response,
    delete_status_override_task,
    encode_batch,
    encode_batch_response,
    heartbeat_task,
    register_task,
    status_update_task,
    task_id,
)
from tests.conftest import FIXTURES, JAVA_FIXTURES

JAVA_REQUEST = (JAVA_FIXTURES / "peer-replication-batch-request.legacyjackson.json").read_bytes()
JAVA_RESPONSE = (JAVA_FIXTURES / "peer-replication-batch-response.legacyjackson.json").read_bytes()
CONSTRUCTED_REQUEST = (FIXTURES / "peer-replication-batch-request.json").read_bytes()
CONSTRUCTED_RESPONSE = (FIXTURES / "peer-replication-batch-response.json").read_bytes()


def test_java_request_decodes_to_the_fixture_items() -> None:
    items = decode_batch(JAVA_REQUEST)
    assert [i.action for i in items] == [
        Action.REGISTER,
        Action.HEARTBEAT,
        Action.HEARTBEAT,
        Action.HEARTBEAT,
        Action.STATUS_UPDATE,
        Action.HEARTBEAT,
        Action.DELETE_STATUS_OVERRIDE,
        Action.CANCEL,
    ]
    register = items[0]
    assert (register.app_name, register.id) == ("ORDER-SERVICE", "10.0.1.13:order-service:8080")
    assert register.last_dirty_timestamp == 1754500005000
    assert register.instance_info is not None
    assert register.instance_info.id == "10.0.1.13:order-service:8080"
    assert register.instance_info.port == 8080
    assert register.instance_info.metadata == {"management.port": "8080"}
    assert items[5].overridden_status == "OUT_OF_SERVICE"
    assert items[6].status == "UNKNOWN"
    cancel = items[7]
    assert (cancel.last_dirty_timestamp, cancel.status, cancel.instance_info) == (None, None, None)
    assert all(i.instance_info is None for i in items[1:])


def test_request_reencodes_byte_for_byte_as_java_wrote_it() -> None:
    assert encode_batch(decode_batch(JAVA_REQUEST)) == JAVA_REQUEST


def test_constructed_request_means_the_same_as_the_java_one() -> None:
    assert decode_batch(CONSTRUCTED_REQUEST) == decode_batch(JAVA_REQUEST)


def test_response_decodes_and_reencodes_as_java_wrote_it() -> None:
    results = decode_batch_response(JAVA_RESPONSE)
    assert [r.status_code for r in results] == [200, 200, 409, 404, 200, 200, 200, 200]
    entity = results[2].response_entity
    assert entity is not None
    assert (entity.app, entity.id, entity.last_dirty_timestamp) == (
        "INVENTORY-SERVICE",
        "inventory-2.example.internal",
        1754499150000,
    )
    assert all(r.response_entity is None for i, r in enumerate(results) if i != 2)
    assert encode_batch_response(results) == JAVA_RESPONSE
    assert decode_batch_response(CONSTRUCTED_RESPONSE) == results


def test_lastdirtytimestamp_is_a_json_number_and_nulls_are_omitted() -> None:
    items = [ReplicationInstance("APP", "i-1", Action.CANCEL)]
    assert (
        encode_batch(items)
        == b'{"replicationList":[{"appName":"APP","id":"i-1","action":"Cancel"}]}'
    )
    items = [
        ReplicationInstance("APP", "i-1", Action.HEARTBEAT, last_dirty_timestamp=12, status="UP")
    ]
    document = json.loads(encode_batch(items))
    assert document["replicationList"][0]["lastDirtyTimestamp"] == 12


def test_decoder_is_lenient_about_form() -> None:
    body = json.dumps(
        {
            "replicationList": [
                {
                    "appName": "APP",
                    "id": "i-1",
                    "lastDirtyTimestamp": " 1754500005000",  # Jackson coerces numeric strings
                    "overriddenStatus": None,
                    "status": "UP",
                    "instanceInfo": None,
                    "futureField": {"nested": [1, 2]},
                    "action": "Heartbeat",
                }
            ],
            "somethingElse": True,
        }
    ).encode()
    (item,) = decode_batch(body)
    assert item == ReplicationInstance(
        "APP", "i-1", Action.HEARTBEAT, last_dirty_timestamp=1754500005000, status="UP"
    )


def test_empty_batch_round_trips() -> None:
    assert decode_batch(b'{"replicationList":[]}') == []
    assert encode_batch([]) == b'{"replicationList":[]}'
    assert encode_batch_response([]) == b'{"responseList":[]}'


def _one(**fields: object) -> bytes:
    return json.dumps({"replicationList": [fields]}).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"[]",
        b"{}",
        b'{"replicationList": {}}',
        b'{"replicationList": [1]}',
        _one(id="i", action="Cancel"),
        _one(appName="A", action="Cancel"),
        _one(appName="A", id="i"),
        _one(appName="A", id="", action="Cancel"),
        _one(appName="A", id="i", action="cancel"),
        _one(appName="A", id="i", action="Evict"),
        _one(appName=7, id="i", action="Cancel"),
        _one(appName="A", id="i", action="Cancel", lastDirtyTimestamp=True),
        _one(appName="A", id="i", action="Cancel", lastDirtyTimestamp="x"),
        _one(appName="A", id="i", action="Cancel", status=1),
        _one(appName="A", id="i", action="Register", instanceInfo=[]),
        b"\xff\xfe",
    ],
)
def test_unusable_batches_are_bad_input(body: bytes) -> None:
    with pytest.raises(BadInput):
        decode_batch(body)


def test_oversized_batch_is_bad_input_before_parsing() -> None:
    with pytest.raises(BadInput, match="larger than"):
        decode_batch(JAVA_REQUEST, max_bytes=len(JAVA_REQUEST) - 1)
    assert len(decode_batch(JAVA_REQUEST, max_bytes=len(JAVA_REQUEST))) == 8


def test_response_with_a_broken_entity_keeps_its_status_code() -> None:
    body = b'{"responseList":[{"statusCode":409,"responseEntity":[]},{"statusCode":"404"}]}'
    assert decode_batch_response(body) == [ReplicationItemResult(409), ReplicationItemResult(404)]


@pytest.mark.parametrize(
    "body", [b"<html/>", b'{"responseList":[{}]}', b'{"responseList":[{"statusCode":null}]}', b"{}"]
)
def test_unusable_responses_are_bad_input(body: bytes) -> None:
    with pytest.raises(BadInput):
        decode_batch_response(body)


# ------------------------------------------------------------------ what the sender builds


def _java_items() -> list[dict[str, object]]:
    items: list[dict[str, object]] = json.loads(JAVA_REQUEST)["replicationList"]
    return items


def _encoded(item: ReplicationInstance) -> dict[str, object]:
    (obj,) = json.loads(encode_batch([item]))["replicationList"]
    assert isinstance(obj, dict)
    return obj


def test_register_task_carries_the_instance_like_java() -> None:
    info = decode_batch(JAVA_REQUEST)[0].instance_info
    assert info is not None
    task = register_task(info)
    assert task.task_id == "register#ORDER-SERVICE/10.0.1.13:order-service:8080"
    assert task.expiry_ms == 30_000  # the instance's renewal interval
    assert _encoded(task.item) == _java_items()[0]
    assert list(_encoded(task.item)) == list(_java_items()[0])


def test_heartbeat_task_carries_status_timestamp_and_override_like_java() -> None:
    info = decode_batch(JAVA_REQUEST)[0].instance_info
    assert info is not None
    info.app, info.instance_id = "PAYMENT-SERVICE", "i-0a1b2c3d4e5f60002"
    info.status = InstanceStatus.OUT_OF_SERVICE
    info.last_dirty_timestamp = 1754497995200
    task = heartbeat_task(info, InstanceStatus.OUT_OF_SERVICE)
    assert task.task_id == "heartbeat#PAYMENT-SERVICE/i-0a1b2c3d4e5f60002"
    assert list(_encoded(task.item).items()) == list(_java_items()[5].items())


def test_status_and_cancel_tasks_match_the_java_items() -> None:
    info = decode_batch(JAVA_REQUEST)[0].instance_info
    assert info is not None
    info.status = InstanceStatus.OUT_OF_SERVICE
    info.last_dirty_timestamp = 1754498990000
    status = status_update_task("ORDER-SERVICE", "10.0.1.11:order-service:8080", info)
    assert status.task_id == "statusUpdate#ORDER-SERVICE/10.0.1.11:order-service:8080"
    assert status.expiry_ms == 30_000
    assert list(_encoded(status.item).items()) == list(_java_items()[4].items())

    info.status = InstanceStatus.UNKNOWN
    info.last_dirty_timestamp = 1754497995200
    delete = delete_status_override_task("PAYMENT-SERVICE", "i-0a1b2c3d4e5f60002", info)
    assert delete.task_id == "deleteStatusOverride#PAYMENT-SERVICE/i-0a1b2c3d4e5f60002"
    assert list(_encoded(delete.item).items()) == list(_java_items()[6].items())

    cancel = cancel_task("ORDER-SERVICE", "10.0.1.12:order-service:8080", expiry_ms=5_000)
    assert cancel.task_id == "cancel#ORDER-SERVICE/10.0.1.12:order-service:8080"
    assert cancel.expiry_ms == 5_000
    assert list(_encoded(cancel.item).items()) == list(_java_items()[7].items())


def test_expiry_follows_the_lease_renewal_interval() -> None:
    info = decode_batch(JAVA_REQUEST)[0].instance_info
    assert info is not None
    info.lease_info = LeaseInfo(renewal_interval_in_secs=5)
    assert register_task(info).expiry_ms == 5_000
    assert heartbeat_task(info).expiry_ms == 5_000
    # Without lease info Java falls back on Lease.DEFAULT_DURATION_IN_SECS (90 s).
    info.lease_info = None
    assert heartbeat_task(info).expiry_ms == 90_000


def test_task_ids_use_javas_request_type_names() -> None:
    assert [task_id(a, "A", "i") for a in Action] == [
        "heartbeat#A/i",
        "register#A/i",
        "cancel#A/i",
        "statusUpdate#A/i",
        "deleteStatusOverride#A/i",
    ]

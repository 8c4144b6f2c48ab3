"""The JSON codec against the payloads in shared/fixtures, above all those the real Java codecs and
the real Java server wrote (fixtures/java, fixtures/java/http).

Comparisons parse both documents and compare them as data *with* key order and value types
(`shape`), except AmazonInfo metadata, which Java writes in HashMap order (java/README.md) and is
compared as a map.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eureka.codec import json as codec
from eureka.errors import BadInput
from eureka.model import (
    AMAZON_CLASS,
    DEFAULT_DATA_CENTER_CLASS,
    Application,
    Applications,
    InstanceInfo,
    InstanceStatus,
)
from eureka.reconcile import reconcile_hash
from tests.conftest import FIXTURES, JAVA_FIXTURES, JAVA_HTTP

ROOTS = ("instance", "application", "applications")

# Stems with a constructed fixture in fixtures/ and the real codecs' output in fixtures/java.
STEMS = [
    "registry-full",
    "registry-delta",
    "registry-full-after-delta",
    "registry-empty",
    "vip-order-service",
    "application-inventory-service",
    "instance-payment-service-1",
    "register-instance-netflix-client",
    "register-instance-springcloud-jersey",
    "register-instance-springcloud-restclient",
    "register-instance-amazon",
]

# Dialect-A documents written by the real server or the real Java client (http/README.md); the
# other request bodies there are the constructed fixtures, sent unchanged.
HTTP_DIALECT_A = [
    "10-renew-older-lastDirty-replication.resp.json",
    "15-get-instance-json.resp.json",
    "19-get-instances-by-id-json.resp.json",
    "21-get-app-json.resp.json",
    "23-get-app-lowercase-json.resp.json",
    "24-get-vip-json.resp.json",
    "25-get-svip-json.resp.json",
    "26-get-vip-unknown.resp.json",
    "27-get-apps-json.resp.json",
    "33-get-delta-json.resp.json",
    "39-get-delta-json-after-changes.resp.json",
    "51-rootmounted-get-apps-identity.resp.json",
    "javaclient-01-register.req.json",
]


def _payload_files() -> list[Path]:
    """Every JSON fixture whose root is an instance, application or applications document."""
    candidates = [
        *sorted(FIXTURES.glob("*.json")),
        *sorted(JAVA_FIXTURES.glob("*.json")),
        *sorted(JAVA_HTTP.glob("*.json")),
    ]
    result = []
    for path in candidates:
        try:
            document = json.loads(path.read_bytes())
        except ValueError:
            continue  # 44-register-malformed-json.req.json: tested as bad input below
        if isinstance(document, dict) and len(document) == 1 and next(iter(document)) in ROOTS:
            result.append(path)
    return result


PAYLOAD_FILES = _payload_files()


def decode(data: bytes) -> Any:
    root = next(iter(json.loads(data)))
    if root == "instance":
        return codec.decode_instance(data)
    if root == "application":
        return codec.decode_application(data)
    return codec.decode_applications(data)


def encode(value: Any) -> bytes:
    if isinstance(value, InstanceInfo):
        return codec.encode_instance(value)
    if isinstance(value, Application):
        return codec.encode_application(value)
    return codec.encode_applications(value)


def encode_compact(value: Any) -> bytes:
    """The compact document for any root (JacksonJsonMini wraps instances/applications alike)."""
    if isinstance(value, InstanceInfo):
        return b'{"instance":' + codec.encode_instance_fragment(value, compact=True) + b"}"
    if isinstance(value, Application):
        fragments = [codec.encode_instance_fragment(i, compact=True) for i in value]
        return codec.join_application(value.name, fragments)
    return codec.encode_applications(value, compact=True)


def shape(value: Any, amazon_metadata: bool = False) -> Any:
    """A comparable form keeping key order and JSON types (True is not 1, "1" is not 1)."""
    if isinstance(value, dict):
        if amazon_metadata:
            return ("map", sorted((k, shape(v)) for k, v in value.items()))
        is_amazon = value.get("@class") == AMAZON_CLASS
        return (
            "object",
            [
                (k, shape(v, amazon_metadata=is_amazon and k == "metadata"))
                for k, v in value.items()
            ],
        )
    if isinstance(value, list):
        return ("array", [shape(v) for v in value])
    return (type(value).__name__, value)


def parsed(data: bytes) -> Any:
    return json.loads(data)


def instance_objects(document: Any) -> list[Any]:
    """The instance objects of a generic document, accepting the single-object shapes."""

    def as_list(value: Any) -> list[Any]:
        if value is None:
            return []
        return value if isinstance(value, list) else [value]

    root, body = next(iter(document.items()))
    if root == "instance":
        return [body]
    if root == "application":
        return as_list(body.get("instance"))
    return [i for app in as_list(body.get("application")) for i in as_list(app.get("instance"))]


def instances_of(value: Any) -> list[InstanceInfo]:
    if isinstance(value, InstanceInfo):
        return [value]
    if isinstance(value, Application):
        return value.instances
    assert isinstance(value, Applications)
    return list(value.iter_instances())


# ---------------------------------------------------------------------------------------------
# every payload decodes


def test_the_fixture_set_is_complete() -> None:
    names = {p.name for p in PAYLOAD_FILES}
    assert "registry-full.json" in names
    assert "registry-full.xstreamjson.json" in names
    assert "29-get-apps-json-compact.resp.json" in names
    assert len(PAYLOAD_FILES) >= 80  # guards against a glob that silently matches little


@pytest.mark.parametrize("path", PAYLOAD_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_payload_decodes_with_all_its_instances(path: Path) -> None:
    data = path.read_bytes()
    value = decode(data)
    objects = instance_objects(parsed(data))
    decoded = instances_of(value)
    # Applications de-duplicate by effective id; none of the fixtures repeats an id.
    assert len(decoded) == len(objects)
    for obj, instance in zip(objects, decoded, strict=True):
        assert instance.app == obj["app"].upper()
        assert instance.host_name == obj.get("hostName")
        assert instance.status.value == obj["status"]
        assert instance.instance_id == obj.get("instanceId")


# ---------------------------------------------------------------------------------------------
# reconcile hashes (values from fixtures/README.md)

README_HASHES = {
    "registry-full": "DOWN_1_OUT_OF_SERVICE_1_STARTING_1_UP_3_",
    "registry-full-after-delta": "OUT_OF_SERVICE_2_UP_4_",
    "registry-empty": "",
    "vip-order-service": "DOWN_1_UP_1_",
}
DIALECT_FILES = ["{}.json", "java/{}.legacyjackson.json", "java/{}.jacksonjson.json"]
DIALECT_FILES += ["java/{}.jacksonjsonmini.json", "java/{}.xstreamjson.json"]


@pytest.mark.parametrize("pattern", DIALECT_FILES)
@pytest.mark.parametrize("stem", sorted(README_HASHES))
def test_registry_hash_matches_readme(stem: str, pattern: str) -> None:
    registry = codec.decode_applications((FIXTURES / pattern.format(stem)).read_bytes())
    assert reconcile_hash(registry.iter_instances()) == README_HASHES[stem]
    assert registry.apps_hashcode == README_HASHES[stem]


@pytest.mark.parametrize("pattern", DIALECT_FILES)
def test_delta_carries_the_post_delta_hash(pattern: str) -> None:
    delta = codec.decode_applications((FIXTURES / pattern.format("registry-delta")).read_bytes())
    assert delta.apps_hashcode == "OUT_OF_SERVICE_2_UP_4_"
    assert delta.version == 17
    # ... which is not the hash of the delta's own instances (README).
    assert reconcile_hash(delta.iter_instances()) == "DOWN_1_OUT_OF_SERVICE_1_UP_2_"


def test_legacy_shapes_hash() -> None:
    registry = codec.decode_applications((FIXTURES / "legacy-xstream-shapes.json").read_bytes())
    assert reconcile_hash(registry.iter_instances()) == registry.apps_hashcode == "UP_1_"


@pytest.mark.parametrize(
    "name",
    [
        "24-get-vip-json.resp.json",
        "25-get-svip-json.resp.json",
        "26-get-vip-unknown.resp.json",
        "27-get-apps-json.resp.json",
        "29-get-apps-json-compact.resp.json",
        "51-rootmounted-get-apps-identity.resp.json",
    ],
)
def test_real_server_hash_matches_its_payload(name: str) -> None:
    registry = codec.decode_applications((JAVA_HTTP / name).read_bytes())
    assert registry.apps_hashcode is not None
    assert reconcile_hash(registry.iter_instances()) == registry.apps_hashcode


# ---------------------------------------------------------------------------------------------
# encoding reproduces the real codecs


@pytest.mark.parametrize("stem", STEMS)
def test_full_encoding_matches_legacy_jackson(stem: str) -> None:
    value = decode((FIXTURES / f"{stem}.json").read_bytes())
    expected = (JAVA_FIXTURES / f"{stem}.legacyjackson.json").read_bytes()
    assert shape(parsed(encode(value))) == shape(parsed(expected))


@pytest.mark.parametrize("stem", STEMS)
def test_compact_encoding_matches_jackson_json_mini(stem: str) -> None:
    value = decode((FIXTURES / f"{stem}.json").read_bytes())
    expected = (JAVA_FIXTURES / f"{stem}.jacksonjsonmini.json").read_bytes()
    assert shape(parsed(encode_compact(value))) == shape(parsed(expected))


JAVA_LEGACY_JACKSON = [
    p.name
    for p in sorted(JAVA_FIXTURES.glob("*.legacyjackson*.json"))
    if not p.name.startswith("peer-replication")  # see test_replication_instance_objects_round_trip
]


@pytest.mark.parametrize("name", JAVA_LEGACY_JACKSON)
def test_java_output_round_trips_byte_for_byte(name: str) -> None:
    data = (JAVA_FIXTURES / name).read_bytes()
    # Decoding keeps metadata order, so even Java's HashMap order survives the round trip.
    assert encode(decode(data)) == data


@pytest.mark.parametrize("stem", STEMS)
def test_java_compact_output_round_trips_byte_for_byte(stem: str) -> None:
    data = (JAVA_FIXTURES / f"{stem}.jacksonjsonmini.json").read_bytes()
    assert encode_compact(decode(data)) == data


def test_programmatic_empty_registry_matches_java() -> None:
    registry = Applications(version=1, apps_hashcode=reconcile_hash([]))
    java = JAVA_FIXTURES / "registry-empty-programmatic"
    assert codec.encode_applications(registry) == Path(f"{java}.legacyjackson.json").read_bytes()
    compact = codec.encode_applications(registry, compact=True)
    assert compact == Path(f"{java}.jacksonjsonmini.json").read_bytes()


@pytest.mark.parametrize("name", HTTP_DIALECT_A)
def test_real_server_responses_round_trip_byte_for_byte(name: str) -> None:
    data = (JAVA_HTTP / name).read_bytes()
    assert encode(decode(data)) == data


def test_real_server_compact_response_round_trips_byte_for_byte() -> None:
    data = (JAVA_HTTP / "29-get-apps-json-compact.resp.json").read_bytes()
    assert encode_compact(decode(data)) == data


def test_real_server_full_and_compact_views_agree() -> None:
    """27 (full) and 29 (compact) were fetched from the same server state one after the other."""
    full = codec.decode_applications((JAVA_HTTP / "27-get-apps-json.resp.json").read_bytes())
    compact_doc = (JAVA_HTTP / "29-get-apps-json-compact.resp.json").read_bytes()
    assert shape(parsed(codec.encode_applications(full, compact=True))) == shape(
        parsed(compact_doc)
    )


# ---------------------------------------------------------------------------------------------
# dialects: B (Spring Cloud RestClient), legacy XStream/Jettison, the other Java codecs


@pytest.mark.parametrize(
    "path",
    [
        FIXTURES / "register-instance-springcloud-restclient.json",
        JAVA_HTTP / "04-register-json-dialectB-restclient.req.json",
    ],
    ids=["constructed", "http-04"],
)
def test_dialect_b_registration(path: Path) -> None:
    data = path.read_bytes()
    raw = parsed(data)["instance"]
    instance = codec.decode_instance(data)
    # Values the fixture text states, with dialect B's native types and explicit nulls.
    assert raw["port"] == {"$": 8080, "@enabled": "true"}
    assert (instance.port, instance.port_enabled) == (8080, True)
    assert (instance.secure_port, instance.secure_port_enabled) == (443, False)
    assert raw["status"] == "UP" and instance.status is InstanceStatus.UP
    assert instance.overridden_status is InstanceStatus.UNKNOWN
    assert raw["metadata"] == {"management.port": "8080"} == instance.metadata
    assert raw["lastUpdatedTimestamp"] == 1754500004000 == instance.last_updated_timestamp
    assert raw["lastDirtyTimestamp"] == 1754500005000 == instance.last_dirty_timestamp
    assert raw["isCoordinatingDiscoveryServer"] is False
    assert instance.is_coordinating_discovery_server is False
    assert raw["appGroupName"] is None and instance.app_group_name is None
    assert raw["actionType"] is None and instance.action_type is None
    assert raw["secureHealthCheckUrl"] is None and instance.secure_health_check_url is None
    assert raw["sid"] == "na" == instance.sid
    assert instance.instance_id == raw["instanceId"]
    assert instance.host_name == raw["hostName"] == instance.ip_addr
    assert instance.vip_address == "order-service" == instance.secure_vip_address
    assert instance.data_center_info is not None
    assert instance.data_center_info.name == "MyOwn"
    assert instance.data_center_info.class_name == DEFAULT_DATA_CENTER_CLASS
    assert instance.lease_info is not None
    assert (instance.lease_info.renewal_interval_in_secs, instance.lease_info.duration_in_secs) == (
        30,
        90,
    )


def test_legacy_xstream_shapes() -> None:
    data = (FIXTURES / "legacy-xstream-shapes.json").read_bytes()
    registry = codec.decode_applications(data)
    assert registry.version == 1  # a JSON number there
    application = registry.get_application("LEGACY-APP")
    assert application is not None and len(application) == 1  # single objects, not arrays
    instance = application.instances[0]
    assert instance.instance_id is None
    assert instance.id == "legacy-1.example.internal"  # falls back to hostName
    assert application.get_instance("legacy-1.example.internal") is instance
    assert (instance.port, instance.port_enabled) == (8080, True)  # "$": "8080"
    assert (instance.secure_port, instance.secure_port_enabled) == (443, False)
    assert instance.country_id == 1  # "1"
    assert instance.overridden_status is InstanceStatus.UNKNOWN  # lower-case key
    assert instance.metadata == {}  # the EmptyMap placeholder
    assert instance.lease_info is not None
    assert instance.lease_info.registration_timestamp == 1754499000000  # string in the file
    assert instance.lease_info.last_renewal_timestamp == 1754500080000
    assert instance.last_updated_timestamp == 1754499000000
    assert instance.last_dirty_timestamp == 1754498990000
    assert instance.is_coordinating_discovery_server is False


@pytest.mark.parametrize("other", ["jacksonjson", "xstreamjson"])
@pytest.mark.parametrize("stem", STEMS)
def test_every_java_json_codec_decodes_to_the_same_model(stem: str, other: str) -> None:
    """The real codecs wrote the same objects in dialect A, B (JacksonJson) and the Jettison shape
    (booleans, `"$": "8080"`, numbers in metadata, `overriddenstatus`)."""
    reference = decode((JAVA_FIXTURES / f"{stem}.legacyjackson.json").read_bytes())
    assert decode((JAVA_FIXTURES / f"{stem}.{other}.json").read_bytes()) == reference


def test_registry_decoded_from_xml_by_java_equals_registry_decoded_from_json() -> None:
    from_xml = decode((JAVA_FIXTURES / "registry-full.fromxml.legacyjackson.json").read_bytes())
    from_json = decode((JAVA_FIXTURES / "registry-full.legacyjackson.json").read_bytes())
    assert from_xml == from_json  # only Amazon metadata order differs, and dicts ignore order


def test_xstream_json_metadata_numbers_become_strings() -> None:
    data = (JAVA_FIXTURES / "registry-delta.xstreamjson.json").read_bytes()
    assert '"management.port":8080' in data.decode()
    registry = codec.decode_applications(data)
    instance = registry.get_application("ORDER-SERVICE").get_instance(  # type: ignore[union-attr]
        "10.0.1.13:order-service:8080"
    )
    assert instance is not None and instance.metadata == {"management.port": "8080"}


def test_amazon_registration() -> None:
    instance = codec.decode_instance((FIXTURES / "register-instance-amazon.json").read_bytes())
    dci = instance.data_center_info
    assert dci is not None and dci.is_amazon and dci.class_name == AMAZON_CLASS
    assert dci.metadata is not None and dci.metadata["instance-id"] == instance.id
    assert dci.metadata["availability-zone"] == "us-east-1c"
    assert (instance.secure_port, instance.secure_port_enabled) == (8443, True)


def test_registration_without_host_name_decodes_for_the_validator() -> None:
    """Java answers 400 "Missing hostname" from the resource, after decoding succeeded."""
    instance = codec.decode_instance(
        (JAVA_HTTP / "46-register-missing-hostname.req.json").read_bytes()
    )
    assert instance.host_name is None
    assert instance.instance_id == "x1"
    assert instance.app == "ORDER-SERVICE"


def test_malformed_registration_body_is_bad_input() -> None:
    with pytest.raises(BadInput):
        codec.decode_instance((JAVA_HTTP / "44-register-malformed-json.req.json").read_bytes())


# ---------------------------------------------------------------------------------------------
# replication: bare instance objects


def _replication_instance_objects() -> list[Any]:
    request = parsed(
        (JAVA_FIXTURES / "peer-replication-batch-request.legacyjackson.json").read_bytes()
    )
    response = parsed(
        (JAVA_FIXTURES / "peer-replication-batch-response.legacyjackson.json").read_bytes()
    )
    objects = [
        item["instanceInfo"] for item in request["replicationList"] if "instanceInfo" in item
    ]
    objects += [
        item["responseEntity"] for item in response["responseList"] if "responseEntity" in item
    ]
    return objects


def test_replication_instance_objects_round_trip() -> None:
    objects = _replication_instance_objects()
    assert len(objects) == 2
    for obj in objects:
        instance = codec.instance_from_obj(obj)
        assert instance.app == obj["app"]
        assert shape(codec.instance_to_obj(instance)) == shape(obj)

"""The XML codec against payloads written by the real Java codecs and server (fixtures/java).

Decoding: every XML payload fixture decodes, carries the hash the fixtures README states, and
decodes to the same model as the JSON version of the same payload. Encoding: models decoded from
Java's payloads re-encode to exactly what Java wrote — XStream for full XML, JacksonXmlMini for
compact, the V1 rendering for `*-v1request.xml` and the single-instance XML GETs. The one
allowance is the order of AmazonInfo metadata, which Java writes in `HashMap` order (see
fixtures/java/README.md), so a model decoded from JSON is compared with that block sorted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest

from eureka.codec import xml
from eureka.errors import BadInput
from eureka.model import Applications, InstanceStatus
from eureka.reconcile import reconcile_hash
from tests.conftest import FIXTURES, JAVA_FIXTURES, JAVA_HTTP

_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "instance": xml.decode_instance,
    "application": xml.decode_application,
    "applications": xml.decode_applications,
}

# Response and request bodies among the recorded HTTP exchanges that are Eureka payloads.
_HTTP_PAYLOADS = [
    "02-register-xml-netflix-client.req.xml",
    "16-get-instance-xml-try0.resp.xml",
    "17-get-instance-xml-try1.resp.xml",
    "18-get-instance-xml-try2.resp.xml",
    "20-get-instances-by-id-xml.resp.xml",
    "22-get-app-xml.resp.xml",
    "28-get-apps-xml.resp.xml",
    "30-get-apps-xml-compact.resp.xml",
    "31-get-apps-no-accept.resp.xml",
    "40-get-delta-xml-after-changes.resp.xml",
    "53-war-get-apps-v1-xml.resp.xml",
]

_ALL_XML = (
    sorted(FIXTURES.glob("*.xml"))
    + sorted(JAVA_FIXTURES.glob("*.xml"))
    + [JAVA_HTTP / name for name in _HTTP_PAYLOADS]
)


def _root(data: bytes) -> str:
    match = re.match(rb"\s*(?:<\?xml[^>]*\?>\s*)?<([A-Za-z]+)", data)
    assert match is not None
    return match.group(1).decode()


def _decode(path: Path) -> Any:
    data = path.read_bytes()
    return _DECODERS[_root(data)](data)


def _encode(model: Any, *, compact: bool = False, v1: bool = False) -> bytes:
    if isinstance(model, Applications):
        return xml.encode_applications(model, compact=compact, v1=v1)
    if compact:
        return xml.encode_instance_fragment(model, compact=True)
    if hasattr(model, "instances_by_id"):
        return xml.encode_application(model, v1=v1)
    return xml.encode_instance(model, v1=v1)


_AMAZON_METADATA = re.compile(
    rb'(<dataCenterInfo class="com\.netflix\.appinfo\.AmazonInfo">\s*<name>Amazon</name>\s*'
    rb"<metadata>)(.*?)(\s*</metadata>)",
    re.DOTALL,
)
_ENTRY = re.compile(rb"\s*<([^>/]+)>[^<]*</\1>")


def _sorted_amazon_metadata(document: bytes) -> bytes:
    def sort_entries(match: re.Match[bytes]) -> bytes:
        entries = [entry.group(0) for entry in _ENTRY.finditer(match.group(2))]
        assert b"".join(entries) == match.group(2)
        return match.group(1) + b"".join(sorted(entries)) + match.group(3)

    return _AMAZON_METADATA.sub(sort_entries, document)


@pytest.fixture(scope="module")
def json_codec() -> ModuleType:
    module: ModuleType = pytest.importorskip("eureka.codec.json")
    return module


# --- decoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _ALL_XML, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_xml_payload_fixture_decodes(path: Path) -> None:
    data = path.read_bytes()
    model = _DECODERS[_root(data)](data)
    if isinstance(model, Applications):
        version = re.search(rb"<versions__delta>(-?\d+)</versions__delta>", data)
        assert version is not None
        assert model.version == int(version.group(1))
        assert model.apps_hashcode is not None
        if "empty" not in path.name:
            assert model.instance_count() > 0
    elif hasattr(model, "instances_by_id"):
        assert model.name and len(model) > 0
    else:
        assert model.app and model.host_name and model.data_center_info is not None


# (carried apps__hashcode, hash of the payload's own instances), from fixtures/README.md
_README_HASHES = {
    "registry-full": ("DOWN_1_OUT_OF_SERVICE_1_STARTING_1_UP_3_",) * 2,
    "registry-delta": ("OUT_OF_SERVICE_2_UP_4_", "DOWN_1_OUT_OF_SERVICE_1_UP_2_"),
    "registry-full-after-delta": ("OUT_OF_SERVICE_2_UP_4_",) * 2,
    "registry-empty": ("", ""),
    "registry-empty-programmatic": ("", ""),
    "vip-order-service": ("DOWN_1_UP_1_",) * 2,
}
_HASHED = [
    path
    for stem in _README_HASHES
    for path in (
        FIXTURES / f"{stem}.xml",
        JAVA_FIXTURES / f"{stem}.xstream.xml",
        JAVA_FIXTURES / f"{stem}.jacksonxml.xml",
        JAVA_FIXTURES / f"{stem}.jacksonxmlmini.xml",
    )
    if path.exists()
]


@pytest.mark.parametrize("path", _HASHED, ids=lambda path: path.name)
def test_registry_hashes_are_the_readme_values(path: Path) -> None:
    carried, own = _README_HASHES[path.name.split(".")[0]]
    registry = _decode(path)
    assert registry.apps_hashcode == carried
    assert reconcile_hash(registry.iter_instances()) == own


def test_v1_rendering_keeps_the_hash_of_the_real_statuses() -> None:
    v2 = _decode(JAVA_FIXTURES / "registry-full.xstream.xml")
    v1 = _decode(JAVA_FIXTURES / "registry-full.xstream-v1request.xml")
    assert v1.apps_hashcode == v2.apps_hashcode == reconcile_hash(v2.iter_instances())
    assert reconcile_hash(v1.iter_instances()) != v1.apps_hashcode  # OUT_OF_SERVICE shown as DOWN
    assert InstanceStatus.OUT_OF_SERVICE not in {i.status for i in v1.iter_instances()}


@pytest.mark.parametrize(
    "name",
    [
        "28-get-apps-xml.resp.xml",
        "30-get-apps-xml-compact.resp.xml",
        "31-get-apps-no-accept.resp.xml",
        "53-war-get-apps-v1-xml.resp.xml",
    ],
)
def test_live_full_registry_hash_matches_its_instances(name: str) -> None:
    registry = _decode(JAVA_HTTP / name)
    assert registry.apps_hashcode == reconcile_hash(registry.iter_instances())


def test_malformed_request_and_error_body_are_bad_input() -> None:
    with pytest.raises(BadInput):
        xml.decode_instance((JAVA_HTTP / "45-register-malformed-xml.req.xml").read_bytes())
    error_body = (JAVA_HTTP / "45-register-malformed-xml.resp.xml").read_bytes()
    for decode in _DECODERS.values():
        with pytest.raises(BadInput):
            decode(error_body)


# --- XML and JSON versions of one payload decode to the same model ----------------------------

_SAME_PAYLOAD = (
    [(FIXTURES / p.name, FIXTURES / f"{p.stem}.json") for p in sorted(FIXTURES.glob("*.xml"))]
    + [
        (p, JAVA_FIXTURES / p.name.replace(".xstream.xml", ".legacyjackson.json"))
        for p in sorted(JAVA_FIXTURES.glob("*.xstream.xml"))
        if ".fromxml." not in p.name
    ]
    + [
        (
            JAVA_FIXTURES / "register-instance-netflix-client.fromxml.xstream.xml",
            JAVA_FIXTURES / "register-instance-netflix-client.legacyjackson.json",
        ),
        (
            JAVA_FIXTURES / "registry-full.xstream.xml",
            JAVA_FIXTURES / "registry-full.fromxml.legacyjackson.json",
        ),
    ]
    + [
        (p, JAVA_FIXTURES / p.name.replace(".jacksonxmlmini.xml", ".jacksonjsonmini.json"))
        for p in sorted(JAVA_FIXTURES.glob("*.jacksonxmlmini.xml"))
    ]
    + [
        (p, JAVA_FIXTURES / p.name.replace(".jacksonxml.xml", ".jacksonjson.json"))
        for p in sorted(JAVA_FIXTURES.glob("*.jacksonxml.xml"))
    ]
    + [
        (JAVA_HTTP / "22-get-app-xml.resp.xml", JAVA_HTTP / "21-get-app-json.resp.json"),
        (JAVA_HTTP / "28-get-apps-xml.resp.xml", JAVA_HTTP / "27-get-apps-json.resp.json"),
        (
            JAVA_HTTP / "30-get-apps-xml-compact.resp.xml",
            JAVA_HTTP / "29-get-apps-json-compact.resp.json",
        ),
    ]
)


def _json_decode(json_codec: ModuleType, path: Path, root: str) -> Any:
    return getattr(json_codec, f"decode_{root}")(path.read_bytes())


@pytest.mark.parametrize(
    ("xml_path", "json_path"), _SAME_PAYLOAD, ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_xml_and_json_of_one_payload_decode_to_equal_models(
    json_codec: ModuleType, xml_path: Path, json_path: Path
) -> None:
    data = xml_path.read_bytes()
    root = _root(data)
    assert _DECODERS[root](data) == _json_decode(json_codec, json_path, root)


@pytest.mark.parametrize(
    ("xml_name", "json_name"),
    [
        ("16-get-instance-xml-try0.resp.xml", "15-get-instance-json.resp.json"),
        ("17-get-instance-xml-try1.resp.xml", "15-get-instance-json.resp.json"),
        ("18-get-instance-xml-try2.resp.xml", "15-get-instance-json.resp.json"),
        ("20-get-instances-by-id-xml.resp.xml", "19-get-instances-by-id-json.resp.json"),
    ],
)
def test_single_instance_xml_get_is_the_v1_rendering_of_the_json_one(
    json_codec: ModuleType, xml_name: str, json_name: str
) -> None:
    from_json = json_codec.decode_instance((JAVA_HTTP / json_name).read_bytes())
    assert from_json.status is InstanceStatus.OUT_OF_SERVICE
    expected = msgspec.structs.replace(from_json, status=InstanceStatus.DOWN)
    assert xml.decode_instance((JAVA_HTTP / xml_name).read_bytes()) == expected
    assert xml.encode_instance(from_json, v1=True) == (JAVA_HTTP / xml_name).read_bytes()


def test_delta_xml_and_json_differ_only_in_the_regenerated_version(json_codec: ModuleType) -> None:
    from_json = json_codec.decode_applications(
        (JAVA_HTTP / "39-get-delta-json-after-changes.resp.json").read_bytes()
    )
    xml_bytes = (JAVA_HTTP / "40-get-delta-xml-after-changes.resp.xml").read_bytes()
    from_xml = xml.decode_applications(xml_bytes)
    # versions__delta counts cache regenerations; the XML request regenerated it once more.
    assert from_xml.version == from_json.version + 1
    from_json.version = from_xml.version
    assert from_xml == from_json
    assert xml.encode_applications(from_json) == xml_bytes


# --- encoding ----------------------------------------------------------------------------------

_XSTREAM = sorted(JAVA_FIXTURES.glob("*.xstream.xml"))


@pytest.mark.parametrize("path", _XSTREAM, ids=lambda path: path.name)
def test_xml_decoded_model_encodes_to_the_java_bytes(path: Path) -> None:
    # Decoding Java's XML keeps its AmazonInfo metadata order, so this is exact.
    assert _encode(_decode(path), v1="v1request" in path.name) == path.read_bytes()


@pytest.mark.parametrize("path", _XSTREAM, ids=lambda path: path.name)
def test_json_decoded_model_encodes_to_the_java_xml(json_codec: ModuleType, path: Path) -> None:
    # The objects Java encoded were decoded from these JSON files (fixtures/java/README.md).
    sources = {
        "registry-full.xstream-v1request.xml": "registry-full.legacyjackson.json",
        # decoded by Java from the constructed XML, whose JSON twin holds the same values
        "register-instance-netflix-client.fromxml.xstream.xml": (
            "register-instance-netflix-client.json"
        ),
    }
    source = sources.get(path.name, path.name.replace(".xstream.xml", ".legacyjackson.json"))
    source_path = JAVA_FIXTURES / source if (JAVA_FIXTURES / source).exists() else FIXTURES / source
    expected = path.read_bytes()
    model = _json_decode(json_codec, source_path, _root(expected))
    encoded = _encode(model, v1="v1request" in path.name)
    assert _sorted_amazon_metadata(encoded) == _sorted_amazon_metadata(expected)


def test_constructed_xml_encodes_to_the_java_xml() -> None:
    constructed = _decode(FIXTURES / "register-instance-netflix-client.xml")
    expected = JAVA_FIXTURES / "register-instance-netflix-client.fromxml.xstream.xml"
    assert xml.encode_instance(constructed) == expected.read_bytes()
    for stem in ("registry-full", "registry-delta", "registry-empty"):
        encoded = xml.encode_applications(_decode(FIXTURES / f"{stem}.xml"))
        java = (JAVA_FIXTURES / f"{stem}.xstream.xml").read_bytes()
        assert _sorted_amazon_metadata(encoded) == _sorted_amazon_metadata(java)


def test_v1_rendering_of_the_registry_matches_java() -> None:
    registry = _decode(JAVA_FIXTURES / "registry-full.xstream.xml")
    expected = (JAVA_FIXTURES / "registry-full.xstream-v1request.xml").read_bytes()
    assert xml.encode_applications(registry, v1=True) == expected


_MINI = sorted(JAVA_FIXTURES.glob("*.jacksonxmlmini.xml"))


def _compact_document(model: Any) -> bytes:
    if isinstance(model, Applications):
        return xml.encode_applications(model, compact=True)
    if hasattr(model, "instances_by_id"):  # no compact application encoder: join fragments
        fragments = b"".join(xml.encode_instance_fragment(i, compact=True) for i in model)
        name: bytes = model.name.encode()
        return b"<application><name>" + name + b"</name>" + fragments + b"</application>"
    return xml.encode_instance_fragment(model, compact=True)


@pytest.mark.parametrize("path", _MINI, ids=lambda path: path.name)
def test_compact_encoding_of_the_full_model_matches_java(path: Path) -> None:
    full = _decode(JAVA_FIXTURES / path.name.replace(".jacksonxmlmini.xml", ".xstream.xml"))
    assert _compact_document(full) == path.read_bytes()


@pytest.mark.parametrize("path", _MINI, ids=lambda path: path.name)
def test_compact_encoding_from_json_matches_java(json_codec: ModuleType, path: Path) -> None:
    expected = path.read_bytes()
    source = JAVA_FIXTURES / path.name.replace(".jacksonxmlmini.xml", ".legacyjackson.json")
    model = _json_decode(json_codec, source, _root(expected))
    assert _sorted_amazon_metadata(_compact_document(model)) == _sorted_amazon_metadata(expected)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("02-register-xml-netflix-client.req.xml", {}),
        ("16-get-instance-xml-try0.resp.xml", {"v1": True}),
        ("20-get-instances-by-id-xml.resp.xml", {"v1": True}),
        ("22-get-app-xml.resp.xml", {}),
        ("28-get-apps-xml.resp.xml", {}),
        ("30-get-apps-xml-compact.resp.xml", {"compact": True}),
        ("40-get-delta-xml-after-changes.resp.xml", {}),
        ("53-war-get-apps-v1-xml.resp.xml", {"v1": True}),
    ],
)
def test_live_server_responses_re_encode_exactly(name: str, options: dict[str, bool]) -> None:
    data = (JAVA_HTTP / name).read_bytes()
    if name.startswith("02-"):
        data = data.rstrip(b"\n")  # the recorded request body ends with a newline Java never writes
    assert _encode(_decode(JAVA_HTTP / name), **options) == data


def test_live_full_xml_and_its_compact_twin_come_from_one_model() -> None:
    full = _decode(JAVA_HTTP / "28-get-apps-xml.resp.xml")
    compact = (JAVA_HTTP / "30-get-apps-xml-compact.resp.xml").read_bytes()
    assert xml.encode_applications(full, compact=True) == compact


# --- fragments and joins reproduce Java's documents --------------------------------------------


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize(
    "stem", ["registry-full", "registry-delta", "registry-empty", "vip-order-service"]
)
def test_joined_fragments_reproduce_the_java_registry(stem: str, compact: bool) -> None:
    registry = _decode(JAVA_FIXTURES / f"{stem}.xstream.xml")
    pieces = [
        (application.name, [xml.encode_instance_fragment(i, compact=compact) for i in application])
        for application in registry.applications
    ]
    assert registry.apps_hashcode is not None
    joined = xml.join_applications(
        registry.version, registry.apps_hashcode, pieces, compact=compact
    )
    suffix = "jacksonxmlmini" if compact else "xstream"
    assert joined == (JAVA_FIXTURES / f"{stem}.{suffix}.xml").read_bytes()


def test_joined_fragments_reproduce_the_java_application() -> None:
    expected = (JAVA_FIXTURES / "application-inventory-service.xstream.xml").read_bytes()
    application = xml.decode_application(expected)
    fragments = [xml.encode_instance_fragment(i, depth=1) for i in application]
    assert xml.join_application(application.name, fragments) == expected

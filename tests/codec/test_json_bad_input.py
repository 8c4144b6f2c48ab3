"""Bad input: every decoder raises BadInput with a short reason, and nothing else escapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from eureka.codec import json as codec
from eureka.errors import BadInput
from tests.conftest import FIXTURES, JAVA_HTTP

DECODERS: list[Callable[..., object]] = [
    codec.decode_instance,
    codec.decode_application,
    codec.decode_applications,
]
GOOD_INSTANCE: dict[str, Any] = {"app": "A", "hostName": "h", "ipAddr": "10.0.0.1"}


def instance(**fields: Any) -> bytes:
    return json.dumps({"instance": {**GOOD_INSTANCE, **fields}}).encode()


def rejects(decoder: Callable[..., object], data: object, **kwargs: Any) -> str:
    with pytest.raises(BadInput) as caught:
        decoder(data, **kwargs)
    reason = caught.value.reason
    assert isinstance(reason, str) and 0 < len(reason) <= 160
    return reason


def test_the_good_instance_is_good() -> None:
    assert codec.decode_instance(instance()).app == "A"


# ---------------------------------------------------------------------------------------------
# syntax, encoding, size


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"{", b"nul", b'{"instance":{"app":"A"', b'{"a":1} trailing', b"\x00\x01"],
)
def test_malformed_json(decoder: Callable[..., object], data: bytes) -> None:
    rejects(decoder, data)


def test_the_real_malformed_registration_body() -> None:
    data = (JAVA_HTTP / "44-register-malformed-json.req.json").read_bytes()
    assert "malformed" in rejects(codec.decode_instance, data)


def test_every_truncation_of_a_registry_is_rejected() -> None:
    data = (FIXTURES / "registry-full.json").read_bytes().strip()
    for end in range(0, len(data), 37):
        rejects(codec.decode_applications, data[:end])


@pytest.mark.parametrize(
    "data",
    [b'{"instance":{"app":"\xff"}}', b'{"instance":{"app":"a\xc3"}}', b'{"\xfe":1}'],
)
def test_invalid_utf8(data: bytes) -> None:
    rejects(codec.decode_instance, data)


def test_lone_surrogate_escape() -> None:
    rejects(codec.decode_instance, b'{"instance":{"app":"\\ud800"}}')
    rejects(codec.decode_instance, '{"instance":{"app":"\ud800"}}')


def test_max_bytes() -> None:
    data = instance()
    assert codec.decode_instance(data, max_bytes=len(data)).app == "A"
    assert "larger" in rejects(codec.decode_instance, data, max_bytes=len(data) - 1)
    rejects(codec.decode_applications, b" " * 100 + b'{"applications":{}}', max_bytes=50)


def test_default_limit_is_generous_and_applied() -> None:
    assert codec.DEFAULT_MAX_BYTES >= 100 * 1024 * 1024

    class Huge(bytes):
        def __len__(self) -> int:
            return codec.DEFAULT_MAX_BYTES + 1

    rejects(codec.decode_applications, Huge(b'{"applications":{}}'))


@pytest.mark.parametrize("data", [None, 42, ["{}"], {"instance": GOOD_INSTANCE}])
def test_non_text_input(data: object) -> None:
    rejects(codec.decode_instance, data)


def test_byte_buffers_are_read_like_bytes() -> None:
    # Outside the declared `bytes | str` on purpose: tolerated, not advertised.
    assert codec.decode_instance(bytearray(instance())).app == "A"  # type: ignore[arg-type]
    assert codec.decode_instance(memoryview(instance())).app == "A"  # type: ignore[arg-type]
    rejects(codec.decode_instance, bytearray(b"{"))


# ---------------------------------------------------------------------------------------------
# wrong roots and wrong types


@pytest.mark.parametrize(
    ("decoder", "document"),
    [
        (codec.decode_instance, GOOD_INSTANCE),  # no wrapper
        (codec.decode_instance, {"application": {"name": "A"}}),
        (codec.decode_application, {"name": "A", "instance": []}),
        (codec.decode_applications, {"application": []}),
        (codec.decode_applications, {"instance": GOOD_INSTANCE}),
        (codec.decode_instance, []),
        (codec.decode_instance, "instance"),
        (codec.decode_instance, None),
    ],
)
def test_missing_or_wrong_root_wrapper(decoder: Callable[..., object], document: Any) -> None:
    rejects(decoder, json.dumps(document))


@pytest.mark.parametrize(
    "document",
    [
        {"instance": None},
        {"instance": [GOOD_INSTANCE]},
        {"instance": 5},
        {"instance": "text"},
        {"application": 5},
        {"application": {"name": "A", "instance": 5}},
        {"application": {"name": "A", "instance": [5]}},
        {"application": {"name": 5, "instance": []}},
        {"applications": 5},
        {"applications": {"application": 5}},
        {"applications": {"application": [[]]}},
        {"applications": {"versions__delta": "one"}},
        {"applications": {"versions__delta": True}},
        {"applications": {"apps__hashcode": 5}},
    ],
)
def test_wrong_structure(document: dict[str, Any]) -> None:
    root = next(iter(document))
    decoder = {
        "instance": codec.decode_instance,
        "application": codec.decode_application,
        "applications": codec.decode_applications,
    }[root]
    rejects(decoder, json.dumps(document))


@pytest.mark.parametrize(
    "fields",
    [
        {"port": {"$": "abc", "@enabled": "true"}},
        {"port": "abc"},
        {"port": [8080]},
        {"port": {"$": 8080.5}},
        {"port": {"$": 8080, "@enabled": "maybe"}},
        {"port": {"$": 2**31}},
        {"securePort": {"$": -(2**31) - 1}},
        {"countryId": {}},
        {"lastUpdatedTimestamp": 2**63},
        {"lastDirtyTimestamp": "1754500000000x"},
        {"lastDirtyTimestamp": "1e400"},
        {"isCoordinatingDiscoveryServer": "perhaps"},
        {"hostName": 5},
        {"app": None},
        {"app": ["A"]},
        {"status": 1},
        {"metadata": ["a"]},
        {"metadata": {"a": {"b": "c"}}},
        {"metadata": {"a": [1]}},
        {"dataCenterInfo": "Amazon"},
        {"dataCenterInfo": {"name": 1}},
        {"dataCenterInfo": {"name": "Amazon", "metadata": {"x": {}}}},
        {"leaseInfo": []},
        {"leaseInfo": {"durationInSecs": "ninety"}},
        {"leaseInfo": {"evictionTimestamp": 1.5}},
    ],
)
def test_wrong_field_types(fields: dict[str, Any]) -> None:
    rejects(codec.decode_instance, instance(**fields))
    rejects(codec.instance_from_obj, {**GOOD_INSTANCE, **fields})


def test_instance_without_app_is_rejected() -> None:
    """InstanceInfo.Builder.build() throws "name is required!" in Java."""
    body = {k: v for k, v in GOOD_INSTANCE.items() if k != "app"}
    assert "app" in rejects(codec.decode_instance, json.dumps({"instance": body}))


def test_application_without_name_is_rejected() -> None:
    rejects(codec.decode_application, b'{"application":{"instance":[]}}')
    rejects(codec.decode_applications, b'{"applications":{"application":[{"instance":[]}]}}')


def test_nan_and_infinity_are_not_json() -> None:
    rejects(codec.decode_instance, b'{"instance":{"app":"A","countryId":NaN}}')
    rejects(codec.decode_instance, b'{"instance":{"app":"A","countryId":Infinity}}')


@pytest.mark.parametrize("obj", [None, 5, "x", [GOOD_INSTANCE], {1: 2}, {"app": object()}])
def test_instance_from_obj_rejects_junk(obj: object) -> None:
    rejects(codec.instance_from_obj, obj)


# ---------------------------------------------------------------------------------------------
# nesting


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deeply_nested_junk(depth: int) -> None:
    junk = b"[" * depth + b"]" * depth
    rejects(codec.decode_instance, b'{"instance":{"app":"A","x":' + junk + b"}}")
    rejects(codec.decode_applications, b'{"applications":' + junk + b"}")
    rejects(codec.decode_instance, b"[" * depth)
    nested: Any = []
    for _ in range(depth // 10):
        nested = [nested]
    rejects(codec.instance_from_obj, {"app": "A", "metadata": {"k": nested}})


def test_moderately_nested_unknown_keys_are_ignored() -> None:
    junk = b'{"a":' * 50 + b"1" + b"}" * 50
    assert codec.decode_instance(b'{"instance":{"app":"A","x":' + junk + b"}}").app == "A"


def test_bad_input_changes_nothing_in_a_shared_object() -> None:
    obj = {**GOOD_INSTANCE, "port": "abc", "overriddenStatus": "UP", "overriddenstatus": "DOWN"}
    before = json.dumps(obj)
    rejects(codec.instance_from_obj, obj)
    assert json.dumps(obj) == before

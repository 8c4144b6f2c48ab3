"""The codec's one bounded "bytes → JSON document" helper (smell 5 of style.md)."""

from __future__ import annotations

import pytest

from eureka.codec import json as json_codec
from eureka.errors import BadInput
from eureka.replication.protocol import decode_batch, decode_batch_response


def _nested_list(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _nested_object(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def test_a_document_within_the_depth_bound_decodes() -> None:
    doc = json_codec.decode_document(_nested_list(json_codec.MAX_DEPTH))
    for _ in range(json_codec.MAX_DEPTH - 1):
        doc = doc[0]
    assert doc == []


@pytest.mark.parametrize("depth", [json_codec.MAX_DEPTH + 1, 1_000, 100_000])
def test_deeper_documents_are_bad_input_never_recursion_errors(depth: int) -> None:
    for data in (_nested_list(depth), _nested_object(depth)):
        with pytest.raises(BadInput, match="nested"):
            json_codec.decode_document(data)


def test_malformed_oversized_and_non_utf8_documents_are_bad_input() -> None:
    with pytest.raises(BadInput, match="malformed"):
        json_codec.decode_document(b'{"a": ')
    with pytest.raises(BadInput, match="larger than 10"):
        json_codec.decode_document(b'{"a": "0123456789"}', max_bytes=10)
    with pytest.raises(BadInput):
        json_codec.decode_document(b'{"a": "\xff\xfe"}')
    assert json_codec.decode_document(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_replication_batch_nested_deeply_in_the_list_is_bad_input(depth: int) -> None:
    with pytest.raises(BadInput, match="nested"):
        decode_batch(b'{"replicationList":' + _nested_list(depth) + b"}")


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_replication_batch_nested_deeply_inside_an_item_field_is_bad_input(depth: int) -> None:
    item = (
        b'{"replicationList":[{"appName":"A","id":"i","action":"Register",'
        b'"instanceInfo":{"hostName":"h","metadata":' + _nested_object(depth) + b"}}]}"
    )
    with pytest.raises(BadInput, match="nested"):
        decode_batch(item)
    with pytest.raises(BadInput, match="nested"):
        decode_batch_response(
            b'{"responseList":[{"statusCode":200,"x":' + _nested_list(depth) + b"}]}"
        )

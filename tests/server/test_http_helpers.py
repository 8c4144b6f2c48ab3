from __future__ import annotations

import gzip
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eureka.errors import BadInput
from eureka.server.http import Request, decompress_body, parse_query


def _request(**headers: str) -> Request:
    return Request(
        "GET", "/eureka/apps", "", {k.lower().replace("_", "-"): v for k, v in headers.items()}
    )


def test_negotiation_follows_eureka_substring_rules() -> None:
    assert _request(accept="application/json").wants_json
    assert not _request(accept="*/*").wants_json
    assert not _request().wants_json
    assert _request(accept_encoding="gzip;q=0").accepts_gzip  # a substring test, like Java
    assert _request(x_eureka_accept="COMPACT").compact
    assert not _request(x_eureka_accept="weird").compact
    assert _request(x_netflix_discovery_replication="true").is_replication
    assert not _request(x_netflix_discovery_replication="True").is_replication


def test_entity_negotiation_prefers_xml_unless_json_is_asked_first() -> None:
    assert _request(accept="application/json").entity_wants_json
    assert not _request(accept="application/xml, application/json").entity_wants_json
    assert not _request().entity_wants_json


def test_gzip_request_bodies_are_inflated_within_the_limit() -> None:
    body = b'{"instance":{}}'
    assert decompress_body(gzip.compress(body), "gzip", 1000) == body
    assert decompress_body(body, "", 1000) == body
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(BadInput, match="too large"):
        decompress_body(bomb, "gzip", 1_000_000)
    with pytest.raises(BadInput, match="not valid gzip"):
        decompress_body(b"plain", "gzip", 1000)
    with pytest.raises(BadInput, match="unsupported"):
        decompress_body(body, "br", 1000)


def test_query_first_value_wins() -> None:
    assert parse_query("value=UP&value=DOWN&x=") == {"value": "UP", "x": ""}


@given(st.text(alphabet="ab=&%+2F;é ", max_size=40))
def test_the_query_is_parsed_as_parse_qsl_parses_it(query: str) -> None:
    """With nothing to decode the parser splits on its own: it must agree with parse_qsl (the
    rule JAX-RS's @QueryParam follows here: first value wins, blank values kept)."""
    reference: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        reference.setdefault(key, value)
    assert parse_query(query) == reference


@pytest.mark.parametrize("separator_count", [254, 255, 256])
def test_too_many_query_fields_are_refused_with_or_without_escapes(separator_count: int) -> None:
    for field in ("a=1", "a=%31"):
        query = "&".join([field] * (separator_count + 1))
        if separator_count + 1 > 256:
            with pytest.raises(BadInput):
                parse_query(query)
        else:
            assert parse_query(query) == {"a": "1"}

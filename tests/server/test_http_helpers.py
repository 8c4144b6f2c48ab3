from __future__ import annotations

import gzip

import pytest

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

"""A document in pieces: head + application runs + tail is byte for byte the joined document.

The response cache keeps the full registry as compressed runs of instances (`chunked_document`), so
`applications_envelope` and `application_run` must reproduce `join_applications` exactly, however
an application's instances are cut into runs.
"""

from __future__ import annotations

import itertools
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.model import Applications
from tests.strategies import applications_payloads

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (codec, encode_applications options, fragment options, join option compact)
VARIANTS = [
    (json_codec, {}, {}, False),
    (json_codec, {"compact": True}, {"compact": True}, True),
    (xml_codec, {}, {"depth": 2}, False),
    (xml_codec, {"v1": True}, {"depth": 2, "v1": True}, False),
    (xml_codec, {"compact": True}, {"compact": True}, True),
]


def _in_pieces(
    codec: ModuleType,
    registry: Applications,
    fragment_options: dict[str, object],
    compact: bool,
    cuts: list[int],
) -> bytes:
    assert registry.apps_hashcode is not None
    head, tail = codec.applications_envelope(
        registry.version,
        registry.apps_hashcode,
        empty=not registry.applications_by_name,
        compact=compact,
    )
    parts = [head]
    for index, application in enumerate(registry.applications):
        fragments = [codec.encode_instance_fragment(i, **fragment_options) for i in application]
        # Cut the instance list at the drawn positions (each run non-empty, or one empty run).
        bounds = sorted({0, len(fragments), *(c % (len(fragments) + 1) for c in cuts)})
        runs = list(itertools.pairwise(bounds)) or [(0, 0)]
        for start, stop in runs:
            parts.append(
                codec.application_run(
                    application.name,
                    fragments[start:stop],
                    first=index == 0,
                    opens=start == 0,
                    closes=stop == len(fragments),
                    compact=compact,
                )
            )
    parts.append(tail)
    return b"".join(parts)


@FAST
@pytest.mark.parametrize("variant", VARIANTS)
@given(registry=applications_payloads(), cuts=st.lists(st.integers(0, 8), max_size=4))
def test_envelope_and_runs_make_the_joined_document(
    variant: tuple[Any, ...], registry: Applications, cuts: list[int]
) -> None:
    codec, options, fragment_options, compact = variant
    pieces = _in_pieces(codec, registry, fragment_options, compact, cuts)
    assert pieces == codec.encode_applications(registry, **options)


@pytest.mark.parametrize(("codec", "options", "fragment_options", "compact"), VARIANTS)
def test_an_empty_registry_in_pieces(
    codec: ModuleType,
    options: dict[str, bool],
    fragment_options: dict[str, object],
    compact: bool,
) -> None:
    empty = Applications(version=1, apps_hashcode="")
    assert _in_pieces(codec, empty, fragment_options, compact, []) == codec.encode_applications(
        empty, **options
    )

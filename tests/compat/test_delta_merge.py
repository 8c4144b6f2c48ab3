"""Merging the scenario's delta into its full registry gives the registry after the delta (§10.3).

The fixtures describe one cluster at T0 (`registry-full`), the delta generated at T0+45 s
(`registry-delta`) and the registry at T0+50 s (`registry-full-after-delta`). The java/ versions
were written by the real Netflix codecs, so decoding them exercises the shapes a client really
receives; the expected result is always read from the after-delta fixture, never written here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from eureka.client.merge import apply_delta, merge_delta
from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.model import ActionType, Applications, InstanceStatus
from eureka.reconcile import reconcile_hash
from tests.conftest import FIXTURES, JAVA_FIXTURES

Decoder = Callable[[bytes], Applications]


def _decode(path: Path) -> Applications:
    decoder: Decoder = (
        xml_codec.decode_applications if path.suffix == ".xml" else json_codec.decode_applications
    )
    return decoder(path.read_bytes())


def _java(stem: str, codec: str) -> Path:
    return JAVA_FIXTURES / f"{stem}.{codec}"


# (full registry, delta, registry after the delta) — each decoded with the codec its format needs.
SCENARIOS = {
    "constructed-json": (
        FIXTURES / "registry-full.json",
        FIXTURES / "registry-delta.json",
        FIXTURES / "registry-full-after-delta.json",
    ),
    "constructed-xml": (
        FIXTURES / "registry-full.xml",
        FIXTURES / "registry-delta.xml",
        FIXTURES / "registry-full-after-delta.json",  # no XML version of this one exists
    ),
    **{
        f"java-{codec}": (
            _java("registry-full", codec),
            _java("registry-delta", codec),
            _java("registry-full-after-delta", codec),
        )
        for codec in (
            "legacyjackson.json",  # the server's JSON (dialect A)
            "xstream.xml",  # the server's XML
            "jacksonjson.json",  # dialect B
            "jacksonjsonmini.json",  # X-Eureka-Accept: compact
            "xstreamjson.json",  # legacy Jettison shapes
            "jacksonxml.xml",
        )
    },
}


def _ids_and_statuses(registry: Applications) -> dict[tuple[str, str], InstanceStatus]:
    return {
        (name, key): instance.status
        for name, app in registry.applications_by_name.items()
        for key, instance in app.instances_by_id.items()
    }


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_delta_applied_to_full_registry_gives_registry_after_delta(scenario: str) -> None:
    full_path, delta_path, after_path = SCENARIOS[scenario]
    registry = _decode(full_path)
    delta = _decode(delta_path)
    expected = _decode(after_path)

    apply_delta(registry, delta)

    assert _ids_and_statuses(registry) == _ids_and_statuses(expected)
    assert set(registry.applications_by_name) == set(expected.applications_by_name)
    assert reconcile_hash(registry.iter_instances()) == delta.apps_hashcode
    assert delta.apps_hashcode == "OUT_OF_SERVICE_2_UP_4_"
    assert registry.version == delta.version == 17


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_merged_instances_carry_the_delta_data(scenario: str) -> None:
    full_path, delta_path, _ = SCENARIOS[scenario]
    registry = _decode(full_path)
    delta = _decode(delta_path)
    apply_delta(registry, delta)
    for app in delta.applications_by_name.values():
        for key, entry in app.instances_by_id.items():
            held = registry.applications_by_name.get(app.name)
            if entry.action_type is ActionType.DELETED:
                assert held is None or key not in held.instances_by_id
            else:
                assert held is not None
                assert held.instances_by_id[key].last_updated_timestamp == (
                    entry.last_updated_timestamp
                )


def test_delta_for_an_unknown_application_imports_no_ghosts() -> None:
    """§12 item 18: Java adopts the delta's Application object for the first ADDED entry of an
    unknown app, importing its DELETED sibling too. The fix inserts only the current instance."""
    registry = _decode(FIXTURES / "registry-full.json")
    delta = _decode(FIXTURES / "registry-delta.json")
    order_in_delta = delta.applications_by_name["ORDER-SERVICE"]
    deleted = [
        k for k, i in order_in_delta.instances_by_id.items() if i.action_type is ActionType.DELETED
    ]
    assert deleted, "the fixture's delta deletes an ORDER-SERVICE instance"
    del registry.applications_by_name["ORDER-SERVICE"]  # the client never knew the app

    changes = merge_delta(registry, delta)

    held = registry.applications_by_name["ORDER-SERVICE"]
    assert held is not order_in_delta
    entries = order_in_delta.instances_by_id.items()
    expected = {k for k, i in entries if i.action_type is not ActionType.DELETED}
    assert set(held.instances_by_id) == expected
    assert not set(deleted) & set(held.instances_by_id)
    # Nothing was removed, so no DELETED change is reported for the unknown instance.
    assert all(c.new is not None for c in changes if c.app_name == "ORDER-SERVICE")
    # The delta itself is left as decoded.
    assert set(order_in_delta.instances_by_id) == set(deleted) | expected


def test_deleting_the_last_instance_drops_the_application() -> None:
    registry = _decode(FIXTURES / "registry-full.json")
    delta = _decode(FIXTURES / "registry-delta.json")
    # Keep only the DELETED entry of ORDER-SERVICE and make it the app's last instance.
    order = delta.applications_by_name["ORDER-SERVICE"]
    doomed = next(i for i in order.instances_by_id.values() if i.action_type is ActionType.DELETED)
    registry.applications_by_name["ORDER-SERVICE"].instances_by_id = {
        doomed.id: registry.applications_by_name["ORDER-SERVICE"].instances_by_id[doomed.id]
    }
    only_delete = Applications(version=18)
    only_delete.applications_by_name["ORDER-SERVICE"] = type(order)("ORDER-SERVICE")
    only_delete.applications_by_name["ORDER-SERVICE"].add_instance(doomed)

    apply_delta(registry, only_delete)

    assert "ORDER-SERVICE" not in registry.applications_by_name
    assert registry.version == 18


def test_unknown_action_type_is_ignored() -> None:
    registry = _decode(FIXTURES / "registry-full.json")
    before = _ids_and_statuses(registry)
    delta = _decode(FIXTURES / "registry-delta.json")
    for app in delta.applications_by_name.values():
        for instance in app.instances_by_id.values():
            instance.action_type = None  # what the decoder makes of an unknown actionType

    changes = merge_delta(registry, delta)

    assert changes == []
    assert _ids_and_statuses(registry) == before


def test_added_and_modified_are_handled_identically() -> None:
    registry_a = _decode(FIXTURES / "registry-full.json")
    registry_b = _decode(FIXTURES / "registry-full.json")
    delta_a = _decode(FIXTURES / "registry-delta.json")
    delta_b = _decode(FIXTURES / "registry-delta.json")
    for app in delta_b.applications_by_name.values():
        for instance in app.instances_by_id.values():
            if instance.action_type is ActionType.ADDED:
                instance.action_type = ActionType.MODIFIED
            elif instance.action_type is ActionType.MODIFIED:
                instance.action_type = ActionType.ADDED

    apply_delta(registry_a, delta_a)
    apply_delta(registry_b, delta_b)

    assert _ids_and_statuses(registry_a) == _ids_and_statuses(registry_b)

"""Replay the exchanges recorded against a real Eureka server (fixtures java/http) on our core.

The real server's answers — renew status codes, the full registry, both deltas, the 409 body,
the override dump — are compared with ours field by field. Only server-clock values differ (the
capture machine's clock): they are compared by their relations (equal to / after one another),
never by value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import msgspec
import pytest

from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.model import Applications, InstanceInfo, InstanceStatus, LeaseInfo
from eureka.registry import (
    CacheKey,
    EntityType,
    Format,
    Registry,
    RegistryConfig,
    RenewOutcome,
    ResponseCache,
)
from tests.conftest import JAVA_HTTP

SCENARIO_APPS = ("ORDER-SERVICE", "INVENTORY-SERVICE", "PAYMENT-SERVICE")
ID13 = "10.0.1.13:order-service:8080"
ID14 = "10.0.1.14:order-service:8080"


def _fixture(name: str) -> bytes:
    return (JAVA_HTTP / name).read_bytes()


def _scenario(apps: Applications) -> dict[str, list[InstanceInfo]]:
    """Applications of the scenario only (the capture server also held older runs' entries)."""
    return {
        name: app.instances
        for name, app in apps.applications_by_name.items()
        if name in SCENARIO_APPS
    }


def _without_server_times(info: InstanceInfo) -> InstanceInfo:
    lease = info.lease_info
    assert lease is not None
    return msgspec.structs.replace(
        info,
        last_updated_timestamp=0,
        lease_info=LeaseInfo(lease.renewal_interval_in_secs, lease.duration_in_secs),
        # Amazon metadata is a hash map in Java: compare it as a map (done by ==), not in order.
    )


def _comparable(apps: Applications) -> dict[str, list[tuple[str, InstanceInfo]]]:
    return {
        name: [(i.id, _without_server_times(i)) for i in instances]
        for name, instances in _scenario(apps).items()
    }


class Replay:
    """Rows 1–39 of java/http/README.md, one clock millisecond apart."""

    def __init__(self, **config: object) -> None:
        self.clock = ManualClock(1_795_320_582_000)
        self.config = RegistryConfig(**config)  # type: ignore[arg-type]
        self.registry = Registry(self.config, self.clock)
        self.cache = ResponseCache(self.registry, self.config, self.clock)
        self.times: dict[str, int] = {}

    def tick(self, label: str) -> None:
        self.clock.advance_ms(3)
        self.times[label] = self.clock.now_ms()

    def register(self, label: str, path_app: str, body: str) -> None:
        self.tick(label)
        codec = xml_codec if body.endswith(".xml") else json_codec
        info = codec.decode_instance(_fixture(body))
        self.registry.validate_registration(path_app, info)
        self.registry.register(info)

    def run_until_first_delta(self) -> Iterator[tuple[str, object]]:
        r = self.registry
        self.register("row1", "ORDER-SERVICE", "01-register-json-springcloud-jersey.req.json")
        self.register("row2", "INVENTORY-SERVICE", "02-register-xml-netflix-client.req.xml")
        self.register("row3", "PAYMENT-SERVICE", "03-register-json-amazon.req.json")
        self.register("row4", "ORDER-SERVICE", "04-register-json-dialectB-restclient.req.json")
        self.register("row5", "ORDER-SERVICE", "05-register-json-no-accept-header.req.json")
        renewals = [
            ("row6", ID13, 1754500005000, False),
            ("row7", ID13, 1754500005000, False),
            ("row8", ID13, 1754500009999, False),
            ("row9", ID13, 1754400000000, False),
            ("row10", ID13, 1754400000000, True),
            ("row11", "no-such-id", 1754500005000, False),
        ]
        for label, iid, dirty, replication in renewals:
            self.tick(label)
            yield (
                label,
                r.renew(
                    "ORDER-SERVICE", iid, is_replication=replication, last_dirty_timestamp=dirty
                ),
            )
        self.tick("row12")
        yield "row12", r.renew("NO-SUCH-APP", "no-such-id")
        self.tick("row13")
        yield "row13", r.status_update("ORDER-SERVICE", ID13, InstanceStatus.OUT_OF_SERVICE, None)
        self.tick("row14")
        yield (
            "row14",
            r.status_update("ORDER-SERVICE", "no-such-id", InstanceStatus.OUT_OF_SERVICE, None),
        )

    def run_rest(self) -> Iterator[tuple[str, object]]:
        r = self.registry
        self.tick("row34")
        yield "row34", r.delete_status_override("ORDER-SERVICE", ID13, InstanceStatus.UP)
        self.tick("row35")
        yield "row35", r.delete_status_override("ORDER-SERVICE", "no-such-id")
        self.tick("row36")
        yield "row36", r.update_metadata("ORDER-SERVICE", ID13, {"zone": "z1"})
        self.tick("row37")
        yield "row37", r.cancel("ORDER-SERVICE", ID14)
        self.tick("row38")
        yield "row38", r.cancel("ORDER-SERVICE", ID14)

    def get_json(self, entity: EntityType) -> Applications:
        payload = self.cache.get(CacheKey(entity))
        assert payload is not None
        return json_codec.decode_applications(payload.body)


def test_write_answers_match_the_real_server() -> None:
    replay = Replay()
    answers = dict(replay.run_until_first_delta())
    answers.update(replay.run_rest())
    ok, not_found, conflict = RenewOutcome.OK, RenewOutcome.NOT_FOUND, RenewOutcome.CONFLICT
    renew_codes = {label: answers[label].outcome for label in (f"row{n}" for n in range(6, 13))}  # type: ignore[attr-defined]
    assert renew_codes == {
        "row6": ok,
        "row7": ok,
        "row8": not_found,
        "row9": ok,
        "row10": conflict,
        "row11": not_found,
        "row12": not_found,
    }
    assert [answers[f"row{n}"] for n in (13, 14, 34, 35, 36, 37, 38)] == [
        True,
        False,
        True,
        False,
        True,
        True,
        False,
    ]
    # Row 50: the override dump after everything.
    assert replay.registry.overrides() == json.loads(
        _fixture("50-serverinfo-statusoverrides.resp.json")
    )


def test_conflict_body_matches_the_real_server() -> None:
    replay = Replay()
    answers = dict(replay.run_until_first_delta())
    conflict = answers["row10"].instance  # type: ignore[attr-defined]
    assert conflict is not None
    ours = json_codec.decode_instance(json_codec.encode_instance(conflict))
    theirs = json_codec.decode_instance(_fixture("10-renew-older-lastDirty-replication.resp.json"))
    assert _without_server_times(ours) == _without_server_times(theirs)


def test_full_registry_and_first_delta_match_the_real_server() -> None:
    replay = Replay()
    list(replay.run_until_first_delta())
    full = replay.get_json(EntityType.ALL_APPS)
    java_full = json_codec.decode_applications(_fixture("27-get-apps-json.resp.json"))
    assert full.apps_hashcode == java_full.apps_hashcode
    assert full.version == java_full.version == 1
    ours, theirs = _comparable(full), _comparable(java_full)
    assert {k: sorted(v, key=str) for k, v in ours.items()} == {
        k: sorted(v, key=str) for k, v in theirs.items()
    }

    delta = replay.get_json(EntityType.ALL_APPS_DELTA)
    java_delta = json_codec.decode_applications(_fixture("33-get-delta-json.resp.json"))
    assert delta.apps_hashcode == java_delta.apps_hashcode
    # Applications in order of first change, instances deduplicated with the latest moved last.
    assert _comparable(delta) == _comparable(java_delta)


def test_second_delta_matches_the_real_server() -> None:
    replay = Replay()
    list(replay.run_until_first_delta())
    list(replay.run_rest())
    delta = replay.get_json(EntityType.ALL_APPS_DELTA)
    java_delta = json_codec.decode_applications(
        _fixture("39-get-delta-json-after-changes.resp.json")
    )
    assert delta.apps_hashcode == java_delta.apps_hashcode
    assert _comparable(delta) == _comparable(java_delta)
    xml_payload = replay.cache.get(CacheKey(EntityType.ALL_APPS_DELTA, fmt=Format.XML))
    assert xml_payload is not None
    java_xml = xml_codec.decode_applications(_fixture("40-get-delta-xml-after-changes.resp.xml"))
    assert _comparable(xml_codec.decode_applications(xml_payload.body)) == _comparable(java_xml)


def _lease_relations(apps: Applications) -> dict[str, tuple[bool, ...]]:
    """Server-clock relations that hold whatever the clock reads."""
    relations: dict[str, tuple[bool, ...]] = {}
    for instances in _scenario(apps).values():
        for i in instances:
            lease = i.lease_info
            assert lease is not None
            relations[i.id] = (
                lease.service_up_timestamp == lease.registration_timestamp,
                0 < lease.service_up_timestamp < lease.registration_timestamp,
                lease.eviction_timestamp == i.last_updated_timestamp,
                lease.registration_timestamp == i.last_updated_timestamp,
                lease.last_renewal_timestamp == lease.registration_timestamp,
            )
    return relations


@pytest.mark.parametrize(
    ("rows", "fixture"),
    [
        ("first", "33-get-delta-json.resp.json"),
        ("all", "39-get-delta-json-after-changes.resp.json"),
    ],
)
def test_lease_timestamp_relations_match_the_real_server(rows: str, fixture: str) -> None:
    replay = Replay(lease_expiry_double_count=True)
    list(replay.run_until_first_delta())
    if rows == "all":
        list(replay.run_rest())
    ours = _lease_relations(replay.get_json(EntityType.ALL_APPS_DELTA))
    theirs = _lease_relations(json_codec.decode_applications(_fixture(fixture)))
    assert ours == theirs


def test_double_count_quirk_reports_renewal_plus_duration_like_java() -> None:
    java = json_codec.decode_applications(_fixture("27-get-apps-json.resp.json"))
    java_13 = next(i for i in java.iter_instances() if i.id == ID13)
    assert java_13.lease_info is not None
    # The status update (row 13) renewed the lease and set lastUpdatedTimestamp at one instant.
    java_gap = java_13.lease_info.last_renewal_timestamp - java_13.last_updated_timestamp
    for double_count, expected_gap in ((True, java_gap), (False, 0)):
        replay = Replay(lease_expiry_double_count=double_count)
        list(replay.run_until_first_delta())
        ours = next(
            i for i in replay.get_json(EntityType.ALL_APPS).iter_instances() if i.id == ID13
        )
        assert ours.lease_info is not None
        assert ours.lease_info.last_renewal_timestamp - ours.last_updated_timestamp == expected_gap
    assert java_gap == 90_000

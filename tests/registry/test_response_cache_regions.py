"""The response cache with remote regions (protocol.md §7.3, §9.3): `regions` keys, transparent
fallback, and invalidation when a remote region changes (which Java forgets, §12.17).

Payloads are produced with the real codecs and compared byte for byte with the whole-document
encoding of the core's reference views (`RemoteRegions.full_view` etc.)."""

from __future__ import annotations

import gzip
import random

import pytest

from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.model import ActionType, Applications, InstanceStatus
from eureka.registry import (
    Accept,
    ApiVersion,
    CacheKey,
    EntityType,
    Format,
    Registry,
    RegistryConfig,
    ResponseCache,
)
from eureka.registry.remote_regions import RemoteRegions, RemoteRegionsConfig
from tests.registry.support import START_MS, instance
from tests.registry.test_remote_regions import EU, WEST, delta, payload, remote

DOWN = InstanceStatus.DOWN
ALL = CacheKey(EntityType.ALL_APPS)
DELTA = CacheKey(EntityType.ALL_APPS_DELTA)


def with_regions(entity: EntityType, *regions: str, fmt: Format = Format.JSON) -> CacheKey:
    return CacheKey(entity, fmt=fmt, regions=regions)


def setup(
    *names: str,
    whitelist: tuple[tuple[str, tuple[str, ...]], ...] = (),
    read_only: bool = False,
    **options: bool,
) -> tuple[Registry, RemoteRegions, ResponseCache, ManualClock]:
    clock = ManualClock(START_MS)
    config = RegistryConfig(use_read_only_response_cache=read_only)
    registry = Registry(config, clock, rng=random.Random(1))
    regions = RemoteRegions(
        RemoteRegionsConfig(
            regions=tuple((n, f"http://{n}/eureka/") for n in names or (WEST,)),
            app_whitelist=whitelist,
            **options,
        ),
        clock,
        registry,
    )
    cache = ResponseCache(registry, config, clock, remote_regions=regions)
    return registry, regions, cache, clock


def populated(
    *names: str, **options: bool
) -> tuple[Registry, RemoteRegions, ResponseCache, ManualClock]:
    """Local ORDER (2) and SHARED (s-1, s-2); WEST has SHARED (s-2 DOWN, s-3) and FAR."""
    registry, regions, cache, clock = setup(*(names or (WEST,)), **options)
    registry.register(instance("ORDER", "o-1", vip="order,web"))
    registry.register(instance("ORDER", "o-2", vip="order"))
    registry.register(instance("SHARED", "s-1", vip="shared"))
    registry.register(instance("SHARED", "s-2", vip="shared"))
    regions.apply_full(
        WEST,
        payload(
            remote("SHARED", "s-2", DOWN, vip="shared"),
            remote("SHARED", "s-3", vip="shared"),
            remote("FAR", "f-1", vip="far,web"),
        ),
    )
    return registry, regions, cache, clock


def body(cache: ResponseCache, key: CacheKey) -> bytes:
    payload = cache.get(key)
    assert payload is not None
    return payload.body


def instance_ids(data: bytes, codec: object = json_codec) -> dict[str, list[str]]:
    decoded: Applications = codec.decode_applications(data)  # type: ignore[attr-defined]
    return {n: list(a.instances_by_id) for n, a in decoded.applications_by_name.items()}


# --- `?regions=` keys ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("accept", list(Accept))
def test_regions_key_serves_local_plus_listed_regions(fmt: Format, accept: Accept) -> None:
    registry, regions, cache, _ = populated()
    codec = json_codec if fmt is Format.JSON else xml_codec
    key = CacheKey(EntityType.ALL_APPS, fmt=fmt, accept=accept, regions=(WEST,))
    payload_ = cache.get(key)
    assert payload_ is not None
    expected = regions.full_view(registry, (WEST,))
    assert payload_.body == codec.encode_applications(expected, compact=accept is Accept.COMPACT)
    assert gzip.decompress(payload_.gzip) == payload_.body
    assert instance_ids(payload_.body, codec) == {
        "ORDER": ["o-1", "o-2"],
        "SHARED": ["s-1", "s-2", "s-3"],
        "FAR": ["f-1"],
    }
    assert expected.apps_hashcode == "DOWN_1_UP_5_"


def test_xml_v1_regions_payload() -> None:
    registry, regions, cache, _ = populated()
    key = CacheKey(EntityType.ALL_APPS, fmt=Format.XML, version=ApiVersion.V1, regions=(WEST,))
    expected = xml_codec.encode_applications(regions.full_view(registry, (WEST,)), v1=True)
    assert body(cache, key) == expected


def test_unknown_regions_serve_the_local_view_under_one_key() -> None:
    registry, _, cache, _ = populated()
    local = json_codec.encode_applications(registry.full_view())
    assert body(cache, with_regions(EntityType.ALL_APPS, "nowhere")) == local
    entries = cache.entry_count()
    assert body(cache, with_regions(EntityType.ALL_APPS, "elsewhere", "x")) == local
    assert cache.entry_count() == entries
    # Listing a region twice, or with unknown ones, is the same key as listing it once.
    once = cache.get(with_regions(EntityType.ALL_APPS, WEST))
    assert cache.get(with_regions(EntityType.ALL_APPS, WEST, WEST, "nowhere")) is once


def test_regions_delta_adds_current_deltas_and_hashes_the_merged_full_view() -> None:
    registry, regions, cache, clock = populated()
    clock.advance(1)
    assert regions.apply_delta(
        WEST,
        delta(remote("FAR", "f-1", action=ActionType.DELETED), apps_hashcode="DOWN_1_UP_1_"),
    )
    data = body(cache, with_regions(EntityType.ALL_APPS_DELTA, WEST))
    decoded = json_codec.decode_applications(data)
    expected = regions.delta_view(registry, (WEST,), with_regions=True)
    assert decoded.version == expected.version - 1 == 1
    assert decoded.apps_hashcode == expected.apps_hashcode == "DOWN_1_UP_4_"
    assert decoded.apps_hashcode == regions.full_view(registry, (WEST,)).apps_hashcode
    assert [(i.id, i.action_type) for i in decoded.iter_instances()] == [
        (i.id, i.action_type) for i in expected.iter_instances()
    ]
    assert ("f-1", ActionType.DELETED) in [(i.id, i.action_type) for i in decoded.iter_instances()]


def test_regions_delta_merges_a_remote_entry_into_the_local_application_per_instance() -> None:
    _, _, cache, _ = populated()
    # The current delta after the full fetch is the whole region: s-2 from WEST replaces ours.
    decoded = json_codec.decode_applications(
        body(cache, with_regions(EntityType.ALL_APPS_DELTA, WEST))
    )
    shared = decoded.get_application("SHARED")
    assert shared is not None and list(shared.instances_by_id) == ["s-1", "s-2", "s-3"]
    assert shared.instances_by_id["s-2"].status is DOWN


# --- transparent fallback (no `regions`) ------------------------------------------------------


def test_no_regions_key_merges_every_region_under_transparent_fallback() -> None:
    registry, regions, cache, _ = populated(WEST, EU)
    regions.apply_full(EU, payload(remote("EUAPP", "e-1")))
    expected = regions.full_view(registry, (WEST, EU))
    assert body(cache, ALL) == json_codec.encode_applications(expected)
    assert "EUAPP" in instance_ids(body(cache, ALL))


def test_fallback_delta_is_the_delta_of_the_full_payloads_view() -> None:
    registry, regions, cache, _ = populated()
    decoded = json_codec.decode_applications(body(cache, DELTA))
    assert decoded.apps_hashcode == regions.full_view(registry, (WEST,)).apps_hashcode
    assert decoded.version == 1  # the region-less counter
    assert "FAR" in decoded.applications_by_name


def test_legacy_fallback_delta_on_request() -> None:
    registry, regions, cache, _ = populated(legacy_fallback_delta=True)
    decoded = json_codec.decode_applications(body(cache, DELTA))
    assert decoded.apps_hashcode == regions.legacy_hash(registry) == "UP_5_"
    # SHARED exists locally: none of WEST's SHARED instances come over; FAR does.
    assert instance_ids(body(cache, DELTA))["SHARED"] == ["s-1", "s-2"]
    assert instance_ids(body(cache, DELTA))["FAR"] == ["f-1"]
    # `regions` requests are not affected by the legacy switch.
    regions_delta = json_codec.decode_applications(
        body(cache, with_regions(EntityType.ALL_APPS_DELTA, WEST))
    )
    assert regions_delta.apps_hashcode == "DOWN_1_UP_5_"


def test_without_fallback_no_regions_keys_are_local_only() -> None:
    registry, _, cache, _ = populated(transparent_fallback=False)
    assert body(cache, ALL) == json_codec.encode_applications(registry.full_view())
    assert cache.get(CacheKey(EntityType.APP, "FAR")) is None
    vip = body(cache, CacheKey(EntityType.VIP, "web"))
    assert vip == json_codec.encode_applications(registry.vip_view("web"))
    # ... while `regions` still brings the region in.
    assert "FAR" in instance_ids(body(cache, with_regions(EntityType.ALL_APPS, WEST)))


def test_application_falls_back_to_the_first_region_having_it() -> None:
    _, regions, cache, _ = populated(WEST, EU)
    regions.apply_full(EU, payload(remote("FAR", "f-eu")))
    far = body(cache, CacheKey(EntityType.APP, "far"))
    region_app = regions.region(WEST).applications.get_application("FAR")
    assert region_app is not None and far == json_codec.encode_application(region_app)
    xml = body(cache, CacheKey(EntityType.APP, "FAR", fmt=Format.XML))
    assert xml == xml_codec.encode_application(region_app)
    # A local application is never replaced by a remote one.
    shared = xml_codec.decode_application(
        body(cache, CacheKey(EntityType.APP, "SHARED", fmt=Format.XML))
    )
    assert list(shared.instances_by_id) == ["s-1", "s-2"]
    assert cache.get(CacheKey(EntityType.APP, "NOWHERE")) is None


def test_whitelist_applies_to_every_view() -> None:
    _, _, cache, _ = populated(whitelist=((WEST, ("SHARED",)),))
    assert instance_ids(body(cache, ALL)) == {
        "ORDER": ["o-1", "o-2"],
        "SHARED": ["s-1", "s-2", "s-3"],
    }
    assert cache.get(CacheKey(EntityType.APP, "FAR")) is None
    assert "FAR" not in instance_ids(body(cache, DELTA))
    assert json_codec.decode_applications(body(cache, ALL)).apps_hashcode == "DOWN_1_UP_4_"


@pytest.mark.parametrize("fmt", list(Format))
def test_vip_payload_covers_the_merged_view(fmt: Format) -> None:
    registry, regions, cache, _ = populated()
    codec = json_codec if fmt is Format.JSON else xml_codec
    for vip in ("web", "shared", "far", "none"):
        key = CacheKey(EntityType.VIP, vip, fmt=fmt)
        expected = regions.vip_view(registry, (WEST,), vip)
        assert body(cache, key) == codec.encode_applications(expected), vip
    assert instance_ids(body(cache, CacheKey(EntityType.VIP, "web"))) == {
        "ORDER": ["o-1"],
        "FAR": ["f-1"],
    }


# --- invalidation on remote updates ---------------------------------------------------------


def test_remote_update_invalidates_full_delta_vip_and_fallback_application() -> None:
    _, regions, cache, clock = populated()
    keys = [
        ALL,
        DELTA,
        with_regions(EntityType.ALL_APPS, WEST),
        with_regions(EntityType.ALL_APPS_DELTA, WEST),
        CacheKey(EntityType.VIP, "web"),
        CacheKey(EntityType.APP, "FAR"),
    ]
    before = {key: cache.get(key) for key in keys}
    clock.advance(1)
    assert regions.apply_delta(
        WEST,
        delta(
            remote("FAR", "f-1", DOWN, ActionType.MODIFIED, vip="far,web"),
            apps_hashcode="DOWN_2_UP_1_",
        ),
    )
    for key in keys:
        after = cache.get(key)
        assert after is not before[key], key
        assert after is not None
        assert b"DOWN" in after.body, key
    assert (
        json_codec.decode_application(body(cache, CacheKey(EntityType.APP, "FAR")))
        .instances_by_id["f-1"]
        .status
        is DOWN
    )
    # Nothing changed since: hits, no rebuilds.
    rebuilds = cache.stats().rebuilds
    for key in keys:
        cache.get(key)
    assert cache.stats().rebuilds == rebuilds


def test_an_unchanged_remote_fetch_keeps_full_payloads() -> None:
    _, regions, cache, _ = populated()
    full = cache.get(ALL)
    assert regions.apply_delta(WEST, delta(apps_hashcode="DOWN_1_UP_2_"))  # first: delta changes
    assert cache.get(ALL) is full
    assert regions.apply_delta(WEST, delta(apps_hashcode="DOWN_1_UP_2_"))
    delta_payload = cache.get(DELTA)
    assert cache.get(DELTA) is delta_payload and cache.get(ALL) is full


def test_fallback_application_appears_and_disappears_with_the_region() -> None:
    _, regions, cache, _ = populated()
    assert cache.get(CacheKey(EntityType.APP, "LATE")) is None
    assert regions.apply_delta(WEST, delta(remote("LATE", "l-1"), apps_hashcode="DOWN_1_UP_3_"))
    assert cache.get(CacheKey(EntityType.APP, "LATE")) is not None
    assert regions.apply_delta(
        WEST, delta(remote("LATE", "l-1", action=ActionType.DELETED), apps_hashcode="DOWN_1_UP_2_")
    )
    assert cache.get(CacheKey(EntityType.APP, "LATE")) is None


def test_local_changes_still_invalidate_merged_payloads() -> None:
    registry, regions, cache, clock = populated()
    first = cache.get(with_regions(EntityType.ALL_APPS, WEST))
    clock.advance(1)
    registry.register(instance("FAR", "f-local"))
    second = body(cache, with_regions(EntityType.ALL_APPS, WEST))
    assert second is not first
    assert second == json_codec.encode_applications(regions.full_view(registry, (WEST,)))
    assert instance_ids(second)["FAR"] == ["f-local", "f-1"]


def test_read_only_tier_picks_up_remote_changes_on_refresh() -> None:
    _, regions, cache, _ = populated(read_only=True)
    stale = cache.get(ALL)
    assert regions.apply_delta(WEST, delta(remote("NEW", "n-1"), apps_hashcode="DOWN_1_UP_3_"))
    assert cache.get(ALL) is stale  # Java's 30 s tier, when asked for
    cache.refresh_read_only()
    assert "NEW" in instance_ids(body(cache, ALL))


# --- cost: remote instances are encoded once ---------------------------------------------------


def test_a_remote_delta_re_encodes_only_the_changed_instances() -> None:
    registry, regions, cache, clock = setup()
    regions.apply_full(WEST, payload(*(remote("BIG", f"b-{n}") for n in range(50))))
    cache.get(ALL)
    cache.get(DELTA)
    encodes = cache.stats().instance_encodes
    assert encodes == 50  # the copy and the current delta share their instances
    clock.advance(1)
    assert regions.apply_delta(
        WEST, delta(remote("BIG", "b-7", DOWN, ActionType.MODIFIED), apps_hashcode="DOWN_1_UP_49_")
    )
    merged = body(cache, ALL)
    assert cache.stats().instance_encodes == encodes + 1
    assert merged == json_codec.encode_applications(regions.full_view(registry, (WEST,)))


def test_local_only_paths_are_untouched_until_a_region_has_data() -> None:
    registry, _, cache, _ = setup(WEST)
    registry.register(instance("ORDER", "o-1"))
    assert body(cache, ALL) == json_codec.encode_applications(registry.full_view())
    assert body(cache, with_regions(EntityType.ALL_APPS, WEST)) == body(cache, ALL)

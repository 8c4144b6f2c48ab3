"""The response cache (protocol.md §7): invalidation, tiers, coalescing, fragments and gzip.

Most tests inject a tiny fake encoder whose output shows exactly what the cache fed it; the last
group runs the real codecs and compares with their whole-document encoders.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections.abc import Callable, Sequence

import pytest

from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.model import InstanceInfo, InstanceStatus
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
from eureka.registry.encoders import PayloadEncoder
from tests.registry.support import START_MS, instance

UP = InstanceStatus.UP
OOS = InstanceStatus.OUT_OF_SERVICE

ALL = CacheKey(EntityType.ALL_APPS)
DELTA = CacheKey(EntityType.ALL_APPS_DELTA)


class FakeEncoder:
    """`[v=<version> h=<hash>|APP=<frag>,<frag>;APP=...]` with fragments `<id:STATUS:lr=...>`."""

    content_type = "text/fake"
    context_sensitive = False

    def __init__(self, *, verbatim: bool = True) -> None:
        self.verbatim = verbatim

    def instance(self, info: InstanceInfo, *, compact: bool, v1: bool, depth: int) -> bytes:
        lease = info.lease_info
        renewed = lease.last_renewal_timestamp if lease is not None else None
        meta = ",".join(f"{k}={v}" for k, v in sorted(info.metadata.items()))
        mode = "c" if compact else "f"
        action = info.action_type.value if info.action_type else "-"
        text = f"<{info.id}:{info.status.value}:{action}:{meta}:lr={renewed}:{mode}>"
        return text.encode()

    def _apps(self, apps: Sequence[tuple[str, Sequence[bytes]]]) -> bytes:
        joined = b";".join(name.encode() + b"=" + b",".join(f) for name, f in apps)
        # A non-verbatim encoder (e.g. one that re-indents) defeats fragment location.
        return joined if self.verbatim else joined.upper()

    def applications(
        self,
        version: int,
        apps_hashcode: str,
        apps: Sequence[tuple[str, Sequence[bytes]]],
        *,
        compact: bool,
        v1: bool,
    ) -> bytes:
        return f"[v={version} h={apps_hashcode}|".encode() + self._apps(apps) + b"]"

    def application(
        self, name: str, fragments: Sequence[bytes], *, compact: bool, v1: bool
    ) -> bytes:
        return f"{{{name}:".encode() + b",".join(fragments) + b"}"

    def envelope(
        self, version: int, apps_hashcode: str, *, empty: bool, compact: bool, v1: bool
    ) -> tuple[bytes, bytes]:
        return f"[v={version} h={apps_hashcode}|".encode(), b"]"

    def run(
        self,
        name: str,
        fragments: Sequence[bytes],
        *,
        first: bool,
        opens: bool,
        closes: bool,
        compact: bool,
        v1: bool,
    ) -> bytes:
        opening = (b"" if first else b";") + name.encode() + b"=" if opens else b","
        text = opening + b",".join(fragments)
        return text if self.verbatim else text.upper()


def _setup(
    encoder: PayloadEncoder | None = None, **config: object
) -> tuple[Registry, ResponseCache, ManualClock]:
    clock = ManualClock(START_MS)
    options = RegistryConfig(**config)  # type: ignore[arg-type]
    registry = Registry(options, clock, rng=random.Random(1))
    encoders = {Format.JSON: encoder or FakeEncoder(), Format.XML: encoder or FakeEncoder()}
    return registry, ResponseCache(registry, options, clock, encoders), clock


def _body(cache: ResponseCache, key: CacheKey = ALL) -> str:
    payload = cache.get(key)
    assert payload is not None
    return payload.body.decode()


# --- basics ----------------------------------------------------------------------------------


def test_full_payload_carries_version_and_exact_hash_and_is_cached() -> None:
    registry, cache, _ = _setup()
    registry.register(instance("A", "a-1"))
    registry.register(instance("B", "b-1", status=InstanceStatus.DOWN))
    first = cache.get(ALL)
    assert first is not None and first.content_type == "text/fake"
    assert first.body.startswith(b"[v=1 h=DOWN_1_UP_1_|A=<a-1:UP:ADDED:")
    assert cache.get(ALL) is first
    assert (cache.stats().rebuilds, cache.stats().hits) == (1, 1)


def test_empty_registry_payload() -> None:
    _, cache, _ = _setup()
    assert _body(cache) == "[v=1 h=|]"


def test_key_normalisation_shares_equal_payloads() -> None:
    registry, cache, _ = _setup()
    registry.register(instance("A", "a-1"))
    payload = cache.get(ALL)
    assert cache.get(CacheKey(EntityType.ALL_APPS, name="whatever")) is payload
    assert cache.get(CacheKey(EntityType.ALL_APPS, version=ApiVersion.V1)) is payload  # JSON
    assert cache.get(CacheKey(EntityType.APP, "a")) is cache.get(CacheKey(EntityType.APP, "A"))
    assert cache.stats().rebuilds == 2


# --- invalidation: the next get sees every change (invariant 3) ------------------------------


def _renew_with_rule_change(registry: Registry) -> None:
    registry.store_overridden_status_if_required("A", "a-1", OOS)
    registry.renew("A", "a-1")


MUTATIONS: dict[str, tuple[Callable[[Registry], object], str]] = {
    "register": (lambda r: r.register(instance("C", "c-1")), "C=<c-1:UP:ADDED"),
    "cancel": (lambda r: r.cancel("B", "b-1"), "h=UP_1_|A="),
    "status": (lambda r: r.status_update("A", "a-1", OOS, None), "<a-1:OUT_OF_SERVICE:MODIFIED"),
    "delete override": (
        lambda r: (r.status_update("A", "a-1", OOS, None), r.delete_status_override("A", "a-1")),
        "<a-1:UNKNOWN:MODIFIED",
    ),
    "metadata": (lambda r: r.update_metadata("A", "a-1", {"zone": "z1"}), ":zone=z1:"),
    "renew rule change": (_renew_with_rule_change, "<a-1:OUT_OF_SERVICE:MODIFIED"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_each_mutation_is_visible_on_the_next_get(name: str) -> None:
    registry, cache, clock = _setup()
    registry.register(instance("A", "a-1"))
    registry.register(instance("B", "b-1"))
    before = _body(cache)
    mutate, expected = MUTATIONS[name]
    clock.advance(1)
    mutate(registry)
    after = _body(cache)
    assert expected not in before
    assert expected in after
    assert after.startswith(f"[v=1 h={registry.apps_hashcode()}|")


def test_eviction_is_visible_on_the_next_get() -> None:
    registry, cache, clock = _setup(enable_self_preservation=False)
    registry.register(instance("A", "a-1"))
    assert "a-1" in _body(cache)
    registry.evict()
    clock.advance(60)
    registry.evict()
    clock.advance(60)
    assert [i.id for i in registry.evict()] == ["a-1"]
    assert _body(cache) == "[v=1 h=|]"
    assert "<a-1:UP:DELETED" in _body(cache, DELTA)


def test_renewals_do_not_invalidate() -> None:
    registry, cache, clock = _setup()
    registry.register(instance("A", "a-1"))
    payload = cache.get(ALL)
    clock.advance(30)
    registry.renew("A", "a-1")
    assert cache.get(ALL) is payload  # Java parity: lease timestamps may lag (§7.4)


def test_application_key_follows_registrations_without_delay() -> None:
    registry, cache, _ = _setup()
    key = CacheKey(EntityType.APP, "a")
    assert cache.get(key) is None
    registry.register(instance("A", "a-1"))
    assert _body(cache, key).startswith("{A:<a-1:UP:ADDED")
    registry.cancel("A", "a-1")
    assert cache.get(key) is None


def test_unrelated_keys_survive_a_change() -> None:
    registry, cache, _ = _setup()
    registry.register(instance("A", "a-1", vip="va"))
    registry.register(instance("B", "b-1", vip="vb"))
    app_a = cache.get(CacheKey(EntityType.APP, "A"))
    vip_a = cache.get(CacheKey(EntityType.VIP, "va"))
    registry.status_update("B", "b-1", OOS, None)
    assert cache.get(CacheKey(EntityType.APP, "A")) is app_a
    assert cache.get(CacheKey(EntityType.VIP, "va")) is vip_a


@pytest.mark.parametrize("accept", list(Accept))
def test_vip_keys_of_every_listed_name_and_accept_are_invalidated(accept: Accept) -> None:
    # Java misses compact VIP keys and the names inside comma-separated lists (§7.4).
    registry, cache, _ = _setup()
    registry.register(instance("A", "a-1", vip="alpha,beta", svip="s1,s2"))
    vip = CacheKey(EntityType.VIP, "beta", accept=accept)
    svip = CacheKey(EntityType.SVIP, "s2", accept=accept)
    assert "<a-1:UP:" in _body(cache, vip) and "<a-1:UP:" in _body(cache, svip)
    registry.status_update("A", "a-1", OOS, None)
    assert "<a-1:OUT_OF_SERVICE:" in _body(cache, vip)
    assert "<a-1:OUT_OF_SERVICE:" in _body(cache, svip)
    assert _body(cache, vip).startswith("[v=-1 h=OUT_OF_SERVICE_1_|")


def test_reregistration_with_new_vip_invalidates_the_old_vip() -> None:
    registry, cache, clock = _setup()
    registry.register(instance("A", "a-1", vip="old", dirty=1))
    old = CacheKey(EntityType.VIP, "old")
    assert "a-1" in _body(cache, old)
    clock.advance(1)
    registry.register(instance("A", "a-1", vip="new", dirty=2))
    assert _body(cache, old) == "[v=-1 h=|]"
    assert "a-1" in _body(cache, CacheKey(EntityType.VIP, "new"))


def test_log_pruned_past_last_seen_revision_drops_everything() -> None:
    registry, cache, clock = _setup()
    registry.register(instance("A", "a-1"))
    vip = cache.get(CacheKey(EntityType.VIP, "a"))
    registry.register(instance("B", "b-1"))
    clock.advance(901)  # past the cursor log's 15 minutes, not just the 3-minute delta window
    registry.register(instance("C", "c-1"))
    registry.prune_delta_queue()
    assert registry.oldest_revision > 1
    assert "C=<c-1" in _body(cache)
    assert cache.get(CacheKey(EntityType.VIP, "a")) is not vip


# --- coalescing and fragment reuse -----------------------------------------------------------


def test_many_changes_between_two_gets_cost_one_rebuild_of_the_changed_apps() -> None:
    registry, cache, clock = _setup()
    for app in "ABCDEFGH":
        for n in range(20):
            registry.register(instance(app, f"{app}-{n}"))
    cache.get(ALL)
    rebuilds, app_encodes, encodes = (
        cache.stats().rebuilds,
        cache.stats().app_encodes,
        cache.stats().instance_encodes,
    )
    clock.advance(1)
    for n in range(10):
        registry.status_update("B", f"B-{n}", OOS, None)
        registry.status_update("E", f"E-{n}", OOS, None)
        registry.renew("F", "F-1")
    payload = cache.get(ALL)
    assert payload is not None
    assert cache.stats().rebuilds == rebuilds + 1
    assert cache.stats().app_encodes == app_encodes + 2  # only B and E
    # Only the blocks holding the changed instances: here each application is one block.
    assert cache.stats().instance_encodes == encodes + 40
    assert payload.body.startswith(b"[v=1 h=OUT_OF_SERVICE_20_UP_140_|")


def test_auto_expiry_regenerates_and_refreshes_lease_timestamps() -> None:
    registry, cache, clock = _setup()
    registry.register(instance("A", "a-1"))
    first = cache.get(ALL)
    clock.advance(60)
    registry.renew("A", "a-1")
    renewed_at = clock.now_ms()
    clock.advance(119)
    assert cache.get(ALL) is first
    clock.advance(1)  # 180 s after it was written
    expired = _body(cache)
    assert f"lr={renewed_at}" in expired
    assert cache.stats().rebuilds == 2


def test_expired_entries_of_unknown_names_are_swept() -> None:
    registry, cache, clock = _setup()
    registry.register(instance("A", "a-1"))
    for n in range(50):
        cache.get(CacheKey(EntityType.VIP, f"random-{n}"))
        cache.get(CacheKey(EntityType.APP, f"NOPE-{n}"))
    assert cache.entry_count() == 100
    clock.advance(180)
    cache.get(ALL)
    assert cache.entry_count() == 1


# --- read-only tier --------------------------------------------------------------------------


def test_read_only_tier_serves_stale_until_refreshed() -> None:
    registry, cache, _ = _setup(use_read_only_response_cache=True)
    registry.register(instance("A", "a-1"))
    app = CacheKey(EntityType.APP, "B")
    assert cache.get(app) is None
    stale = _body(cache)
    registry.register(instance("B", "b-1"))
    assert _body(cache) == stale
    assert cache.get(app) is None
    cache.refresh_read_only()
    assert "B=<b-1" in _body(cache)
    assert cache.get(app) is not None
    registry.cancel("B", "b-1")
    assert cache.get(app) is not None  # stale until the next refresh
    cache.refresh_read_only()
    assert cache.get(app) is None


def test_without_read_only_tier_changes_are_visible_at_once() -> None:
    registry, cache, _ = _setup()
    registry.register(instance("A", "a-1"))
    before = _body(cache)
    registry.register(instance("B", "b-1"))
    assert _body(cache) != before


# --- delta -----------------------------------------------------------------------------------


def test_delta_version_increments_per_regeneration_and_hash_is_the_full_views() -> None:
    registry, cache, _ = _setup()
    registry.register(instance("A", "a-1"))
    registry.register(instance("A", "a-2"))
    first = _body(cache, DELTA)
    assert first.startswith("[v=1 h=UP_2_|")
    assert _body(cache, DELTA) == first  # a hit is not a regeneration
    registry.cancel("A", "a-2")
    second = _body(cache, DELTA)
    assert second.startswith("[v=2 h=UP_1_|A=<a-1:UP:ADDED")
    assert "<a-2:UP:DELETED" in second
    regions = _body(cache, CacheKey(EntityType.ALL_APPS_DELTA, regions=("EU", "us")))
    assert regions.startswith("[v=1 h=UP_1_|")


def test_delta_encodes_each_cancelled_instance_once_while_in_window() -> None:
    registry, cache, _ = _setup()
    registry.register(instance("A", "a-1"))
    registry.register(instance("A", "a-2"))
    registry.cancel("A", "a-2")
    cache.get(DELTA)
    encodes = cache.stats().instance_encodes
    registry.register(instance("B", "b-1"))
    cache.get(DELTA)
    # Only b-1 is new: a-1 comes from A's fragments, the DELETED a-2 from the delta memo.
    assert cache.stats().instance_encodes == encodes + 1


# --- gzip ------------------------------------------------------------------------------------


def _gunzip_single_member(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(data) + decompressor.flush()
    assert decompressor.eof and decompressor.unused_data == b""
    return out


def test_chunked_gzip_is_valid_and_reuses_unchanged_chunks() -> None:
    registry, cache, _ = _setup()
    # Fragments of ~150 bytes: a block's last kilobyte (what primes the next block) holds its
    # last few instances only.
    pad = {"pad": "x" * 100}
    for app in "ABCDEF":
        for n in range(30):
            registry.register(instance(app, f"{app}-{n}", metadata=pad))
    payload = cache.get(ALL)
    assert payload is not None
    assert gzip.decompress(payload.gzip) == payload.body
    assert _gunzip_single_member(payload.gzip) == payload.body
    assert payload.gzip is payload.gzip  # computed once
    # One chunk per application block; the head (with the hash code) and the tail are stored.
    assert cache.stats().gzip_chunks == 6
    # A change recompresses the block it is in; the next block too when the change lies in the
    # text that primes it (the last instance of a block), except after the last block.
    for changed, recompressed in (("C-3", 1), ("F-29", 1), ("A-29", 2), ("C-29", 2)):
        chunks = cache.stats().gzip_chunks
        app = changed[0]
        registry.status_update(app, changed, OOS, None)
        payload = cache.get(ALL)
        assert payload is not None
        assert _gunzip_single_member(payload.gzip) == payload.body
        assert f"<{changed}:OUT_OF_SERVICE" in payload.body.decode()
        assert cache.stats().gzip_chunks == chunks + recompressed


def test_chunked_gzip_after_an_application_disappears() -> None:
    registry, cache, _ = _setup()
    for app in "ABC":
        registry.register(instance(app, f"{app}-1"))
    first = cache.get(ALL)
    assert first is not None and _gunzip_single_member(first.gzip) == first.body
    registry.cancel("B", "B-1")
    payload = cache.get(ALL)
    assert payload is not None
    assert _gunzip_single_member(payload.gzip) == payload.body
    registry.cancel("A", "A-1")
    registry.cancel("C", "C-1")
    payload = cache.get(ALL)
    assert payload is not None and _gunzip_single_member(payload.gzip) == payload.body


def test_gzip_falls_back_to_whole_document_when_fragments_are_not_verbatim() -> None:
    registry, cache, _ = _setup(FakeEncoder(verbatim=False))
    registry.register(instance("A", "a-1"))
    payload = cache.get(ALL)
    assert payload is not None
    assert _gunzip_single_member(payload.gzip) == payload.body


@pytest.mark.parametrize(
    "key",
    [
        DELTA,
        CacheKey(EntityType.APP, "A"),
        CacheKey(EntityType.VIP, "a"),
        CacheKey(EntityType.SVIP, "nothing"),
    ],
)
def test_gzip_of_other_payloads(key: CacheKey) -> None:
    registry, cache, _ = _setup()
    registry.register(instance("A", "a-1"))
    payload = cache.get(key)
    assert payload is not None
    assert _gunzip_single_member(payload.gzip) == payload.body


# --- the real codecs -------------------------------------------------------------------------


def _real_setup(**config: object) -> tuple[Registry, ResponseCache, ManualClock]:
    clock = ManualClock(START_MS)
    options = RegistryConfig(**config)  # type: ignore[arg-type]
    registry = Registry(options, clock, own_instance_id="eureka-1")
    return registry, ResponseCache(registry, options, clock), clock


def _populate(registry: Registry, clock: ManualClock) -> None:
    for app in ("ORDER", "PAYMENT", "INVENTORY"):
        for n in range(4):
            registry.register(
                instance(
                    app, f"{app.lower()}-{n}", vip=f"{app.lower()},shared", metadata={"n": f"{n}"}
                )
            )
    registry.register(instance("EUREKA", "eureka-1"))
    clock.advance(5)
    registry.status_update("ORDER", "order-1", OOS, None)
    registry.cancel("PAYMENT", "payment-2")
    registry.store_overridden_status_if_required("INVENTORY", "inventory-0", OOS)
    registry.renew("INVENTORY", "inventory-0")


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("accept", list(Accept))
@pytest.mark.parametrize("version", list(ApiVersion))
def test_real_codec_payloads_equal_whole_document_encoding(
    fmt: Format, accept: Accept, version: ApiVersion
) -> None:
    registry, cache, clock = _real_setup()
    _populate(registry, clock)
    codec = json_codec if fmt is Format.JSON else xml_codec
    compact = accept is Accept.COMPACT
    options: dict[str, bool] = {"compact": compact}
    if fmt is Format.XML:
        options["v1"] = version is ApiVersion.V1
    full = cache.get(CacheKey(EntityType.ALL_APPS, fmt=fmt, version=version, accept=accept))
    assert full is not None
    assert full.body == codec.encode_applications(registry.full_view(), **options)  # type: ignore[arg-type]
    assert _gunzip_single_member(full.gzip) == full.body
    vip = cache.get(CacheKey(EntityType.VIP, "shared", fmt=fmt, version=version, accept=accept))
    assert vip is not None
    assert vip.body == codec.encode_applications(registry.vip_view("shared"), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", list(Format))
def test_real_codec_delta_and_application(fmt: Format) -> None:
    registry, cache, clock = _real_setup()
    _populate(registry, clock)
    codec = json_codec if fmt is Format.JSON else xml_codec
    delta = cache.get(CacheKey(EntityType.ALL_APPS_DELTA, fmt=fmt))
    assert delta is not None
    decoded = codec.decode_applications(delta.body)
    expected = registry.delta_view()  # the next generation: version + 1, same content
    assert decoded.version == expected.version - 1
    assert decoded.apps_hashcode == expected.apps_hashcode == registry.apps_hashcode()
    assert [(i.id, i.action_type, i.status) for i in decoded.iter_instances()] == [
        (i.id, i.action_type, i.status) for i in expected.iter_instances()
    ]
    app = cache.get(CacheKey(EntityType.APP, "order", fmt=fmt))
    application = registry.get_application("ORDER")
    assert app is not None and application is not None
    assert app.body == codec.encode_application(application)


def test_real_codec_incremental_rebuild_after_changes_matches_fresh_encoding() -> None:
    registry, cache, clock = _real_setup()
    _populate(registry, clock)
    key = CacheKey(EntityType.ALL_APPS, fmt=Format.XML)
    cache.get(key)
    rng = random.Random(5)
    for _ in range(30):
        clock.advance(1)
        app = rng.choice(["ORDER", "PAYMENT", "INVENTORY", "NEW"])
        n = rng.randrange(6)
        action = rng.random()
        if action < 0.4:
            registry.register(instance(app, f"{app.lower()}-{n}", dirty=rng.randrange(10**6)))
        elif action < 0.7:
            registry.status_update(
                app, f"{app.lower()}-{n}", rng.choice(list(InstanceStatus)), None
            )
        else:
            registry.cancel(app, f"{app.lower()}-{n}")
        if rng.random() < 0.5:
            payload = cache.get(key)
            assert payload is not None
            assert payload.body == xml_codec.encode_applications(registry.full_view())
            assert _gunzip_single_member(payload.gzip) == payload.body


def test_the_delta_has_its_own_gzip_level_and_the_same_text() -> None:
    """The delta goes to every poller between two changes: a higher level buys smaller bytes
    there, while the full registry keeps the cheap level it is rebuilt at."""
    clock = ManualClock(START_MS)
    registry = Registry(RegistryConfig(), clock)
    for n in range(300):
        registry.register(instance(f"APP-{n % 30}", f"i-{n}", dirty=START_MS + n))
    fast = ResponseCache(registry, registry.config, clock, gzip_level=1)
    small = ResponseCache(registry, registry.config, clock, gzip_level=1, delta_gzip_level=9)
    delta = CacheKey(EntityType.ALL_APPS_DELTA)
    full = CacheKey(EntityType.ALL_APPS)
    fast_delta, small_delta = fast.get(delta), small.get(delta)
    assert fast_delta is not None and small_delta is not None

    def text(payload: bytes) -> object:
        document = json.loads(gzip.decompress(payload))
        del document["applications"]["versions__delta"]  # a counter each build moves
        return document

    assert text(small_delta.gzip) == text(fast_delta.gzip)
    assert len(small_delta.gzip) < 0.8 * len(fast_delta.gzip)
    fast_full, small_full = fast.get(full), small.get(full)
    assert fast_full is not None and small_full is not None
    assert small_full.gzip == fast_full.gzip  # the full registry's level is unchanged


def test_a_pruned_window_releases_the_delta_and_its_fragments_at_once() -> None:
    """The retention timer, not the next delta request, frees what left the window: a burst
    of large registrations cancelled at once must be free when the heap is next trimmed."""
    registry, cache, clock = _setup(retention_time_in_ms_in_delta_queue=1_000)
    registry.register(instance("A", "a-1"))
    registry.register(instance("B", "b-1"))
    registry.cancel("B", "b-1")
    cache.get(DELTA)
    fragments = cache._delta_leases  # what the memo holds is the point
    assert sum(map(len, fragments.values())) == 2
    clock.advance_ms(500)
    registry.register(instance("C", "c-1"))
    clock.advance_ms(700)  # a-1 and b-1 left the window, c-1 is in it
    registry.prune_delta_queue()
    cache.release_pruned()
    assert sum(map(len, fragments.values())) == 0  # c-1 was never served: nothing to keep
    assert _body(cache, DELTA).count("c-1") == 1
    assert "a-1" not in _body(cache, DELTA)
    cache.release_pruned()
    assert sum(map(len, fragments.values())) == 1  # c-1, still in the window, is kept

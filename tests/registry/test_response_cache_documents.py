"""The cached full registry and delta with the real codecs: after every change, the next GET is
exactly what the codec writes for the registry's current view, gzip and identity alike."""

from __future__ import annotations

import random
import zlib
from types import ModuleType

import pytest

from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.model import InstanceStatus
from eureka.registry import Registry, RegistryConfig, ResponseCache
from eureka.registry.cache_key import Accept, ApiVersion, CacheKey, EntityType, Format
from tests.registry.support import START_MS, instance

# (key options, codec, encode_applications options)
VARIANTS = [
    ({"fmt": Format.JSON}, json_codec, {}),
    ({"fmt": Format.JSON, "accept": Accept.COMPACT}, json_codec, {"compact": True}),
    ({"fmt": Format.XML}, xml_codec, {}),
    ({"fmt": Format.XML, "version": ApiVersion.V1}, xml_codec, {"v1": True}),
    ({"fmt": Format.XML, "accept": Accept.COMPACT}, xml_codec, {"compact": True}),
]
STATUSES = [InstanceStatus.UP, InstanceStatus.DOWN, InstanceStatus.OUT_OF_SERVICE]


def _single_member(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(data) + decompressor.flush()
    assert decompressor.eof and decompressor.unused_data == b""
    return out


def _setup() -> tuple[Registry, ResponseCache, ManualClock]:
    clock = ManualClock(START_MS)
    config = RegistryConfig()
    registry = Registry(config, clock, rng=random.Random(1))
    return registry, ResponseCache(registry, config, clock), clock


def _random_change(registry: Registry, rng: random.Random, serial: list[int]) -> None:
    """One change that records a revision (so no lease timestamp moves without one)."""
    ids = [(i.app, i.id, i.status) for i in registry.local_instances()]
    kind = rng.random()
    if kind < 0.3 or not ids:
        serial[0] += 1
        app = rng.choice(["A", "B", "C", "D"])
        registry.register(instance(app, f"{app.lower()}-new-{serial[0]}", dirty=serial[0]))
        return
    app, iid, status = rng.choice(ids)
    if kind < 0.6:
        new = rng.choice([s for s in STATUSES if s != status])
        registry.status_update(app, iid, new, None)
    elif kind < 0.75:
        registry.register(instance(app, iid, dirty=10_000_000 + serial[0], metadata={"v": "2"}))
        serial[0] += 1
    elif kind < 0.97:
        registry.cancel(app, iid)
    else:
        for other_app, other, _ in ids:
            if other_app == app:
                registry.cancel(app, other)


@pytest.mark.parametrize(("options", "codec", "encode_options"), VARIANTS)
def test_every_get_of_the_full_registry_is_the_codec_output_of_the_current_view(
    options: dict[str, object], codec: ModuleType, encode_options: dict[str, bool]
) -> None:
    registry, cache, clock = _setup()
    rng = random.Random(7)
    serial = [0]
    for n in range(140):  # B spans several blocks
        registry.register(instance("B" if n % 3 else "A", f"i-{n}", dirty=n + 1))
    key = CacheKey(EntityType.ALL_APPS, **options)  # type: ignore[arg-type]
    for step in range(60):
        for _ in range(rng.randint(1, 3)):
            _random_change(registry, rng, serial)
        clock.advance(1)
        payload = cache.get(key)
        assert payload is not None
        expected = codec.encode_applications(registry.full_view(), **encode_options)
        assert _single_member(payload.gzip) == expected, f"step {step}"
        assert payload.body == expected
        # Asked the other way round (identity first), a payload agrees too.
        registry.register(instance("E", f"e-{step}", dirty=step + 1))
        payload = cache.get(key)
        assert payload is not None
        expected = codec.encode_applications(registry.full_view(), **encode_options)
        assert payload.body == expected
        assert _single_member(payload.gzip) == expected


@pytest.mark.parametrize(("options", "codec", "encode_options"), VARIANTS)
def test_every_get_of_the_delta_is_the_codec_output_of_the_delta_view(
    options: dict[str, object], codec: ModuleType, encode_options: dict[str, bool]
) -> None:
    registry, cache, clock = _setup()
    rng = random.Random(11)
    serial = [0]
    key = CacheKey(EntityType.ALL_APPS_DELTA, **options)  # type: ignore[arg-type]
    for step in range(60):
        for _ in range(rng.randint(1, 4)):
            _random_change(registry, rng, serial)
        clock.advance(5)
        registry.prune_delta_queue()  # the window moves: entries leave it after 180 s
        payload = cache.get(key)
        assert payload is not None
        view = registry.delta_view()
        view.version -= 1  # delta_view counts one more delta than the payload's
        expected = codec.encode_applications(view, **encode_options)
        assert _single_member(payload.gzip) == expected, f"step {step}"
        assert payload.body == expected


def test_a_status_change_is_in_the_very_next_gzip_get() -> None:
    registry, cache, _ = _setup()
    for n in range(100):
        registry.register(instance("APP", f"i-{n}"))
    key = CacheKey(EntityType.ALL_APPS, fmt=Format.JSON)
    payload = cache.get(key)
    assert payload is not None and b"OUT_OF_SERVICE" not in _single_member(payload.gzip)
    registry.status_update("APP", "i-50", InstanceStatus.OUT_OF_SERVICE, None)
    payload = cache.get(key)
    assert payload is not None
    decoded = json_codec.decode_applications(_single_member(payload.gzip))
    application = decoded.get_application("APP")
    assert application is not None
    stored = application.get_instance("i-50")
    assert stored is not None and stored.status is InstanceStatus.OUT_OF_SERVICE
    assert decoded.apps_hashcode == "OUT_OF_SERVICE_1_UP_99_"

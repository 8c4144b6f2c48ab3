"""The `registration-max-*` limits: what one registration may make the registry keep."""

from __future__ import annotations

import pytest

from eureka.errors import BadInput
from tests.registry.support import instance, make_registry


def test_registrations_real_clients_send_pass() -> None:
    registry, _ = make_registry()
    info = instance(metadata={f"management.key{n}": "v" * 200 for n in range(50)})
    registry.validate_registration("APP", info)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host_name", "h" * 4097),
        ("home_page_url", "http://x/" + "p" * 4090),
        ("vip_address", "v" * 5000),
    ],
)
def test_an_oversized_field_is_refused(field: str, value: str) -> None:
    registry, _ = make_registry()
    info = instance()
    setattr(info, field, value)
    with pytest.raises(BadInput, match=f"{field} longer than 4096"):
        registry.validate_registration("APP", info)


def test_metadata_is_bounded_in_entries_key_length_and_bytes() -> None:
    registry, _ = make_registry()
    with pytest.raises(BadInput, match="more than 256 entries"):
        registry.validate_registration("APP", instance(metadata={str(n): "" for n in range(257)}))
    with pytest.raises(BadInput, match="key longer"):
        registry.validate_registration("APP", instance(metadata={"k" * 4097: ""}))
    with pytest.raises(BadInput, match="larger than 65536 bytes"):
        registry.validate_registration("APP", instance(metadata={"a": "x" * 65_536}))
    # Bytes, not characters: 20,000 three-byte characters are 60,000 bytes.
    with pytest.raises(BadInput, match="larger than 65536 bytes"):
        registry.validate_registration("APP", instance(metadata={"a": "€" * 22_000}))
    registry.validate_registration("APP", instance(metadata={"a": "€" * 21_000}))


def test_limits_can_be_raised_or_turned_off() -> None:
    registry, _ = make_registry(
        registration_max_metadata_entries=0,
        registration_max_metadata_bytes=0,
        registration_max_field_length=0,
    )
    info = instance(metadata={str(n): "x" * 1000 for n in range(1000)})
    info.host_name = "h" * 10_000
    registry.validate_registration("APP", info)


def test_a_metadata_edit_over_the_limit_changes_nothing() -> None:
    registry, _ = make_registry()
    info = instance()
    registry.validate_registration("APP", info)
    registry.register(info)
    revision = registry.revision
    with pytest.raises(BadInput, match="larger than"):
        registry.update_metadata("APP", "i-1", {"big": "x" * 70_000})
    assert registry.revision == revision
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and "big" not in stored.metadata

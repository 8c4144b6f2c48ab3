"""The override rule chain (protocol.md §6.3): the function, then every observable result."""

from __future__ import annotations

import pytest

from eureka.model import InstanceStatus
from eureka.registry.rules import effective_status
from tests.registry.support import instance, make_registry

UP = InstanceStatus.UP
DOWN = InstanceStatus.DOWN
STARTING = InstanceStatus.STARTING
OOS = InstanceStatus.OUT_OF_SERVICE
UNKNOWN = InstanceStatus.UNKNOWN


@pytest.mark.parametrize("own", [DOWN, STARTING, UNKNOWN])
def test_rule1_instance_not_ready_is_believed_over_override_and_lease(own: InstanceStatus) -> None:
    assert effective_status(own, OOS, UP, is_replication=False) is own
    assert effective_status(own, UP, OOS, is_replication=True) is own


@pytest.mark.parametrize("own", [UP, OOS])
def test_rule2_override_beats_up_or_out_of_service(own: InstanceStatus) -> None:
    assert effective_status(own, DOWN, UP, is_replication=False) is DOWN
    assert effective_status(own, OOS, None, is_replication=True) is OOS


def test_rule4_existing_lease_keeps_up_or_out_of_service_unless_replication() -> None:
    assert effective_status(UP, None, OOS, is_replication=False) is OOS
    assert effective_status(OOS, None, UP, is_replication=False) is UP
    assert effective_status(UP, None, OOS, is_replication=True) is UP
    # A lease holding DOWN/STARTING/UNKNOWN does not stick.
    assert effective_status(UP, None, STARTING, is_replication=False) is UP
    assert effective_status(UP, None, UNKNOWN, is_replication=False) is UP


def test_rule5_default_is_own_status() -> None:
    assert effective_status(UP, None, None, is_replication=False) is UP
    assert effective_status(OOS, None, None, is_replication=False) is OOS


# --- observable results through the registry ------------------------------------------------


def test_up_instance_cannot_take_itself_out_of_service_by_registering() -> None:
    registry, clock = make_registry()
    registry.register(instance(status=UP, dirty=1))
    clock.advance(1)
    registry.register(instance(status=OOS, dirty=2))
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.status is UP


def test_out_of_service_instance_cannot_put_itself_back_up_by_registering() -> None:
    registry, clock = make_registry()
    registry.register(instance(status=UP, dirty=1))
    registry.status_update("APP", "i-1", OOS, None)
    # Remove the override but leave the instance OUT_OF_SERVICE.
    registry.delete_status_override("APP", "i-1", OOS)
    assert registry.overrides() == {}
    clock.advance(1)
    registry.register(instance(status=UP, dirty=2))
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.status is OOS


def test_override_beats_up_registration_with_newer_dirty_timestamp() -> None:
    registry, clock = make_registry()
    registry.register(instance(status=UP, dirty=1))
    registry.status_update("APP", "i-1", OOS, None)
    clock.advance(1)
    registry.register(instance(status=UP, dirty=10_000))
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None
    assert (stored.status, stored.overridden_status) == (OOS, OOS)
    assert stored.last_dirty_timestamp == 10_000  # the newer registration's data was taken


@pytest.mark.parametrize("own", [STARTING, DOWN])
def test_starting_or_down_from_instance_beats_out_of_service_override(own: InstanceStatus) -> None:
    registry, clock = make_registry()
    registry.register(instance(status=UP, dirty=1))
    registry.status_update("APP", "i-1", OOS, None)
    clock.advance(1)
    registry.register(instance(status=own, dirty=2))
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None
    assert stored.status is own
    assert stored.overridden_status is OOS  # the override is kept for later


def test_replicated_registration_is_not_held_by_existing_lease() -> None:
    registry, clock = make_registry()
    registry.register(instance(status=UP, dirty=1))
    clock.advance(1)
    registry.register(instance(status=OOS, dirty=2), is_replication=True)
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.status is OOS


def test_registration_carrying_overridden_status_bootstraps_the_override_map() -> None:
    # How an override reaches a peer through registration and startup sync (§6.2 step 6).
    registry, _ = make_registry()
    registry.register(instance(status=UP, overridden=OOS), is_replication=True)
    assert registry.overrides() == {"i-1": OOS}
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.status is OOS


def test_bootstrap_does_not_replace_an_existing_override() -> None:
    registry, clock = make_registry()
    registry.register(instance(status=UP, dirty=1))
    registry.status_update("APP", "i-1", DOWN, None)
    clock.advance(1)
    registry.register(instance(status=UP, overridden=OOS, dirty=2), is_replication=True)
    assert registry.overrides() == {"i-1": DOWN}
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and (stored.status, stored.overridden_status) == (DOWN, DOWN)

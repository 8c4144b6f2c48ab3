"""Register, renew, cancel, status override, override deletion, metadata (protocol.md §6.2–6.8)."""

from __future__ import annotations

import pytest

from eureka.errors import BadInput
from eureka.model import ActionType, DataCenterInfo, InstanceStatus
from eureka.registry import RenewOutcome
from eureka.registry.summary import RecentLease
from tests.registry.support import START_MS, instance, make_registry

UP = InstanceStatus.UP
DOWN = InstanceStatus.DOWN
OOS = InstanceStatus.OUT_OF_SERVICE
UNKNOWN = InstanceStatus.UNKNOWN


# --- validation (§2.3 (1)) -------------------------------------------------------------------


def _validation_error(path_app: str, **changes: object) -> str:
    registry, _ = make_registry()
    info = instance("ORDER-SERVICE", "id-1")
    for name, value in changes.items():
        setattr(info, name, value)
    with pytest.raises(BadInput) as raised:
        registry.validate_registration(path_app, info)
    assert registry.revision == 0 and registry.instance_count() == 0
    return raised.value.reason


def test_validation_messages_in_java_order() -> None:
    assert (
        _validation_error("ORDER-SERVICE", instance_id=None, host_name="") == "Missing instanceId"
    )
    assert _validation_error("ORDER-SERVICE", host_name=None, ip_addr=None) == "Missing hostname"
    assert _validation_error("ORDER-SERVICE", ip_addr="", app="") == "Missing ip address"
    assert _validation_error("ORDER-SERVICE", app="") == "Missing appName"
    # The message the real server gave (fixture java/http/47).
    assert (
        _validation_error("other-app", data_center_info=None)
        == "Mismatched appName, expecting OTHER-APP but was ORDER-SERVICE"
    )
    assert _validation_error("ORDER-SERVICE", data_center_info=None) == "Missing dataCenterInfo"
    assert (
        _validation_error("ORDER-SERVICE", data_center_info=DataCenterInfo(name=""))
        == "Missing dataCenterInfo Name"
    )


def test_validation_missing_hostname_matches_real_server_message() -> None:
    from tests.conftest import JAVA_HTTP

    expected = (JAVA_HTTP / "46-register-missing-hostname.resp.json").read_text()
    assert _validation_error("ORDER-SERVICE", host_name=None) == expected


def test_path_app_is_compared_upper_cased() -> None:
    registry, _ = make_registry()
    registry.validate_registration("order-service", instance("ORDER-SERVICE", "id-1"))


def test_amazon_instance_id_is_back_filled_with_effective_id() -> None:
    registry, _ = make_registry()
    info = instance("PAY", "i-123")
    info.data_center_info = DataCenterInfo(name="Amazon", metadata={"ami-id": "ami-1"})
    registry.validate_registration("PAY", info)
    assert info.data_center_info is not None and info.data_center_info.metadata is not None
    assert info.data_center_info.metadata["instance-id"] == "i-123"


def test_amazon_without_id_rejected_when_experimental_validation_on() -> None:
    registry, _ = make_registry(validate_data_center_info_id=True)
    info = instance("PAY", "i-123")
    info.data_center_info = DataCenterInfo(name="Amazon", metadata={})
    with pytest.raises(BadInput) as raised:
        registry.validate_registration("PAY", info)
    assert raised.value.reason == (
        "DataCenterInfo of type class com.netflix.appinfo.AmazonInfo must contain a valid id"
    )
    assert info.data_center_info.metadata == {}


# --- register (§6.2) -------------------------------------------------------------------------


def test_register_stores_added_instance_with_server_times() -> None:
    registry, clock = make_registry()
    clock.advance(5)
    now = clock.now_ms()
    registry.register(instance(status=UP, dirty=1234))
    stored = registry.get_instance("app", "i-1")
    assert stored is not None
    assert stored.action_type is ActionType.ADDED
    assert stored.last_updated_timestamp == now
    assert stored.last_dirty_timestamp == 1234
    assert stored.lease_info is not None
    assert stored.lease_info.registration_timestamp == now
    assert stored.lease_info.last_renewal_timestamp == now
    assert stored.lease_info.service_up_timestamp == now
    assert stored.lease_info.eviction_timestamp == 0
    assert (stored.lease_info.renewal_interval_in_secs, stored.lease_info.duration_in_secs) == (
        30,
        90,
    )
    assert registry.revision == 1 and registry.instance_count() == 1
    assert list(registry.recently_registered) == [RecentLease(now, "APP", "i-1")]


def test_register_zero_dirty_timestamp_becomes_now() -> None:
    registry, clock = make_registry()
    registry.register(instance(dirty=0))
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.last_dirty_timestamp == clock.now_ms()


def test_register_starting_instance_is_not_service_up() -> None:
    registry, _ = make_registry()
    registry.register(instance(status=InstanceStatus.STARTING))
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.lease_info is not None
    assert stored.lease_info.service_up_timestamp == 0


def test_reregistration_with_older_dirty_timestamp_keeps_servers_copy_with_new_lease() -> None:
    registry, clock = make_registry()
    registry.register(instance(dirty=2000, metadata={"v": "server"}))
    clock.advance(10)
    registry.register(instance(dirty=1000, metadata={"v": "stale"}))
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.lease_info is not None
    assert stored.metadata == {"v": "server"}
    assert stored.lease_info.registration_timestamp == clock.now_ms()
    assert registry.instance_count() == 1


def test_reregistration_with_equal_dirty_timestamp_takes_incoming_and_keeps_service_up() -> None:
    registry, clock = make_registry()
    registry.register(instance(dirty=2000, metadata={"v": "old"}))
    first_up = clock.now_ms()
    clock.advance(10)
    registry.register(instance(dirty=2000, metadata={"v": "new"}))
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.lease_info is not None
    assert stored.metadata == {"v": "new"}
    assert stored.lease_info.service_up_timestamp == first_up


def test_register_takes_lease_duration_from_instance() -> None:
    registry, clock = make_registry(enable_self_preservation=False)
    registry.register(instance(duration=10))
    clock.advance(10.001)
    assert registry.get_instance("APP", "i-1") is None  # expired: 404 while expiration enabled


# --- renew (§6.4, §2.3 (2)) ------------------------------------------------------------------


def test_renew_unknown_is_not_found() -> None:
    registry, _ = make_registry()
    assert registry.renew("APP", "nope").outcome is RenewOutcome.NOT_FOUND
    registry.register(instance())
    assert registry.renew("OTHER", "i-1").outcome is RenewOutcome.NOT_FOUND
    assert registry.renew("APP", "nope").renewed is False


def test_renew_ok_updates_last_renewal() -> None:
    registry, clock = make_registry()
    registry.register(instance())
    clock.advance(30)
    result = registry.renew("app", "i-1")
    assert result == type(result)(RenewOutcome.OK, None, renewed=True)
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.lease_info is not None
    assert stored.lease_info.last_renewal_timestamp == clock.now_ms()
    assert registry.revision == 1  # renewals are not changes


def test_renew_dirty_timestamp_rules() -> None:
    registry, _ = make_registry()
    registry.register(instance(dirty=5000))
    assert registry.renew("APP", "i-1", last_dirty_timestamp=5000).outcome is RenewOutcome.OK
    newer = registry.renew("APP", "i-1", last_dirty_timestamp=9999)
    assert (newer.outcome, newer.renewed) == (RenewOutcome.NOT_FOUND, True)
    assert registry.renew("APP", "i-1", last_dirty_timestamp=1).outcome is RenewOutcome.OK
    conflict = registry.renew("APP", "i-1", is_replication=True, last_dirty_timestamp=1)
    assert conflict.outcome is RenewOutcome.CONFLICT
    assert conflict.instance is not None and conflict.instance.last_dirty_timestamp == 5000
    assert conflict.instance.lease_info is not None  # decorated, as the 409 body
    conflict.instance.status = DOWN  # a copy: the registry is untouched
    assert registry.status_counts() == {UP: 1}


def test_renew_dirty_timestamp_ignored_when_sync_disabled() -> None:
    registry, _ = make_registry(sync_when_timestamp_differs=False)
    registry.register(instance(dirty=5000))
    assert registry.renew("APP", "i-1", last_dirty_timestamp=9999).outcome is RenewOutcome.OK


def test_replicated_renew_with_newer_timestamp_stores_peers_override() -> None:
    registry, _ = make_registry()
    registry.register(instance(dirty=5000))
    revision = registry.revision
    result = registry.renew(
        "APP", "i-1", is_replication=True, last_dirty_timestamp=6000, overridden_status=OOS
    )
    assert result.outcome is RenewOutcome.NOT_FOUND
    assert registry.overrides() == {"i-1": OOS}
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None
    assert (stored.status, stored.overridden_status) == (UP, OOS)
    assert registry.revision == revision + 1  # overriddenStatus is on the wire: one MODIFIED


@pytest.mark.parametrize(
    ("is_replication", "overridden"), [(False, OOS), (True, UNKNOWN), (True, None)]
)
def test_renew_newer_timestamp_stores_no_override_otherwise(
    is_replication: bool, overridden: InstanceStatus | None
) -> None:
    registry, _ = make_registry()
    registry.register(instance(dirty=5000))
    registry.renew(
        "APP",
        "i-1",
        is_replication=is_replication,
        last_dirty_timestamp=6000,
        overridden_status=overridden,
    )
    assert registry.overrides() == {}


def test_renew_applies_rules_and_records_the_change() -> None:
    # §12.14: Java changes the status silently; we record a MODIFIED change.
    registry, _ = make_registry()
    registry.register(instance(dirty=5000))
    registry.store_overridden_status_if_required("APP", "i-1", OOS)
    revision = registry.revision
    assert registry.renew("APP", "i-1").outcome is RenewOutcome.OK
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None
    assert (stored.status, stored.action_type) == (OOS, ActionType.MODIFIED)
    assert registry.revision == revision + 1
    assert registry.apps_hashcode() == "OUT_OF_SERVICE_1_"


def test_renew_revives_an_expired_but_not_evicted_lease() -> None:
    registry, clock = make_registry(enable_self_preservation=False)
    registry.register(instance())
    clock.advance(120)
    assert registry.get_instance("APP", "i-1") is None
    assert registry.renew("APP", "i-1").outcome is RenewOutcome.OK
    assert registry.get_instance("APP", "i-1") is not None


# --- cancel (§6.5) ---------------------------------------------------------------------------


def test_cancel_removes_and_records_deleted() -> None:
    registry, clock = make_registry()
    registry.register(instance())
    registry.status_update("APP", "i-1", OOS, None)
    clock.advance(1)
    assert registry.cancel("app", "i-1") is True
    assert registry.get_instance("APP", "i-1") is None
    assert registry.get_application("APP") is None
    assert registry.overrides() == {}
    assert registry.instance_count() == 0
    assert registry.apps_hashcode() == ""
    assert list(registry.recently_cancelled) == [RecentLease(clock.now_ms(), "APP", "i-1")]
    delta = registry.delta_view()
    deleted = delta.get_application("APP")
    assert deleted is not None
    entry = deleted.get_instance("i-1")
    assert entry is not None and entry.lease_info is not None
    assert entry.action_type is ActionType.DELETED
    assert entry.lease_info.eviction_timestamp == clock.now_ms()
    assert entry.last_updated_timestamp == clock.now_ms()
    assert registry.cancel("APP", "i-1") is False


# --- status override (§6.6) ------------------------------------------------------------------


def test_status_update_unknown_instance_is_false() -> None:
    registry, _ = make_registry()
    assert registry.status_update("APP", "i-1", OOS, None) is False
    assert registry.delete_status_override("APP", "i-1") is False
    assert registry.update_metadata("APP", "i-1", {"a": "b"}) is False
    assert registry.revision == 0


def test_status_update_records_override_and_modified() -> None:
    registry, clock = make_registry()
    registry.register(instance(dirty=5000))
    clock.advance(7)
    assert registry.status_update("APP", "i-1", OOS, 6000) is True
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.lease_info is not None
    assert (stored.status, stored.overridden_status) == (OOS, OOS)
    assert stored.action_type is ActionType.MODIFIED
    assert stored.last_dirty_timestamp == 6000
    assert stored.last_updated_timestamp == clock.now_ms()
    assert stored.lease_info.last_renewal_timestamp == clock.now_ms()  # the lease was renewed
    assert registry.overrides() == {"i-1": OOS}
    assert registry.revision == 2


def test_status_update_keeps_newer_stored_dirty_timestamp() -> None:
    registry, _ = make_registry()
    registry.register(instance(dirty=5000))
    registry.status_update("APP", "i-1", OOS, 10)
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.last_dirty_timestamp == 5000


def test_status_update_to_current_status_records_nothing() -> None:
    registry, _ = make_registry()
    registry.register(instance())
    assert registry.status_update("APP", "i-1", UP, None) is True
    assert registry.overrides() == {}
    assert registry.revision == 1


def test_status_update_to_up_marks_service_up() -> None:
    registry, clock = make_registry()
    registry.register(instance(status=InstanceStatus.STARTING))
    clock.advance(3)
    registry.status_update("APP", "i-1", UP, None)
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.lease_info is not None
    assert stored.lease_info.service_up_timestamp == clock.now_ms()


def test_override_survives_renewals_and_reregistration() -> None:
    registry, clock = make_registry()
    registry.register(instance(dirty=1))
    registry.status_update("APP", "i-1", OOS, None)
    for _ in range(3):
        clock.advance(30)
        assert registry.renew("APP", "i-1").outcome is RenewOutcome.OK
    clock.advance(1)
    registry.register(instance(status=UP, dirty=2))
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and (stored.status, stored.overridden_status) == (OOS, OOS)


def test_override_expires_after_an_hour_without_access() -> None:
    registry, clock = make_registry()
    registry.register(instance())
    registry.status_update("APP", "i-1", OOS, None)
    clock.advance(3599)
    assert registry.overrides() == {"i-1": OOS}  # the dump does not count as access
    clock.advance(2)
    assert registry.overrides() == {}


def test_renewals_keep_the_override_alive() -> None:
    registry, clock = make_registry()
    registry.register(instance())
    registry.status_update("APP", "i-1", OOS, None)
    for _ in range(5):
        clock.advance(1800)
        registry.renew("APP", "i-1")
    assert registry.overrides() == {"i-1": OOS}


def test_delete_override_then_renew_is_not_found_until_reregistration() -> None:
    registry, clock = make_registry()
    registry.register(instance(dirty=1))
    registry.status_update("APP", "i-1", OOS, None)
    clock.advance(1)
    assert registry.delete_status_override("APP", "i-1", last_dirty_timestamp=3) is True
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None
    assert (stored.status, stored.overridden_status) == (UNKNOWN, UNKNOWN)
    assert stored.action_type is ActionType.MODIFIED
    assert stored.last_dirty_timestamp == 3
    assert registry.overrides() == {}
    assert registry.renew("APP", "i-1").outcome is RenewOutcome.NOT_FOUND
    # The client re-registers with its real status; rule 4 does not hold UNKNOWN.
    registry.register(instance(status=UP, dirty=4))
    assert registry.renew("APP", "i-1").outcome is RenewOutcome.OK
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.status is UP


def test_delete_override_with_value_sets_that_status() -> None:
    registry, _ = make_registry()
    registry.register(instance())
    registry.status_update("APP", "i-1", OOS, None)
    registry.delete_status_override("APP", "i-1", UP)
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and (stored.status, stored.overridden_status) == (UP, UNKNOWN)
    assert registry.renew("APP", "i-1").outcome is RenewOutcome.OK


def test_delete_override_without_override_changes_nothing() -> None:
    registry, _ = make_registry()
    registry.register(instance())
    assert registry.delete_status_override("APP", "i-1") is True
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.status is UP
    assert registry.revision == 1


def test_store_overridden_status_if_required_is_idempotent() -> None:
    registry, _ = make_registry()
    registry.register(instance())
    registry.store_overridden_status_if_required("APP", "i-1", OOS)
    revision = registry.revision
    registry.store_overridden_status_if_required("APP", "i-1", OOS)
    assert registry.revision == revision
    assert registry.override_of("i-1") is OOS


# --- metadata (§6.7) -------------------------------------------------------------------------


def test_metadata_update_merges_and_reregisters_as_added() -> None:
    registry, clock = make_registry()
    registry.register(instance(dirty=77, metadata={"a": "1", "b": "2"}))
    registry.status_update("APP", "i-1", OOS, None)
    clock.advance(9)
    assert registry.update_metadata("app", "i-1", {"b": "3", "zone": "z1"}) is True
    stored = registry.get_instance("APP", "i-1")
    assert stored is not None and stored.lease_info is not None
    assert stored.metadata == {"a": "1", "b": "3", "zone": "z1"}
    assert stored.action_type is ActionType.ADDED
    assert stored.lease_info.registration_timestamp == clock.now_ms()  # a fresh lease
    assert stored.last_dirty_timestamp == 77
    assert stored.status is OOS  # rule 4 keeps the server's status
    assert registry.revision == 3
    assert registry.instance_count() == 1
    assert registry.status_counts() == {OOS: 1}


# --- reads (§6.8) ----------------------------------------------------------------------------


def test_reads_return_copies() -> None:
    registry, _ = make_registry()
    registry.register(instance(metadata={"k": "v"}))
    copy = registry.get_instance("APP", "i-1")
    assert copy is not None
    copy.metadata["k"] = "changed"
    copy.status = DOWN
    again = registry.get_instance("APP", "i-1")
    assert again is not None and again.metadata == {"k": "v"} and again.status is UP


def test_expired_instance_is_absent_for_lookups_only_while_expiration_enabled() -> None:
    registry, clock = make_registry()  # self-preservation on: expiration disabled at start
    registry.register(instance())
    clock.advance(200)
    assert registry.is_lease_expiration_enabled() is False
    assert registry.get_instance("APP", "i-1") is not None
    assert registry.find_instance("i-1") is not None

    registry, clock = make_registry(enable_self_preservation=False)
    registry.register(instance())
    clock.advance(200)
    assert registry.get_instance("APP", "i-1") is None
    assert registry.find_instance("i-1") is None
    assert registry.status_update("APP", "i-1", OOS, None) is False
    # Full, application and VIP views include expired-but-not-evicted leases (§6.8).
    assert registry.full_view().instance_count() == 1
    assert registry.get_application("APP") is not None
    assert registry.vip_view("app").instance_count() == 1


def test_find_instance_scans_applications() -> None:
    registry, _ = make_registry()
    registry.register(instance("A", "x-1"))
    registry.register(instance("B", "y-1"))
    found = registry.find_instance("y-1")
    assert found is not None and found.app == "B"
    assert registry.find_instance("z") is None


def test_coordinating_flag_marks_own_instance_only() -> None:
    from eureka.clock import ManualClock
    from eureka.registry import Registry, RegistryConfig

    registry = Registry(RegistryConfig(), ManualClock(START_MS), own_instance_id="me")
    registry.register(instance("EUREKA", "me"))
    registry.register(instance("EUREKA", "peer"))
    application = registry.get_application("EUREKA")
    assert application is not None
    flags = {i.id: i.is_coordinating_discovery_server for i in application}
    assert flags == {"me": True, "peer": False}


def test_local_instances_are_the_stored_holders() -> None:
    registry, _ = make_registry()
    info = instance()
    registry.register(info)
    assert list(registry.local_instances()) == [info]
    assert next(registry.local_instances()) is info


def test_recent_lists_are_bounded() -> None:
    registry, _ = make_registry(recent_list_size=3)
    for n in range(5):
        registry.register(instance(instance_id=f"i-{n}"))
    assert [entry.id for entry in registry.recently_registered] == ["i-2", "i-3", "i-4"]

"""Operator reads of the registry: application summaries, instance pages, search, tallies."""

from __future__ import annotations

from eureka.model import DataCenterInfo, InstanceStatus
from eureka.registry.summary import AppSummary
from tests.registry.support import instance, make_registry

UP, DOWN, OOS, STARTING = (
    InstanceStatus.UP,
    InstanceStatus.DOWN,
    InstanceStatus.OUT_OF_SERVICE,
    InstanceStatus.STARTING,
)


def test_application_summaries_are_sorted_with_status_and_zone_counts() -> None:
    registry, _ = make_registry()
    registry.register(instance("ZETA", "z-1", metadata={"zone": "b"}))
    registry.register(instance("ALPHA", "a-1", status=DOWN, metadata={"zone": "a"}))
    registry.register(instance("ALPHA", "a-2", metadata={"zone": "a"}))
    registry.register(instance("ALPHA", "a-3", status=STARTING))
    alpha, zeta = registry.application_summaries()
    assert (alpha.name, zeta.name) == ("ALPHA", "ZETA")
    assert alpha.instances == 3 and alpha.up == 1
    # UP first, then the statuses that need attention, in STATUS_ORDER.
    assert alpha.status_counts == ((UP, 1), (DOWN, 1), (STARTING, 1))
    assert alpha.zones == (("a", 2),)
    assert zeta.zones == (("b", 1),)


def test_an_application_summary_is_reused_until_its_revision_moves() -> None:
    registry, _ = make_registry()
    registry.register(instance("A", "a-1"))
    registry.register(instance("B", "b-1"))
    first_a, first_b = registry.application_summaries()
    registry.status_update("B", "b-1", OOS, None)
    again_a, again_b = registry.application_summaries()
    assert again_a is first_a, "an unchanged application is not walked again"
    assert again_b is not first_b and again_b.status_counts == ((OOS, 1),)
    registry.cancel("A", "a-1")
    assert [s.name for s in registry.application_summaries()] == ["B"]


def test_renewals_do_not_change_a_summary() -> None:
    registry, clock = make_registry()
    registry.register(instance("A", "a-1"))
    (before,) = registry.application_summaries()
    clock.advance(30)
    registry.renew("A", "a-1")
    assert registry.application_summaries() == [before]


def test_instances_of_pages_sorted_by_status_then_id() -> None:
    registry, _ = make_registry()
    for n in (3, 1, 2):
        registry.register(instance("APP", f"up-{n}"))
    registry.register(instance("APP", "down-1", status=DOWN))
    registry.register(instance("APP", "oos-1", status=OOS))
    first = registry.instances_of("app", 0, 3)
    assert first is not None
    assert [i.id for i in first.instances] == ["up-1", "up-2", "up-3"]
    assert (first.app, first.total, first.offset) == ("APP", 5, 0)
    second = registry.instances_of("APP", 3, 3)
    assert second is not None
    assert [(i.id, i.status) for i in second.instances] == [("down-1", DOWN), ("oos-1", OOS)]
    assert registry.instances_of("APP", 5, 3) is not None
    assert registry.instances_of("NOPE") is None
    # Every instance is reachable, whatever the page size.
    seen = []
    offset = 0
    while page := registry.instances_of("APP", offset, 2):
        if not page.instances:
            break
        seen += [i.id for i in page.instances]
        offset += 2
    assert sorted(seen) == ["down-1", "oos-1", "up-1", "up-2", "up-3"]


def test_instances_of_filters_by_status_and_by_text() -> None:
    registry, _ = make_registry()
    registry.register(instance("APP", "web-1"))
    registry.register(instance("APP", "web-2", status=DOWN))
    registry.register(instance("APP", "db-1", status=DOWN))
    down = registry.instances_of("APP", status=DOWN)
    assert down is not None and [i.id for i in down.instances] == ["db-1", "web-2"]
    assert down.total == 2
    web = registry.instances_of("APP", contains="WEB")
    assert web is not None and [i.id for i in web.instances] == ["web-1", "web-2"]
    by_host = registry.instances_of("APP", contains="db-1.example")
    assert by_host is not None and [i.id for i in by_host.instances] == ["db-1"]


def test_instance_summary_shows_where_it_is_and_its_lease() -> None:
    registry, clock = make_registry()
    info = instance("APP", "i-1", metadata={"zone": "z1", "version": "2"})
    info.status_page_url = "http://10.0.0.1:8080/info"
    info.secure_port_enabled = True
    registry.register(info)
    registered = clock.now_ms()
    clock.advance(10)
    registry.renew("APP", "i-1")
    page = registry.instances_of("APP")
    assert page is not None
    (summary,) = page.instances
    assert (summary.host_name, summary.ip_addr, summary.port, summary.secure_port) == (
        "i-1.example",
        "10.0.0.1",
        7001,
        7002,
    )
    assert summary.zone == "z1"
    assert summary.metadata == (("version", "2"), ("zone", "z1"))
    assert summary.status_page_url == "http://10.0.0.1:8080/info"
    assert (summary.registration_ms, summary.last_renewal_ms) == (registered, registered + 10_000)
    assert summary.service_up_ms == registered
    assert summary.expired is False
    clock.advance(91)
    page = registry.instances_of("APP")
    assert page is not None and page.instances[0].expired is True
    assert registry.expired_lease_count() == 1


def test_the_last_renewal_is_honest_under_the_double_count_quirk() -> None:
    registry, clock = make_registry(lease_expiry_double_count=True)
    registry.register(instance("APP", "i-1"))
    clock.advance(5)
    registry.renew("APP", "i-1")
    page = registry.instances_of("APP")
    assert page is not None and page.instances[0].last_renewal_ms == clock.now_ms()


def test_aws_availability_zone_is_the_zone_without_spring_metadata() -> None:
    registry, _ = make_registry()
    info = instance("APP", "i-1")
    info.data_center_info = DataCenterInfo(
        "Amazon", metadata={"instance-id": "i-1", "availability-zone": "us-east-1a"}
    )
    registry.register(info)
    (summary,) = registry.application_summaries()
    assert summary.zones == (("us-east-1a", 1),)


def test_find_applications_matches_names_and_instances() -> None:
    registry, _ = make_registry()
    registry.register(instance("ORDERS", "o-1"))
    registry.register(instance("ORDERS", "o-2"))
    registry.register(instance("BILLING", "bill-orders-1"))
    registry.register(instance("BILLING", "bill-2"))
    # ORDERS by its name (all its instances), BILLING by one instance id.
    assert registry.find_applications("orders") == {"ORDERS": 2, "BILLING": 1}
    assert registry.find_applications("nothing") == {}


def test_stats_count_operations_by_origin() -> None:
    registry, clock = make_registry(enable_self_preservation=False)
    registry.register(instance("APP", "i-1"))
    registry.register(instance("APP", "i-2"), is_replication=True)
    registry.renew("APP", "i-1")
    registry.renew("APP", "i-2", is_replication=True)
    registry.renew("APP", "missing")
    registry.status_update("APP", "i-1", OOS, None)
    registry.delete_status_override("APP", "i-1")
    registry.cancel("APP", "i-2", is_replication=True)
    registry.cancel("APP", "missing")
    clock.advance(200)
    evicted = registry.evict()
    stats = registry.stats()
    assert (stats.registrations, stats.replicated_registrations) == (2, 1)
    assert (stats.renewals, stats.replicated_renewals, stats.renewals_not_found) == (2, 1, 1)
    assert (stats.status_updates, stats.override_deletions) == (1, 1)
    assert (stats.cancels, stats.replicated_cancels, stats.cancels_not_found) == (1, 1, 1)
    assert stats.evictions == len(evicted) == 1


def test_summaries_hold_no_reference_to_the_registry_state() -> None:
    registry, _ = make_registry()
    registry.register(instance("APP", "i-1", metadata={"k": "v"}))
    page = registry.instances_of("APP")
    (summary,) = registry.application_summaries()
    assert isinstance(summary, AppSummary)
    registry.update_metadata("APP", "i-1", {"k": "changed"})
    assert page is not None and page.instances[0].metadata == (("k", "v"),)

"""Stored instances share equal values (memory) and nothing a reader sees changes."""

from __future__ import annotations

from eureka.codec import json as json_codec
from eureka.model import AMAZON_CLASS, DataCenterInfo, InstanceInfo
from tests.registry.support import instance, make_registry


def _decoded(app: str, instance_id: str) -> InstanceInfo:
    """A registration as the server gets it: decoded from the wire, every value a new object."""
    original = instance(app, instance_id, metadata={"zone": "zone-a", "management.port": "8081"})
    original.port = 8080
    original.ip_addr = original.host_name
    return json_codec.decode_instance(json_codec.encode_instance(original))


def test_equal_values_of_two_registrations_are_one_object() -> None:
    registry, _ = make_registry()
    for iid in ("a-1", "a-2"):
        decoded = _decoded("orders", iid)
        registry.validate_registration("ORDERS", decoded)
        registry.register(decoded)
    one, two = (registry.stored_instance("ORDERS", iid) for iid in ("a-1", "a-2"))
    assert one is not None and two is not None
    assert one.app is two.app and one.vip_address is two.vip_address
    assert one.port is two.port
    assert one.data_center_info is two.data_center_info
    assert one.metadata is two.metadata
    assert one.ip_addr is one.host_name
    # Readers get what was registered, and copies that share nothing mutable.
    copy = registry.get_instance("ORDERS", "a-1")
    assert copy is not None
    assert copy.metadata == {"zone": "zone-a", "management.port": "8081"}
    assert copy.data_center_info == one.data_center_info
    assert copy.data_center_info is not one.data_center_info


def test_a_metadata_update_changes_one_instance_only() -> None:
    registry, _ = make_registry()
    for iid in ("a-1", "a-2"):
        registry.register(_decoded("orders", iid))
    assert registry.update_metadata("ORDERS", "a-1", {"zone": "zone-b"})
    one, two = (registry.get_instance("ORDERS", iid) for iid in ("a-1", "a-2"))
    assert one is not None and two is not None
    assert (one.metadata["zone"], two.metadata["zone"]) == ("zone-b", "zone-a")


def test_amazon_data_center_infos_are_never_shared() -> None:
    registry, _ = make_registry()
    held = []
    for iid in ("i-1", "i-2"):
        info = instance("orders", iid)
        info.data_center_info = DataCenterInfo("Amazon", AMAZON_CLASS, {"instance-id": iid})
        registry.register(info)
        stored = registry.stored_instance("ORDERS", iid)
        assert stored is not None
        held.append(stored.data_center_info)
    assert held[0] is not held[1]
    assert held[0] is not None and held[0].metadata == {"instance-id": "i-1"}

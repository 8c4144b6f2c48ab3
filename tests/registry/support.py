"""Builders shared by the registry tests."""

from __future__ import annotations

from eureka.clock import ManualClock
from eureka.model import DataCenterInfo, InstanceInfo, InstanceStatus, LeaseInfo
from eureka.registry import Registry, RegistryConfig

START_MS = 1_754_500_000_000


def instance(
    app: str = "APP",
    instance_id: str = "i-1",
    *,
    status: InstanceStatus = InstanceStatus.UP,
    overridden: InstanceStatus = InstanceStatus.UNKNOWN,
    dirty: int = 1_000,
    duration: int = 90,
    vip: str | None = None,
    svip: str | None = None,
    metadata: dict[str, str] | None = None,
) -> InstanceInfo:
    """A registration as a client sends it (lease timestamps 0, no actionType)."""
    return InstanceInfo(
        app=app,
        instance_id=instance_id,
        host_name=f"{instance_id}.example",
        ip_addr="10.0.0.1",
        status=status,
        overridden_status=overridden,
        data_center_info=DataCenterInfo(),
        lease_info=LeaseInfo(renewal_interval_in_secs=30, duration_in_secs=duration),
        metadata=dict(metadata or {}),
        vip_address=vip if vip is not None else app.lower(),
        secure_vip_address=svip,
        last_dirty_timestamp=dirty,
    )


def make_registry(**config: object) -> tuple[Registry, ManualClock]:
    clock = ManualClock(START_MS)
    return Registry(RegistryConfig(**config), clock), clock  # type: ignore[arg-type]

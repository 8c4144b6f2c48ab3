"""`max-time-for-replication` bounds how long cancel and status tasks wait for a peer (§8.1)."""

from __future__ import annotations

from typing import Any

from eureka.clock import ManualClock
from eureka.model import DataCenterInfo, InstanceInfo
from eureka.registry import Registry
from eureka.replication.protocol import ReplicationTask
from eureka.server.cluster import PeerCluster
from eureka.server.config import load_config


class _Recorder:
    def __init__(self) -> None:
        self.tasks: list[ReplicationTask] = []

    def submit(self, task: ReplicationTask) -> None:
        self.tasks.append(task)


def test_cancel_and_status_tasks_expire_after_max_time_for_replication() -> None:
    config = load_config(environ={}, overrides={"eureka.server.max-time-for-replication": "1234"})
    clock = ManualClock()
    registry = Registry(config.registry, clock)
    registry.register(
        InstanceInfo(app="A", instance_id="a-1", host_name="h", data_center_info=DataCenterInfo())
    )
    cluster = PeerCluster(config, registry, clock)
    recorder = _Recorder()
    nodes: dict[str, Any] = {"http://peer/eureka/": recorder}
    cluster.nodes = nodes
    cluster.status_update("A", "a-1")
    cluster.delete_status_override("A", "a-1")
    cluster.cancel("A", "a-1")
    assert [t.expiry_ms for t in recorder.tasks] == [1234, 1234, 1234]

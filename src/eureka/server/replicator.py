"""The seam between the HTTP layer and peer replication.

After a local, non-replicated operation succeeds the HTTP layer tells the replicator, which turns it
into per-peer tasks (protocol.md §8.1). A single node uses `NoPeers`.
"""

from __future__ import annotations

from typing import Protocol

from eureka.model import InstanceInfo
from eureka.replication.dispatcher import DispatcherStats

__all__ = ["NoPeers", "Replicator"]


class Replicator(Protocol):
    def register(self, info: InstanceInfo) -> None: ...

    def heartbeat(self, app: str, instance_id: str) -> None: ...

    def cancel(self, app: str, instance_id: str) -> None: ...

    def status_update(self, app: str, instance_id: str) -> None: ...

    def delete_status_override(self, app: str, instance_id: str) -> None: ...

    def peer_stats(self) -> dict[str, DispatcherStats]:
        """Each peer's replication tallies, by normalised peer URL."""
        ...


class NoPeers:
    def register(self, info: InstanceInfo) -> None:
        pass

    def heartbeat(self, app: str, instance_id: str) -> None:
        pass

    def cancel(self, app: str, instance_id: str) -> None:
        pass

    def status_update(self, app: str, instance_id: str) -> None:
        pass

    def delete_status_override(self, app: str, instance_id: str) -> None:
        pass

    def peer_stats(self) -> dict[str, DispatcherStats]:
        return {}

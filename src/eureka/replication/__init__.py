"""Peer replication (protocol.md §8): the pure parts, re-exported here.

* `protocol` — the batch wire format, the task builders of the sender and `apply_batch`, the
  receiver's per-item processing;
* `dispatcher` — the per-peer batching dispatcher (dedup, capacity, batching, retries, pauses);
* `peers` — peer URLs, "is this me", peer-list differences.

The asyncio/httpx driver that ships batches is `eureka.replication.node.PeerNode` (not imported
here, so that the pure parts load without an event loop or HTTP client).
"""

from __future__ import annotations

from .dispatcher import (
    AdoptPeerCopy,
    Batch,
    BatchOutcome,
    Congestion,
    DispatcherConfig,
    DispatcherStats,
    FollowUp,
    PermanentFailure,
    ReRegister,
    Success,
    TaskDispatcher,
    TransientFailure,
)
from .peers import PeerSet, PeerUrl, SelfIdentity, local_addresses, normalize_peer_url
from .protocol import (
    Action,
    ReplicationInstance,
    ReplicationItemResult,
    ReplicationTask,
    apply_batch,
    cancel_task,
    decode_batch,
    decode_batch_response,
    delete_status_override_task,
    encode_batch,
    encode_batch_response,
    heartbeat_task,
    register_task,
    status_update_task,
    task_id,
)

__all__ = [
    "Action",
    "AdoptPeerCopy",
    "Batch",
    "BatchOutcome",
    "Congestion",
    "DispatcherConfig",
    "DispatcherStats",
    "FollowUp",
    "PeerSet",
    "PeerUrl",
    "PermanentFailure",
    "ReRegister",
    "ReplicationInstance",
    "ReplicationItemResult",
    "ReplicationTask",
    "SelfIdentity",
    "Success",
    "TaskDispatcher",
    "TransientFailure",
    "apply_batch",
    "cancel_task",
    "decode_batch",
    "decode_batch_response",
    "delete_status_override_task",
    "encode_batch",
    "encode_batch_response",
    "heartbeat_task",
    "local_addresses",
    "normalize_peer_url",
    "register_task",
    "status_update_task",
    "task_id",
]

"""The peer-aware layer of a node: replication to peers, start-up sync, peer-list refresh.

`PeerCluster` is the `Replicator` the HTTP layer notifies after every local, non-replicated
change (protocol.md §8.1); it turns each change into one task per peer `PeerNode`, whose
dispatcher batches and retries them. Follow-ups from the peers' per-item answers repair state:
a heartbeat 404 re-registers that instance on that peer, a 409 adopts the peer's newer copy
(§8.5).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable

import httpx

from eureka.clock import Clock
from eureka.codec import json as json_codec
from eureka.errors import BadInput
from eureka.model import InstanceInfo, InstanceStatus
from eureka.registry import Registry
from eureka.replication.dispatcher import (
    AdoptPeerCopy,
    DispatcherConfig,
    DispatcherStats,
    FollowUp,
    ReRegister,
    TaskDispatcher,
)
from eureka.replication.node import PeerNode, peer_http_client
from eureka.replication.peers import PeerSet, SelfIdentity, local_addresses, normalize_peer_url
from eureka.replication.protocol import (
    cancel_task,
    delete_status_override_task,
    heartbeat_task,
    register_task,
    status_update_task,
)
from eureka.server.config import ServerConfig
from eureka.tls import client_verify
from eureka.urls import redact_url

__all__ = ["PeerCluster", "SyncResult"]

log = logging.getLogger("eureka.cluster")

SYNC_HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
    "DiscoveryIdentity-Name": "DefaultServer",
    "DiscoveryIdentity-Version": "1.0",
}


# A region list naming no configured region asks a peer (Java's or ours) for its *local*
# registry only. Without it, a peer with transparent fallback would hand us its remote regions'
# instances, which we would then register as our own (Java's sync has that flaw; its filter for
# it is a no-op, protocol.md §6.12).
LOCAL_ONLY = {"regions": "-"}


@dataclasses.dataclass(frozen=True, slots=True)
class SyncResult:
    """What the start-up sync saw: how much it copied, and whether what it saw is the truth."""

    copied: int
    # Peers that answered the fetch at all (200, or 403 because they are starting too).
    answered: int
    unreachable: tuple[str, ...]

    @property
    def authoritative(self) -> bool:
        """An empty copy is the truth when a peer answered: the cluster really is empty (or
        every node is starting at once). Only when no peer answered do we not know."""
        return self.copied > 0 or self.answered > 0


class PeerCluster:
    def __init__(self, config: ServerConfig, registry: Registry, clock: Clock) -> None:
        self.config = config
        self.registry = registry
        self.clock = clock
        self.nodes: dict[str, PeerNode] = {}
        self._identity: SelfIdentity | None = None
        self._peers: PeerSet | None = None
        self._http: httpx.AsyncClient | None = None
        self._refresher: asyncio.Task[None] | None = None
        self.sync_result: SyncResult | None = None
        self._mine: set[str] = set()
        # Told after this layer changes the registry (start-up sync, adopted peer copies), so
        # that held watches see those changes: the node wires the watch hub here.
        self.on_change: Callable[[], None] = _nothing

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client for talking to peers (after `start`): anti-entropy shares it."""
        assert self._http is not None, "PeerCluster.start() creates the peer HTTP client"
        return self._http

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._http = peer_http_client(
            connect_timeout_ms=self.config.peer_node_connect_timeout_ms,
            read_timeout_ms=self.config.peer_node_read_timeout_ms,
            # One trust setting for replication, the start-up sync and anti-entropy.
            verify=client_verify(self.config.tls_trust_store),
        )
        # Resolving names and listing interfaces blocks: keep it off the event loop.
        addresses = await asyncio.to_thread(local_addresses)
        self._identity = SelfIdentity(
            my_port=self.config.port, my_url=self.config.my_url, local_ips=addresses
        )
        self._peers = PeerSet(lambda peer: peer.url in self._mine)
        await self.refresh_peers()
        interval = self.config.peer_eureka_nodes_update_interval_ms / 1000
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_loop(interval))

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        for node in self.nodes.values():
            await node.close()
        self.nodes.clear()
        if self._http is not None:
            await self._http.aclose()

    async def refresh_peers(self) -> None:
        assert self._identity is not None and self._peers is not None
        identity = self._identity
        urls = list(self.config.peers)
        # "Is this me" may resolve host names: decide it in a thread, then apply on the loop.
        self._mine = await asyncio.to_thread(
            lambda: {normalize_peer_url(u) for u in urls if identity.is_me(u)}
        )
        added, removed = self._peers.apply(urls)
        for url in removed:
            node = self.nodes.pop(url, None)
            if node is not None:
                await node.close()
                log.info("peer removed: %s", redact_url(url))
        for url in added:
            self._add_node(url)
            log.info("peer added: %s", redact_url(url))

    async def _refresh_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh_peers()
            except Exception:
                log.exception("refreshing the peer list failed")

    def _add_node(self, url: str) -> None:
        assert self._http is not None
        dispatcher = TaskDispatcher(
            DispatcherConfig(
                max_pending=self.config.max_elements_in_peer_replication_pool,
                batch_size=self.config.batch_size,
                max_batching_delay_ms=self.config.max_batching_delay_ms,
                max_in_flight=self.config.max_threads_for_peer_replication,
                sync_when_timestamp_differs=self.config.registry.sync_when_timestamp_differs,
            ),
            self.clock,
        )
        node = PeerNode(url, dispatcher, self._http, lambda f: self._follow_up(url, f))
        self.nodes[node.url] = node
        node.start()

    # -- start-up sync (§6.12) -------------------------------------------------------------------

    async def sync(self) -> SyncResult:
        """Copy the peers' registries; retry while no peer has answered at all."""
        attempts = max(1, self.config.number_registry_sync_retries)
        result = SyncResult(0, 0, tuple(redact_url(url) for url in self.nodes))
        for attempt in range(attempts):
            if not self.nodes:
                break
            result = await self._sync_once()
            if result.authoritative:
                break
            if attempt + 1 < attempts:
                log.info(
                    "start-up sync: no peer answered (%s); retrying in %d ms",
                    ", ".join(result.unreachable),
                    self.config.registry_sync_retry_wait_ms,
                )
                await asyncio.sleep(self.config.registry_sync_retry_wait_ms / 1000)
        self.sync_result = result
        log.info(
            "start-up sync done",
            extra={
                "fields": {
                    "copied": result.copied,
                    "answered": result.answered,
                    "unreachable": ", ".join(result.unreachable) or "none",
                }
            },
        )
        return result

    async def _sync_once(self) -> SyncResult:
        assert self._http is not None
        copied_ids: set[tuple[str, str]] = set()
        answered = 0
        unreachable = []
        for url in list(self.nodes):
            try:
                response = await self._http.get(
                    f"{url}apps/", params=LOCAL_ONLY, headers=SYNC_HEADERS
                )
            except httpx.HTTPError as error:
                unreachable.append(f"{redact_url(url)} ({type(error).__name__})")
                continue
            if response.status_code == 403:
                # The peer is starting too: it answered, it just has nothing authoritative.
                answered += 1
                continue
            if response.status_code != 200:
                unreachable.append(f"{redact_url(url)} (HTTP {response.status_code})")
                continue
            try:
                payload = json_codec.decode_applications(response.content)
            except BadInput as error:
                unreachable.append(f"{redact_url(url)} ({error.reason})")
                continue
            answered += 1
            for instance in payload.iter_instances():
                key = (instance.app.upper(), instance.id)
                if key in copied_ids:
                    continue
                try:
                    self.registry.validate_registration(instance.app, instance)
                except BadInput:
                    continue
                self.registry.register(instance, is_replication=True)
                copied_ids.add(key)
            self.on_change()
        return SyncResult(len(copied_ids), answered, tuple(unreachable))

    # -- Replicator ------------------------------------------------------------------------------

    def register(self, info: InstanceInfo) -> None:
        if self.nodes:
            task = register_task(info)
            for node in self.nodes.values():
                node.submit(task)

    def heartbeat(self, app: str, instance_id: str) -> None:
        if not self.nodes:
            return
        # The stored holder, not a decorated copy: this runs for every renewal, for every peer,
        # and the task only reads four fields of it.
        info = self.registry.stored_instance(app, instance_id)
        if info is None:
            return
        task = heartbeat_task(info, self.registry.override_of(instance_id))
        for node in self.nodes.values():
            node.submit(task)

    def cancel(self, app: str, instance_id: str) -> None:
        if self.nodes:
            task = cancel_task(
                app.upper(), instance_id, expiry_ms=self.config.max_time_for_replication
            )
            for node in self.nodes.values():
                node.submit(task)

    def status_update(self, app: str, instance_id: str) -> None:
        info = self.registry.get_instance(app, instance_id) if self.nodes else None
        if info is not None:
            task = status_update_task(
                app.upper(), instance_id, info, expiry_ms=self.config.max_time_for_replication
            )
            for node in self.nodes.values():
                node.submit(task)

    def delete_status_override(self, app: str, instance_id: str) -> None:
        info = self.registry.get_instance(app, instance_id) if self.nodes else None
        if info is not None:
            task = delete_status_override_task(
                app.upper(), instance_id, info, expiry_ms=self.config.max_time_for_replication
            )
            for node in self.nodes.values():
                node.submit(task)

    def _follow_up(self, url: str, follow_up: FollowUp) -> None:
        if isinstance(follow_up, ReRegister):
            # The peer lost (or never had) the instance: send it our copy (§8.5).
            info = self.registry.get_instance(follow_up.app_name, follow_up.id)
            node = self.nodes.get(url)
            if info is not None and node is not None:
                node.submit(register_task(info))
        elif isinstance(follow_up, AdoptPeerCopy):
            peer_copy = follow_up.instance
            overridden = peer_copy.overridden_status
            if overridden is not InstanceStatus.UNKNOWN:
                self.registry.store_overridden_status_if_required(
                    follow_up.app_name, follow_up.id, overridden
                )
            self.registry.register(peer_copy, is_replication=True)
            self.on_change()

    def peer_stats(self) -> dict[str, DispatcherStats]:
        return {url: node.stats() for url, node in self.nodes.items()}


def _nothing() -> None:
    pass

"""The registry core: leases, overrides, change log, eviction, self-preservation (protocol.md §6).

Pure and single-threaded: the adapter serialises calls (one event loop), so every method sees and
leaves a consistent state, which is what makes a delta and its hash one snapshot (invariant 2).
Time comes from the injected clock, randomness from the injected `random.Random`.

The registry never does I/O and never replicates: methods take `is_replication` only because
the override rules and the heartbeat answer depend on it; the adapter decides what to send peers.

Ownership: `register` stores the `InstanceInfo` it is given and mutates it (status, timestamps,
lease info), as Java does. Callers hand over a fresh object and keep no reference to it; every
read returns copies, except `local_instances` and the `*_leases` methods used by the cache.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from eureka.clock import Clock
from eureka.digest import DigestSums, instance_digest
from eureka.errors import BadInput
from eureka.model import (
    ActionType,
    Application,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
)
from eureka.reconcile import hash_from_counts, reconcile_hash
from eureka.registry.cancellations import Cancellations
from eureka.registry.changelog import (
    ChangeEntry,
    ChangeLog,
    ChangeSummary,
    group_latest,
    split_vips,
)
from eureka.registry.config import RegistryConfig
from eureka.registry.eviction import EvictionCompensation, choose_victims, eviction_limit
from eureka.registry.interning import share_repeated
from eureka.registry.lease import Lease, lease_duration_seconds
from eureka.registry.overrides import OverrideMap
from eureka.registry.rules import effective_status
from eureka.registry.self_preservation import SelfPreservation, SelfPreservationState
from eureka.registry.summary import (
    STATUS_RANK,
    AppSummary,
    InstancePage,
    InstanceSummary,
    RecentLease,
    RegistryCounters,
    RegistryStats,
    zone_of,
)

__all__ = ["ChangesSince", "CursorLeases", "Registry", "RenewOutcome", "RenewResult"]

_AMAZON_INSTANCE_ID = "instance-id"
# Java's message names the Java class (`"... of type " + dataCenterInfo.getClass() + ...`).
_AMAZON_CLASS_TEXT = "class com.netflix.appinfo.AmazonInfo"
# The free-text fields of an InstanceInfo bounded by `registration_max_field_length`.
_TEXT_FIELDS = (
    "app",
    "instance_id",
    "host_name",
    "ip_addr",
    "sid",
    "app_group_name",
    "home_page_url",
    "status_page_url",
    "health_check_url",
    "secure_health_check_url",
    "vip_address",
    "secure_vip_address",
    "asg_name",
)


class RenewOutcome(enum.Enum):
    OK = "OK"  # 200
    NOT_FOUND = "NOT_FOUND"  # 404: re-register
    CONFLICT = "CONFLICT"  # 409 (replication only): this server holds newer data, in `instance`


@dataclass(frozen=True, slots=True)
class RenewResult:
    outcome: RenewOutcome
    # A decorated copy of the stored instance: the 409 body.
    instance: InstanceInfo | None = None
    # The lease itself was renewed. True also for a 404 caused by a newer client
    # lastDirtyTimestamp: Java replicates such a heartbeat all the same.
    renewed: bool = False


@dataclass(frozen=True, slots=True)
class ChangesSince:
    """The cursor view: every instance changed after revision `since`, in its current state.

    One entry per (application, id), the latest change winning, each with its `actionType`.
    Applying them to a view taken at `since` yields the registry at `revision`, whose reconcile
    hash is `apps_hashcode`.
    """

    since: int
    revision: int
    apps_hashcode: str
    applications: Applications


@dataclass(frozen=True, slots=True)
class CursorLeases:
    """`ChangesSince` without copies, for payload builders: the changed leases grouped as a
    delta shows them (of a subset's applications, with `apps`), the hash of the state they lead
    to, and when the oldest of those changes happened (None: no change)."""

    since: int
    revision: int
    apps_hashcode: str
    groups: dict[str, dict[str, Lease]]
    first_change_ms: int | None


def _tombstone(lease: Lease) -> Lease:
    """A gone lease reduced to what a change-log entry beyond the delta window is read for."""
    holder = lease.holder
    dci = holder.data_center_info
    amazon_id = None if dci is None or not dci.metadata else dci.metadata.get("instance-id")
    slim = InstanceInfo(
        app=holder.app,
        instance_id=holder.instance_id,
        host_name=holder.host_name,
        ip_addr=holder.ip_addr,
        status=holder.status,
        overridden_status=holder.overridden_status,
        data_center_info=None
        if dci is None
        else DataCenterInfo(
            dci.name, dci.class_name, None if amazon_id is None else {"instance-id": amazon_id}
        ),
        lease_info=holder.lease_info,
        vip_address=holder.vip_address,
        secure_vip_address=holder.secure_vip_address,
        last_updated_timestamp=holder.last_updated_timestamp,
        last_dirty_timestamp=holder.last_dirty_timestamp,
        action_type=holder.action_type,
    )
    tombstone = Lease(slim, lease.duration_ms // 1000, lease.registration_ms)
    tombstone.last_update_ms = lease.last_update_ms
    tombstone.eviction_ms = lease.eviction_ms
    tombstone.service_up_ms = lease.service_up_ms
    tombstone.revision = lease.revision
    tombstone.digest = lease.digest
    return tombstone


def _blank(value: str | None) -> bool:
    # Java's ApplicationResource.isBlank: null or empty, no trimming.
    return not value


class Registry:
    def __init__(
        self,
        config: RegistryConfig,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        own_instance_id: str | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._own_instance_id = own_instance_id
        self._double_count = config.lease_expiry_double_count

        # app (upper-case) → id → lease. Applications without leases are removed.
        self._apps: dict[str, dict[str, Lease]] = {}
        # app → revision of its last change (response-cache fragments key on it).
        self._app_revision: dict[str, int] = {}
        # Instances per status, kept incrementally so that every hash is O(1) (§5.1).
        self._counts: dict[InstanceStatus, int] = dict.fromkeys(InstanceStatus, 0)
        self._size = 0
        # Content digests (eureka.digest) per application and in total, kept like the counts:
        # each change re-digests one instance (its old digest sits on its lease).
        self._digests = DigestSums()

        self._log = ChangeLog(
            window_ms=config.retention_time_in_ms_in_delta_queue,
            retention_ms=config.cursor_log_retention_ms,
            max_entries=config.cursor_log_max_entries,
        )
        self._overrides = OverrideMap(config.override_map_ttl_ms)
        self._preservation = SelfPreservation(config)
        self._compensation = EvictionCompensation(config.eviction_interval_timer_in_ms)
        self._delta_version = 0
        self._delta_version_with_regions = 0

        self._startup_ms: int | None = None
        self._transfer_empty = True
        # Set by the remote-region layer once every configured region has been fetched (§6.12).
        self.remote_regions_ready = True

        self.recently_registered: deque[RecentLease] = deque(maxlen=config.recent_list_size)
        self.recently_cancelled: deque[RecentLease] = deque(maxlen=config.recent_list_size)
        # Cancels (not evictions) by instance, for anti-entropy between peers.
        self._cancellations = Cancellations(
            retention_ms=config.cancellation_retention_ms,
            max_entries=config.cancellation_max_entries,
        )
        self._counters = RegistryCounters()
        # Application summaries by name, each valid while its revision is the application's.
        self._summaries: dict[str, AppSummary] = {}

    # ------------------------------------------------------------------------------------------
    # Validation (§2.3 (1))
    # ------------------------------------------------------------------------------------------

    def validate_registration(self, path_app: str, info: InstanceInfo) -> None:
        """Raise `BadInput` with Java's message for the first failed check; else back-fill the
        Amazon `instance-id` as Java does. Touches nothing but `info`."""
        expected = path_app.upper()
        if _blank(info.id):
            raise BadInput("Missing instanceId")
        if _blank(info.host_name):
            raise BadInput("Missing hostname")
        if _blank(info.ip_addr):
            raise BadInput("Missing ip address")
        if _blank(info.app):
            raise BadInput("Missing appName")
        if info.app.upper() != expected:
            raise BadInput(f"Mismatched appName, expecting {expected} but was {info.app}")
        dci = info.data_center_info
        if dci is None:
            raise BadInput("Missing dataCenterInfo")
        if _blank(dci.name):
            raise BadInput("Missing dataCenterInfo Name")
        self._check_sizes(info)
        if dci.is_amazon and _blank((dci.metadata or {}).get(_AMAZON_INSTANCE_ID)):
            if self.config.validate_data_center_info_id:
                raise BadInput(
                    f"DataCenterInfo of type {_AMAZON_CLASS_TEXT} must contain a valid id"
                )
            # Java back-fills only an absent id (an empty one is left alone).
            if dci.metadata is None:
                dci.metadata = {}
            if dci.metadata.get(_AMAZON_INSTANCE_ID) is None:
                dci.metadata[_AMAZON_INSTANCE_ID] = info.id

    def _check_sizes(self, info: InstanceInfo) -> None:
        """The `registration-max-*` limits: bound what one registration makes the registry keep."""
        cfg = self.config
        longest = cfg.registration_max_field_length
        if longest:
            for name in _TEXT_FIELDS:
                value = getattr(info, name)
                if value is not None and len(value) > longest:
                    raise BadInput(f"{name} longer than {longest} characters")
        dci = info.data_center_info
        self._check_metadata(info.metadata, "metadata")
        if dci is not None and dci.metadata:
            self._check_metadata(dci.metadata, "dataCenterInfo metadata")

    def _check_metadata(self, metadata: Mapping[str, str], what: str) -> None:
        cfg = self.config
        if cfg.registration_max_metadata_entries and (
            len(metadata) > cfg.registration_max_metadata_entries
        ):
            raise BadInput(f"{what} has more than {cfg.registration_max_metadata_entries} entries")
        longest = cfg.registration_max_field_length
        total = 0
        for key, value in metadata.items():
            if longest and len(key) > longest:
                raise BadInput(f"{what} key longer than {longest} characters")
            # Characters are a lower bound of UTF-8 bytes; encode only when it could matter.
            total += len(key) + len(value)
        limit = cfg.registration_max_metadata_bytes
        if limit and total > limit // 4:
            total = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
            if total > limit:
                raise BadInput(f"{what} larger than {limit} bytes")

    # ------------------------------------------------------------------------------------------
    # Mutations (§6.2–6.7); each appends exactly one change-log entry when it changes anything
    # ------------------------------------------------------------------------------------------

    def register(self, info: InstanceInfo, *, is_replication: bool = False) -> None:
        """§6.2. `info` has passed `validate_registration`; the registry takes ownership of it."""
        now = self._clock.now_ms()
        info.app = info.app.upper()
        share_repeated(info)  # equal names, VIPs, ports... held once (memory)
        app = info.app
        instance_id = info.id
        if info.last_dirty_timestamp == 0:
            # A Java decoder would have put the construction time there.
            info.last_dirty_timestamp = now

        by_id = self._apps.get(app)
        existing = by_id.get(instance_id) if by_id is not None else None
        registrant = info
        existing_status: InstanceStatus | None = None
        old_vip: str | None = None
        old_svip: str | None = None
        if existing is not None:
            previous = existing.holder
            existing_status = previous.status
            # Conflict rule: a strictly newer copy on the server is kept; equal lets the new win.
            if previous.last_dirty_timestamp > info.last_dirty_timestamp:
                registrant = previous
            self._counts[previous.status] -= 1
            if previous is not registrant and (
                previous.vip_address != registrant.vip_address
                or previous.secure_vip_address != registrant.secure_vip_address
            ):
                old_vip, old_svip = previous.vip_address, previous.secure_vip_address
        else:
            self._preservation.on_new_registration()
            self._size += 1
            self._cancellations.forget(app, instance_id)

        lease = Lease(registrant, lease_duration_seconds(registrant), now)
        if existing is not None:
            lease.service_up_ms = existing.service_up_ms
        if by_id is None:
            by_id = self._apps[app] = {}
        by_id[instance_id] = lease
        self.recently_registered.append(RecentLease(now, app, instance_id))
        counters = self._counters
        counters.registrations += 1
        if is_replication:
            counters.replicated_registrations += 1

        # Override bootstrap: how overrides travel to peers by registration and startup sync.
        sent_override = registrant.overridden_status
        if sent_override != InstanceStatus.UNKNOWN and not self._overrides.contains(
            instance_id, now
        ):
            self._overrides.put(instance_id, sent_override, now)
        override = self._overrides.get(instance_id, now)
        if override is not None:
            registrant.overridden_status = override

        status = effective_status(
            registrant.status, override, existing_status, is_replication=is_replication
        )
        registrant.status = status
        self._counts[status] += 1
        if status == InstanceStatus.UP:
            lease.service_up(now)
        registrant.action_type = ActionType.ADDED
        self._record(
            lease, app, instance_id, now, old_vip=old_vip, old_svip=old_svip, superseded=existing
        )
        registrant.last_updated_timestamp = now

    def renew(
        self,
        app: str,
        instance_id: str,
        *,
        is_replication: bool = False,
        last_dirty_timestamp: int | None = None,
        overridden_status: InstanceStatus | None = None,
    ) -> RenewResult:
        """§6.4 followed by the heartbeat's lastDirtyTimestamp comparison (§2.3 (2))."""
        now = self._clock.now_ms()
        app = app.upper()
        lease = self._lease(app, instance_id)
        counters = self._counters
        if lease is None:
            counters.renewals_not_found += 1
            return RenewResult(RenewOutcome.NOT_FOUND)
        holder = lease.holder
        status = effective_status(
            holder.status,
            self._overrides.get(instance_id, now),
            holder.status,
            is_replication=is_replication,
        )
        if status == InstanceStatus.UNKNOWN:
            # After an override deletion: the client must re-register with its real status.
            counters.renewals_not_found += 1
            return RenewResult(RenewOutcome.NOT_FOUND)
        if status != holder.status:
            # Java changes the status silently here, so every client's next delta hash mismatches
            # (§12.14). We make it a visible MODIFIED change like any other status change.
            self._set_status(holder, status)
            holder.action_type = ActionType.MODIFIED
            self._record(lease, app, instance_id, now)
            holder.last_updated_timestamp = now
        self._preservation.record_renewal()
        counters.renewals += 1
        if is_replication:
            counters.replicated_renewals += 1
        lease.renew(now, double_count=self._double_count)

        if last_dirty_timestamp is None or not self.config.sync_when_timestamp_differs:
            return RenewResult(RenewOutcome.OK, renewed=True)
        stored = holder.last_dirty_timestamp
        if last_dirty_timestamp > stored:
            # The sender has newer data: 404 makes it re-register. A peer's override wins too.
            if (
                is_replication
                and overridden_status is not None
                and overridden_status != InstanceStatus.UNKNOWN
            ):
                self.store_overridden_status_if_required(app, instance_id, overridden_status)
            return RenewResult(RenewOutcome.NOT_FOUND, renewed=True)
        if last_dirty_timestamp < stored and is_replication:
            return RenewResult(RenewOutcome.CONFLICT, self._copy(lease), renewed=True)
        return RenewResult(RenewOutcome.OK, renewed=True)

    def cancel(
        self,
        app: str,
        instance_id: str,
        *,
        is_replication: bool = False,
        cancelled_ms: int | None = None,
    ) -> bool:
        """§6.5. False (404) when there is no lease.

        `cancelled_ms`: when the cancel happened, if not now — anti-entropy applying a peer's
        cancel that never reached us records the peer's time, not the time of the repair."""
        now = self._clock.now_ms()
        app = app.upper()
        found = self._cancel(app, instance_id, now)
        # Remembered even when we do not hold the instance (its registration may never have
        # reached us): a peer holding it learns of the cancel from us.
        self._cancellations.record(
            app, instance_id, now, now if cancelled_ms is None else cancelled_ms
        )
        if not found:
            self._counters.cancels_not_found += 1
            return False
        self._counters.cancels += 1
        if is_replication:
            self._counters.replicated_cancels += 1
        return True

    def status_update(
        self,
        app: str,
        instance_id: str,
        status: InstanceStatus,
        last_dirty_timestamp: int | None,
        *,
        is_replication: bool = False,
    ) -> bool:
        """§6.6 `statusUpdate`: False (404) for an unknown or expired instance."""
        now = self._clock.now_ms()
        app = app.upper()
        lease = self._live_lease(app, instance_id, now)
        if lease is None:
            return False
        lease.renew(now, double_count=self._double_count)
        holder = lease.holder
        # An override equal to the current status is not recorded at all (Java, §12.15).
        if holder.status != status:
            self._counters.status_updates += 1
            if status == InstanceStatus.UP:
                lease.service_up(now)
            self._overrides.put(instance_id, status, now)
            holder.overridden_status = status
            self._set_status(holder, status)
            self._adopt_dirty_timestamp(holder, last_dirty_timestamp)
            holder.action_type = ActionType.MODIFIED
            self._record(lease, app, instance_id, now)
            holder.last_updated_timestamp = now
        return True

    def delete_status_override(
        self,
        app: str,
        instance_id: str,
        new_status: InstanceStatus = InstanceStatus.UNKNOWN,
        last_dirty_timestamp: int | None = None,
        *,
        is_replication: bool = False,
    ) -> bool:
        """§6.6 `deleteStatusOverride`: False (404) for an unknown or expired instance."""
        now = self._clock.now_ms()
        app = app.upper()
        lease = self._live_lease(app, instance_id, now)
        if lease is None:
            return False
        lease.renew(now, double_count=self._double_count)
        if self._overrides.pop(instance_id, now) is not None:
            self._counters.override_deletions += 1
            holder = lease.holder
            holder.overridden_status = InstanceStatus.UNKNOWN
            self._set_status(holder, new_status)
            self._adopt_dirty_timestamp(holder, last_dirty_timestamp)
            holder.action_type = ActionType.MODIFIED
            self._record(lease, app, instance_id, now)
            holder.last_updated_timestamp = now
        return True

    def register_peer_copy(self, info: InstanceInfo) -> None:
        """Anti-entropy's repair (replication/anti_entropy.py): make our copy of an instance the
        peer's copy `info` (validated; the registry takes ownership), as a replication.

        Unlike a replicated register, the copy is taken as it stands: the peer's override (set,
        or removed when the peer has none), its `lastUpdatedTimestamp`, and its lease's
        registration and last renewal times (never later than ours could be). An adopted copy
        must rank, and age, exactly like the original: one that looked newer, or more alive,
        merely for having been adopted would beat the next truly newer change, or a cancel.
        """
        now = self._clock.now_ms()
        changed_ms = info.last_updated_timestamp
        sent = info.lease_info
        if info.overridden_status == InstanceStatus.UNKNOWN:
            self._overrides.pop(info.id, now)
        else:
            self._overrides.put(info.id, info.overridden_status, now)
        self.register(info, is_replication=True)
        if changed_ms > 0:
            # Even if ahead of our clock: a copy that ranked differently from the peer's would
            # be adopted again and again.
            info.last_updated_timestamp = changed_ms
        lease = self._lease(info.app, info.id)
        if lease is not None and sent is not None:
            # With the double-count quirk a renewal stores "now + duration" (lease.py).
            latest = now + lease.duration_ms if self._double_count else now
            if 0 < sent.registration_timestamp <= now:
                lease.registration_ms = sent.registration_timestamp
            if sent.last_renewal_timestamp > 0:
                lease.last_update_ms = min(sent.last_renewal_timestamp, latest)

    def update_metadata(self, app: str, instance_id: str, metadata: Mapping[str, str]) -> bool:
        """§6.7: merge into the stored metadata, then re-register locally (fresh lease, ADDED).

        The adapter replicates the result as a `Register` of `get_instance(app, instance_id)`.
        """
        app = app.upper()
        lease = self._live_lease(app, instance_id, self._clock.now_ms())
        if lease is None:
            return False
        holder = lease.holder
        # Checked on the merged result before anything changes: a refused edit leaves no trace.
        # A new map, never an update in place: equal maps are shared between instances.
        merged = {**holder.metadata, **metadata}
        self._check_metadata(merged, "metadata")
        holder.metadata = merged
        self.register(holder, is_replication=False)
        return True

    def store_overridden_status_if_required(
        self, app: str, instance_id: str, status: InstanceStatus
    ) -> None:
        """Adopt a peer's override (heartbeat replication 404, peer 409 sync; §6.6).

        Java changes the holder's `overriddenStatus` without a delta entry; since that field is on
        the wire, we record it as a MODIFIED change (the status itself is left to the rules).
        """
        now = self._clock.now_ms()
        app = app.upper()
        if self._overrides.get(instance_id, now) == status:
            return
        self._overrides.put(instance_id, status, now)
        lease = self._live_lease(app, instance_id, now)
        if lease is not None and lease.holder.overridden_status != status:
            holder = lease.holder
            holder.overridden_status = status
            holder.action_type = ActionType.MODIFIED
            self._record(lease, app, instance_id, now)
            holder.last_updated_timestamp = now

    # ------------------------------------------------------------------------------------------
    # Reads (§6.8); every returned instance is a decorated copy
    # ------------------------------------------------------------------------------------------

    def get_instance(self, app: str, instance_id: str) -> InstanceInfo | None:
        lease = self._live_lease(app.upper(), instance_id, self._clock.now_ms())
        return None if lease is None else self._copy(lease)

    def stored_instance(self, app: str, instance_id: str) -> InstanceInfo | None:
        """The stored holder itself (no decoration, no copy) under `get_instance`'s expiry rule:
        for hot paths that only read it, such as building a heartbeat replication task."""
        lease = self._live_lease(app.upper(), instance_id, self._clock.now_ms())
        return None if lease is None else lease.holder

    def find_instance(self, instance_id: str) -> InstanceInfo | None:
        """`GET /instances/{id}`: the first application holding a live lease for that id."""
        now = self._clock.now_ms()
        expiring = self.is_lease_expiration_enabled()
        for by_id in self._apps.values():
            lease = by_id.get(instance_id)
            if lease is not None and not (expiring and lease.is_expired(now)):
                return self._copy(lease)
        return None

    def get_application(self, app: str) -> Application | None:
        """All leases of the application, expired-but-not-evicted included (as Java)."""
        name = app.upper()
        by_id = self._apps.get(name)
        if not by_id:
            return None
        return Application(name, {iid: self._copy(lease) for iid, lease in by_id.items()})

    def full_view(self) -> Applications:
        """`GET /apps` content: version 1, the exact hash, expired-but-not-evicted included."""
        result = Applications(version=1, apps_hashcode=self.apps_hashcode())
        for name, by_id in self._apps.items():
            result.applications_by_name[name] = Application(
                name, {iid: self._copy(lease) for iid, lease in by_id.items()}
            )
        return result

    def delta_view(self, *, with_regions: bool = False) -> Applications:
        """`GET /apps/delta` content (§6.9): version = the incremented delta counter (a separate
        counter for requests with `regions`), hash = the full view's, same snapshot."""
        version, apps_hashcode, groups = self.delta_leases(with_regions=with_regions)
        return self._applications_of(groups, version, apps_hashcode)

    def vip_view(self, vip: str, secure: bool = False) -> Applications:
        """`GET /vips/{vip}` / `/svips/{svip}` content: version −1, hash of the matches."""
        groups = self.vip_leases(vip, secure)
        matched = (lease.holder for by_id in groups.values() for lease in by_id.values())
        return self._applications_of(groups, -1, reconcile_hash(matched))

    def changes_since(
        self, revision: int, apps: Collection[str] | None = None
    ) -> ChangesSince | None:
        """The cursor view (of the named upper-case applications only, with `apps`); None when
        `revision` is older than the log still holds ("too old") or newer than this registry
        has reached (another server, or a restart)."""
        cursor = self.cursor_leases(revision, apps)
        if cursor is None:
            return None
        applications = self._applications_of(cursor.groups, -1, cursor.apps_hashcode)
        return ChangesSince(revision, cursor.revision, cursor.apps_hashcode, applications)

    @property
    def revision(self) -> int:
        """Monotonic registry revision: the number of the last change-log entry."""
        return self._log.revision

    @property
    def oldest_revision(self) -> int:
        """The oldest revision `changes_since` still answers for."""
        return self._log.floor

    @property
    def delta_window_floor(self) -> int:
        """The revision the legacy delta window starts after: it moves when the retention
        timer drops entries from the window, which changes every delta payload."""
        return self._log.window_floor

    @property
    def digest(self) -> int:
        """The content digest of the whole local registry (`eureka.digest`), kept incrementally."""
        return self._digests.total

    def app_digest(self, app: str) -> int:
        """One application's content digest (`EMPTY_DIGEST` when it has no instances)."""
        return self._digests.app(app.upper())

    def app_digests(self) -> dict[str, int]:
        """Application → content digest, for the applications that have instances (a copy)."""
        return self._digests.apps()

    def subset_digest(self, apps: Collection[str]) -> int:
        """The content digest of the named (upper-case) applications together."""
        return self._digests.of_apps(apps)

    def cancellations(self, apps: Collection[str]) -> dict[str, dict[str, int]]:
        """Application → instance id → when it was cancelled (a client's cancel, received or
        replicated; never an eviction), for the named (upper-case) applications, as far as the
        bounded memory of `registry/cancellations.py` reaches. Registered-since ids are absent."""
        return self._cancellations.of_apps(apps, self._clock.now_ms())

    def overrides(self) -> dict[str, InstanceStatus]:
        """`/serverinfo/statusoverrides`: live admin overrides by instance id."""
        return self._overrides.snapshot(self._clock.now_ms())

    def override_of(self, instance_id: str) -> InstanceStatus | None:
        """The override recorded for an id (what a Heartbeat replication item carries, §8.2)."""
        return self._overrides.get(instance_id, self._clock.now_ms())

    def instance_count(self) -> int:
        return self._size

    def status_counts(self) -> dict[InstanceStatus, int]:
        return {status: n for status, n in self._counts.items() if n > 0}

    def local_instances(self) -> Iterator[InstanceInfo]:
        """The stored holders themselves (startup sync, peers): read them, never mutate them."""
        for by_id in self._apps.values():
            for lease in by_id.values():
                yield lease.holder

    # -- summaries for operators (dashboard, metrics, status): values, never a lease or holder

    def stats(self) -> RegistryStats:
        """Operations counted since start (registrations, renewals, cancels, evictions, …)."""
        return RegistryStats.of(self._counters)

    def application_count(self) -> int:
        return len(self._apps)

    def application_summaries(self) -> list[AppSummary]:
        """Every application, sorted by name. An application's summary is rebuilt only when its
        revision moved, so polling this costs one walk of the applications that changed."""
        previous = self._summaries
        current: dict[str, AppSummary] = {}
        revisions = self._app_revision
        for name, by_id in self._apps.items():
            summary = previous.get(name)
            if summary is None or summary.revision != revisions[name]:
                summary = _summarise(name, revisions[name], by_id.values())
            current[name] = summary
        self._summaries = current
        return [current[name] for name in sorted(current)]

    def instances_of(
        self,
        app: str,
        offset: int = 0,
        limit: int = 100,
        *,
        status: InstanceStatus | None = None,
        contains: str | None = None,
    ) -> InstancePage | None:
        """A page of the application's instances sorted by (status, id); None if unknown.

        `status` keeps one status group; `contains` keeps instances whose id, host name or IP
        address contains it, ignoring case. `total` counts what matched, all pages together.
        """
        name = app.upper()
        by_id = self._apps.get(name)
        if by_id is None:
            return None
        leases: list[Lease] = list(by_id.values())
        if status is not None:
            leases = [lease for lease in leases if lease.holder.status is status]
        if contains:
            leases = [lease for lease in leases if _matches(lease.holder, contains.lower())]
        leases.sort(key=lambda lease: (STATUS_RANK[lease.holder.status], lease.holder.id))
        offset = max(0, offset)
        now = self._clock.now_ms()
        page = tuple(self._summary_of(lease, now) for lease in leases[offset : offset + limit])
        return InstancePage(name, self._app_revision[name], len(leases), offset, page)

    def find_applications(self, text: str) -> dict[str, int]:
        """Applications whose name contains `text` (→ all their instances), or that have instances
        whose id, host name or IP address contains it (→ how many), ignoring case."""
        needle = text.lower()
        found: dict[str, int] = {}
        for name, by_id in self._apps.items():
            if needle in name.lower():
                found[name] = len(by_id)
                continue
            count = sum(1 for lease in by_id.values() if _matches(lease.holder, needle))
            if count:
                found[name] = count
        return found

    def expired_lease_count(self) -> int:
        """Leases past their expiry that are still registered (self-preservation keeps them, or
        the next eviction run has not come yet). Walks every lease: call it when it matters."""
        now = self._clock.now_ms()
        return sum(
            1 for by_id in self._apps.values() for lease in by_id.values() if lease.is_expired(now)
        )

    def _summary_of(self, lease: Lease, now: int) -> InstanceSummary:
        holder = lease.holder
        last_renewal = lease.last_update_ms
        if self._double_count:
            # The stored value is "renewal + duration" under the Java quirk (lease.py).
            last_renewal -= lease.duration_ms
        return InstanceSummary(
            id=holder.id,
            app=holder.app,
            status=holder.status,
            overridden_status=holder.overridden_status,
            host_name=holder.host_name or "",
            ip_addr=holder.ip_addr or "",
            port=holder.port if holder.port_enabled else None,
            secure_port=holder.secure_port if holder.secure_port_enabled else None,
            vip_address=holder.vip_address,
            secure_vip_address=holder.secure_vip_address,
            zone=zone_of(holder),
            home_page_url=holder.home_page_url,
            status_page_url=holder.status_page_url,
            health_check_url=holder.health_check_url,
            metadata=tuple(sorted(holder.metadata.items())),
            registration_ms=lease.registration_ms,
            last_renewal_ms=last_renewal,
            service_up_ms=lease.service_up_ms,
            last_dirty_timestamp=holder.last_dirty_timestamp,
            expired=lease.is_expired(now),
        )

    # ------------------------------------------------------------------------------------------
    # Timers: the adapter calls these on a schedule; each takes "now" from the clock
    # ------------------------------------------------------------------------------------------

    def evict(self) -> list[InstanceInfo]:
        """§6.10: cancel (never replicated) up to 15 % of the registry among the expired leases,
        chosen at random. Returns copies of the evicted instances."""
        now = self._clock.now_ms()
        # Measured on every run, as Java's task does, even when expiration is disabled.
        extra_ms = self._compensation.next_extra_ms(self._clock.monotonic())
        if not self.is_lease_expiration_enabled():
            return []
        expired = [
            (app, iid, lease)
            for app, by_id in self._apps.items()
            for iid, lease in by_id.items()
            if lease.is_expired(now, extra_ms)
        ]
        limit = eviction_limit(self._size, self.config.renewal_percent_threshold)
        evicted: list[InstanceInfo] = []
        for app, iid, lease in choose_victims(expired, limit, self._rng):
            self._cancel(app, iid, now)
            evicted.append(lease.holder.copy())
        self._counters.evictions += len(evicted)
        return evicted

    def prune_delta_queue(self) -> int:
        """§6.9 retention timer: entries older than the retention time leave the delta window
        (returns how many); the cursor log drops what its own retention no longer keeps."""
        slim: dict[Lease, Lease] = {}

        def slim_if_gone(entry: ChangeEntry) -> None:
            # Beyond the window, a lease that is no longer current is read for its identity,
            # status and VIPs only (a DELETED entry of a cursor delta, a cache's VIP names):
            # keep a tombstone, so the cursor log holds no registration's metadata alive.
            lease = entry.lease
            by_id = self._apps.get(entry.app)
            if by_id is not None and by_id.get(entry.instance_id) is lease:
                return
            tombstone = slim.get(lease)
            if tombstone is None:
                tombstone = slim[lease] = _tombstone(lease)
            entry.lease = tombstone

        return self._log.prune(self._clock.now_ms(), slim_if_gone)

    def tick_renews_bucket(self) -> None:
        """Every 60 s: the current minute's renewals become `renews_last_min` (§6.11)."""
        self._preservation.tick()

    def update_renewal_threshold(self, count: int) -> None:
        """The 15-minute task, given the number of instances the embedded client sees."""
        self._preservation.update_expected(count)

    def open_for_traffic(self, count: int, *, authoritative: bool = False) -> None:
        """§6.12, with Spring Cloud's substitution of `default_open_for_traffic_count` for 0.

        `authoritative`: the start-up sync reached a peer, so an empty copy is the truth (the
        cluster is empty) and reads need not be refused for `wait_time_in_ms_when_sync_empty`
        (Java refuses them whenever nothing was copied, §12.16).
        """
        if count == 0:
            count = self.config.default_open_for_traffic_count
        self._preservation.reset_expected(count)
        self._startup_ms = self._clock.now_ms()
        if count > 0 or authoritative:
            self._transfer_empty = False
        self._compensation.reset()

    def should_allow_access(self, remote_region_required: bool = False) -> bool:
        """False → reads answer 403: the startup window after an empty sync, or remote regions
        not fetched yet. Before `open_for_traffic` Java allows access (startup time 0)."""
        if self._transfer_empty:
            started = self._startup_ms or 0
            if not self._clock.now_ms() > started + self.config.wait_time_in_ms_when_sync_empty:
                return False
        return not (remote_region_required and not self.remote_regions_ready)

    def is_lease_expiration_enabled(self) -> bool:
        return self._preservation.is_lease_expiration_enabled()

    def self_preservation_state(self) -> SelfPreservationState:
        return self._preservation.state()

    # ------------------------------------------------------------------------------------------
    # For the response cache: leases and revisions, no copies
    # ------------------------------------------------------------------------------------------

    def apps_hashcode(self) -> str:
        """Reconcile hash of the full local view, from the incremental per-status counts."""
        return hash_from_counts(self._counts)

    def app_revisions(self) -> Iterator[tuple[str, int]]:
        """(application, revision of its last change), in the full view's order."""
        revisions = self._app_revision
        for name in self._apps:
            yield name, revisions[name]

    def app_leases(self, app: str) -> Collection[Lease]:
        by_id = self._apps.get(app)
        return () if by_id is None else by_id.values()

    def app_revision(self, app: str) -> int | None:
        return self._app_revision.get(app) if app in self._apps else None

    def delta_leases(
        self, *, with_regions: bool = False
    ) -> tuple[int, str, dict[str, dict[str, Lease]]]:
        """(incremented delta version, full-view hash, leases grouped as the delta shows them)."""
        if with_regions:
            self._delta_version_with_regions += 1
            version = self._delta_version_with_regions
        else:
            self._delta_version += 1
            version = self._delta_version
        return version, self.apps_hashcode(), group_latest(self._log.window())

    def delta_window_leases(self) -> set[Lease]:
        """The leases the delta window's entries refer to: all a delta payload can show."""
        return {entry.lease for entry in self._log.window()}

    def vip_leases(self, vip: str, secure: bool = False) -> dict[str, dict[str, Lease]]:
        groups: dict[str, dict[str, Lease]] = {}
        for name, by_id in self._apps.items():
            for iid, lease in by_id.items():
                holder = lease.holder
                address = holder.secure_vip_address if secure else holder.vip_address
                if address and vip in split_vips(address):
                    groups.setdefault(name, {})[iid] = lease
        return groups

    def changes_summary_since(self, revision: int) -> ChangeSummary | None:
        """Applications and VIP names touched after `revision`; None if the log lost some."""
        return self._log.summarize_since(revision)

    def cursor_leases(
        self, revision: int, apps: Collection[str] | None = None
    ) -> CursorLeases | None:
        """The cursor view's leases (see `changes_since`), no copies."""
        entries = self._log.since(revision)
        if entries is None:
            return None
        if apps is not None:
            entries = [entry for entry in entries if entry.app in apps]
            apps_hashcode = self.subset_hashcode(apps)
        else:
            apps_hashcode = self.apps_hashcode()
        first = entries[0].time_ms if entries else None
        return CursorLeases(
            revision, self._log.revision, apps_hashcode, group_latest(entries), first
        )

    def window_leases(self, apps: Collection[str]) -> dict[str, dict[str, Lease]]:
        """The legacy delta window's leases of the named applications, grouped as a delta."""
        return group_latest(entry for entry in self._log.window() if entry.app in apps)

    def subset_leases(self, apps: Collection[str]) -> dict[str, dict[str, Lease]]:
        """The named applications' leases, in the full view's order."""
        return {name: by_id for name, by_id in self._apps.items() if name in apps}

    def subset_hashcode(self, apps: Collection[str]) -> str:
        """Reconcile hash of the named applications' instances (what `apps=` payloads carry)."""
        by_app = self._apps
        return reconcile_hash(
            lease.holder for name in apps for lease in by_app.get(name, {}).values()
        )

    def change_time_ms(self, revision: int) -> int | None:
        """When change `revision` happened, while the cursor log still holds it."""
        return self._log.time_of(revision)

    def decorate(self, lease: Lease) -> InstanceInfo:
        """Fill the holder's `leaseInfo` and coordinating flag from its lease, in place (§6.8)."""
        holder = lease.holder
        holder.lease_info = lease.lease_info()
        holder.is_coordinating_discovery_server = (
            self._own_instance_id is not None and holder.id == self._own_instance_id
        )
        return holder

    # ------------------------------------------------------------------------------------------
    # Internals
    # ------------------------------------------------------------------------------------------

    def _lease(self, app: str, instance_id: str) -> Lease | None:
        by_id = self._apps.get(app)
        return None if by_id is None else by_id.get(instance_id)

    def _live_lease(self, app: str, instance_id: str, now: int) -> Lease | None:
        """The lease, unless it is expired while expiration is enabled (Java's instance lookup)."""
        lease = self._lease(app, instance_id)
        if lease is None:
            return None
        if lease.is_expired(now) and self.is_lease_expiration_enabled():
            return None
        return lease

    def _copy(self, lease: Lease) -> InstanceInfo:
        return self.decorate(lease).copy()

    def _set_status(self, holder: InstanceInfo, status: InstanceStatus) -> None:
        """Change a *current* holder's status, keeping the per-status counts exact."""
        counts = self._counts
        counts[holder.status] -= 1
        counts[status] += 1
        holder.status = status

    @staticmethod
    def _adopt_dirty_timestamp(holder: InstanceInfo, last_dirty_timestamp: int | None) -> None:
        if last_dirty_timestamp is not None and last_dirty_timestamp > holder.last_dirty_timestamp:
            holder.last_dirty_timestamp = last_dirty_timestamp

    def _record(
        self,
        lease: Lease,
        app: str,
        instance_id: str,
        now: int,
        *,
        old_vip: str | None = None,
        old_svip: str | None = None,
        superseded: Lease | None = None,
        removed: bool = False,
    ) -> None:
        """Append the change, and move the instance's digest from its old to its new state.

        The old digest is the superseded lease's (a re-registration), the lease's own (an
        in-place change), or none (a first registration: the lease was never recorded)."""
        if superseded is not None:
            old: int | None = superseded.digest
        else:
            old = lease.digest if lease.revision else None
        if removed:
            self._digests.replace(app, old, None)
        else:
            new = instance_digest(lease.holder)
            lease.digest = new
            self._digests.replace(app, old, new)
        revision = self._log.append(
            now, app, instance_id, lease, old_vip=old_vip, old_svip=old_svip
        )
        lease.revision = revision
        if app in self._apps:
            self._app_revision[app] = revision
        else:
            self._app_revision.pop(app, None)

    def _cancel(self, app: str, instance_id: str, now: int) -> bool:
        by_id = self._apps.get(app)
        lease = by_id.pop(instance_id, None) if by_id is not None else None
        self._overrides.pop(instance_id, now)
        if lease is None:
            return False
        if not by_id:
            del self._apps[app]
        self.recently_cancelled.append(RecentLease(now, app, instance_id))
        self._size -= 1
        holder = lease.holder
        self._counts[holder.status] -= 1
        lease.cancel(now)
        holder.action_type = ActionType.DELETED
        self._record(lease, app, instance_id, now, removed=True)
        holder.last_updated_timestamp = now
        self._preservation.on_cancel()
        return True

    def _applications_of(
        self, groups: Mapping[str, Mapping[str, Lease]], version: int, apps_hashcode: str
    ) -> Applications:
        result = Applications(version=version, apps_hashcode=apps_hashcode)
        for name, by_id in groups.items():
            result.applications_by_name[name] = Application(
                name, {iid: self._copy(lease) for iid, lease in by_id.items()}
            )
        return result


def _matches(holder: InstanceInfo, needle: str) -> bool:
    return (
        needle in holder.id.lower()
        or needle in (holder.host_name or "").lower()
        or needle in (holder.ip_addr or "")
    )


def _summarise(name: str, revision: int, leases: Collection[Lease]) -> AppSummary:
    statuses: dict[InstanceStatus, int] = {}
    zones: dict[str, int] = {}
    for lease in leases:
        holder = lease.holder
        statuses[holder.status] = statuses.get(holder.status, 0) + 1
        zone = zone_of(holder)
        if zone is not None:
            zones[zone] = zones.get(zone, 0) + 1
    return AppSummary(
        name=name,
        revision=revision,
        instances=len(leases),
        status_counts=tuple(sorted(statuses.items(), key=lambda item: STATUS_RANK[item[0]])),
        zones=tuple(sorted(zones.items())),
    )

"""Registry knobs (protocol.md §11.1), snake_case, with Eureka's defaults unless noted.

Three defaults deliberately differ from the Netflix server, each documented on its field:
`use_read_only_response_cache` (no added staleness, architecture invariant 3),
`lease_expiry_double_count` (honest expiry, invariant 6) and the two Spring Cloud starting values
`expected_number_of_clients_sending_renews` / `default_open_for_traffic_count` (Spring Cloud is what
most users run; a Netflix server starts both at 0).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RegistryConfig"]

# Eureka's fallback when `expectedClientRenewalIntervalSeconds` is not positive (§11.1).
_DEFAULT_RENEWAL_INTERVAL_SECONDS = 30


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    # Self-preservation (§6.11).
    enable_self_preservation: bool = True
    renewal_percent_threshold: float = 0.85
    renewal_threshold_update_interval_ms: int = 900_000
    expected_client_renewal_interval_seconds: int = 30
    # Spring Cloud's starting values (`eureka.instance.registry.*`); Netflix uses 0 for both, which
    # leaves a server that synced nothing unable to evict, and unreadable (403) for 5 minutes.
    expected_number_of_clients_sending_renews: int = 1
    default_open_for_traffic_count: int = 1

    # Eviction (§6.10).
    eviction_interval_timer_in_ms: int = 60_000
    # True restores Java's quirk (§6.4, §12.7): renew stores now + duration and the expiry test adds
    # the duration again, so a lease lives ~2 × duration after its last heartbeat. Off: a lease
    # expires `durationInSecs` after its last renewal, as documented.
    lease_expiry_double_count: bool = False

    # Change queue / deltas (§6.9).
    retention_time_in_ms_in_delta_queue: int = 180_000
    delta_retention_timer_interval_in_ms: int = 30_000
    disable_delta: bool = False
    # How far back `GET /apps/delta?since=R` reaches (docs/design/propagation.md); an older
    # revision gets 410 and the client repairs by digest. Never less than the delta window.
    cursor_log_retention_ms: int = 900_000
    # Changes the cursor log keeps beyond the 3-minute delta window (kept whole, as Java's).
    cursor_log_max_entries: int = 100_000

    # Response cache (§7).
    response_cache_auto_expiration_in_seconds: int = 180
    response_cache_update_interval_ms: int = 30_000
    # Java defaults to True, which delays every change by up to 30 s (§7.5). Ours invalidates on
    # change and serves the read-write tier directly; True restores the 30 s read-only tier.
    use_read_only_response_cache: bool = False

    # Heartbeat lastDirtyTimestamp comparison (§2.3 (2)).
    sync_when_timestamp_differs: bool = True
    # Startup access window (§6.12).
    wait_time_in_ms_when_sync_empty: int = 300_000

    # `eureka.experimental.registration.validation.dataCenterInfoId` (§2.3 (1)).
    validate_data_center_info_id: bool = False
    # Admin overrides expire after this long without access (Guava expireAfterAccess(1 h), §6.1).
    override_map_ttl_ms: int = 3_600_000
    # Size of the "recently registered / cancelled" lists shown on the status page (§6.1).
    recent_list_size: int = 1000
    # Client cancellations remembered for anti-entropy (`registry/cancellations.py`): long enough
    # for every peer to run several rounds, few enough that a burst of cancels stays small.
    cancellation_retention_ms: int = 600_000
    cancellation_max_entries: int = 50_000

    # What one registration may make the registry keep (not in Java, which takes anything the
    # body limit lets through: a burst of 1 MB registrations took a node from 46 MB to 444 MB).
    # Far above what real clients send (Spring Cloud: ~10 metadata entries, < 1 KB in all).
    # Refused registrations answer 400 (single endpoint) or are skipped (replication, as any
    # registration failing validation). 0 turns a limit off.
    registration_max_metadata_entries: int = 256
    registration_max_metadata_bytes: int = 64 * 1024  # keys and values, UTF-8
    registration_max_field_length: int = 4096  # ids, names, addresses, URLs, metadata keys

    @property
    def effective_renewal_interval_seconds(self) -> int:
        """`expectedClientRenewalIntervalSeconds`, with Eureka's ≤ 0 ⇒ 30 fallback."""
        value = self.expected_client_renewal_interval_seconds
        return value if value > 0 else _DEFAULT_RENEWAL_INTERVAL_SECONDS

"""Self-preservation arithmetic (protocol.md §6.11), kept as Eureka computes it.

The weaknesses (§12.8) are kept for compatibility of behaviour, but `state()` explains in a
sentence why eviction is suspended, which Eureka's dashboard never did.
"""

from __future__ import annotations

from dataclasses import dataclass

from eureka.registry.config import RegistryConfig

__all__ = ["SelfPreservation", "SelfPreservationState"]


@dataclass(frozen=True, slots=True)
class SelfPreservationState:
    enabled: bool
    expected_clients: int
    threshold: int
    renews_last_min: int
    expiration_enabled: bool
    # A sentence saying why eviction is suspended (self-preservation); None while leases may
    # expire.
    reason: str | None


class SelfPreservation:
    """Expected-clients count, renewal threshold and the two-bucket renewals-per-minute counter."""

    __slots__ = ("_config", "_current_bucket", "_expected", "_last_minute", "_threshold", "_ticks")

    def __init__(self, config: RegistryConfig) -> None:
        self._config = config
        self._expected = config.expected_number_of_clients_sending_renews
        self._threshold = 0
        self._current_bucket = 0
        self._last_minute = 0
        self._ticks = 0
        self._recompute()

    # --- counters -------------------------------------------------------------------------------

    @property
    def expected_clients(self) -> int:
        return self._expected

    @property
    def threshold(self) -> int:
        return self._threshold

    @property
    def renews_last_min(self) -> int:
        return self._last_minute

    def _recompute(self) -> None:
        # int(expected × renewals per minute per client × percent), as Java's double arithmetic.
        per_client = 60.0 / self._config.effective_renewal_interval_seconds
        self._threshold = int(self._expected * per_client * self._config.renewal_percent_threshold)

    def on_new_registration(self) -> None:
        # Eureka only counts up from a positive value: a Netflix server that synced nothing stays
        # at 0 until the 15-minute task (§12.8).
        if self._expected > 0:
            self._expected += 1
            self._recompute()

    def on_cancel(self) -> None:
        if self._expected > 0:
            self._expected -= 1
            self._recompute()

    def record_renewal(self) -> None:
        self._current_bucket += 1

    def tick(self) -> None:
        """Close the current minute: it becomes "renewals in the last minute"."""
        self._last_minute = self._current_bucket
        self._current_bucket = 0
        self._ticks += 1

    def update_expected(self, count: int) -> None:
        """The 15-minute re-base: adopt `count` if above percent × expected, or when disabled."""
        config = self._config
        if count > config.renewal_percent_threshold * self._expected or (
            not config.enable_self_preservation
        ):
            self._expected = count
            self._recompute()

    def reset_expected(self, count: int) -> None:
        self._expected = count
        self._recompute()

    # --- decision -------------------------------------------------------------------------------

    def is_lease_expiration_enabled(self) -> bool:
        if not self._config.enable_self_preservation:
            return True
        return self._threshold > 0 and self._last_minute > self._threshold

    def state(self) -> SelfPreservationState:
        return SelfPreservationState(
            enabled=self._config.enable_self_preservation,
            expected_clients=self._expected,
            threshold=self._threshold,
            renews_last_min=self._last_minute,
            expiration_enabled=self.is_lease_expiration_enabled(),
            reason=self._reason(),
        )

    def _reason(self) -> str | None:
        if self.is_lease_expiration_enabled():
            return None
        config = self._config
        per_client = 60 // config.effective_renewal_interval_seconds or 1
        formula = (
            f"{self._expected} expected clients × {per_client} renewals/min × "
            f"{config.renewal_percent_threshold:.0%}"
        )
        if self._threshold <= 0:
            return (
                "The renewal threshold is 0 because no clients are expected to renew "
                f"({formula}); it rises as instances register or at the next threshold update."
            )
        if self._ticks == 0:
            return (
                "No full minute of renewals has been measured since the server opened for "
                f"traffic (threshold {self._threshold} = {formula})."
            )
        return (
            f"{self._last_minute} renewals were received in the last minute, not more than the "
            f"threshold of {self._threshold} ({formula}): instances are kept in case this is a "
            "network partition."
        )

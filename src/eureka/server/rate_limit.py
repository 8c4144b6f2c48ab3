"""Java's `RateLimitingFilter` (protocol.md §11.3): registry fetches beyond a rate answer 503.

Pure; time comes from the injected `Clock` through `TokenBucket`. As in Java it applies only to
GETs of `…/apps`, `…/apps/delta` and `…/apps/<app>`; registrations and heartbeats, cheap and vital,
are never limited. Standard clients are privileged (never limited) by their `DiscoveryIdentity-Name`
header — `DefaultClient` (Java's eureka-client) and `DefaultServer` (peers, remote-region fetchers)
— as are the names in `rate-limiter-privileged-clients`; `rate-limiter-throttle-standard-clients`
removes that privilege from all of them. Every other fetch takes a token from a bucket of
`rate-limiter-burst-size` refilled at `rate-limiter-registry-fetch-average-rate` per second, and a
full fetch also one from a second bucket refilled at `rate-limiter-full-fetch-average-rate`. A burst
or rate ≤ 0 lets everything through, as Java's `RateLimiter` does.

Deliberate difference: Java counts "candidates" even when the filter is disabled; here a disabled
limiter is not built at all, so it costs the hot read path nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from eureka.backoff import TokenBucket
from eureka.clock import Clock

__all__ = ["DEFAULT_PRIVILEGED_CLIENTS", "FetchLimiter", "FetchTarget"]

DEFAULT_PRIVILEGED_CLIENTS = frozenset({"DefaultClient", "DefaultServer"})


class FetchTarget(enum.Enum):
    FULL = "full"
    DELTA = "delta"
    APPLICATION = "application"


class FetchLimiter:
    def __init__(
        self,
        clock: Clock,
        *,
        burst_size: int,
        registry_fetch_average_rate: int,
        full_fetch_average_rate: int,
        privileged_clients: Iterable[str] = (),
        throttle_standard_clients: bool = False,
    ) -> None:
        self._fetches = _bucket(clock, burst_size, registry_fetch_average_rate)
        self._full_fetches = _bucket(clock, burst_size, full_fetch_average_rate)
        self._privileged = (
            frozenset()
            if throttle_standard_clients
            else DEFAULT_PRIVILEGED_CLIENTS | frozenset(privileged_clients)
        )
        self.limited = 0
        self.limited_full_fetch = 0

    def admit(self, target: FetchTarget, client_name: str) -> bool:
        """False: answer 503. `client_name` is the request's `DiscoveryIdentity-Name`."""
        if client_name in self._privileged:
            return True
        # Both buckets are asked (Java's `|=`), so a full fetch also spends a fetch token.
        admitted = self._fetches is None or self._fetches.try_acquire()
        if target is FetchTarget.FULL and self._full_fetches is not None:
            admitted = self._full_fetches.try_acquire() and admitted
        if not admitted:
            self.limited += 1
            if target is FetchTarget.FULL:
                self.limited_full_fetch += 1
        return admitted

    def stats(self) -> dict[str, int]:
        return {"rate_limited": self.limited, "rate_limited_full_fetch": self.limited_full_fetch}


def _bucket(clock: Clock, burst: int, per_second: int) -> TokenBucket | None:
    if burst <= 0 or per_second <= 0:
        return None
    return TokenBucket(clock, burst, per_second * 60)

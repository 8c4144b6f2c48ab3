"""Re-export of `eureka.backoff`, where the policies live now that the server uses them too."""

from __future__ import annotations

from eureka.backoff import RunOutcome, SupervisorBackoff, TokenBucket

__all__ = ["RunOutcome", "SupervisorBackoff", "TokenBucket"]

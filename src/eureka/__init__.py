"""eureka-py: a Netflix Eureka-compatible service registry, peer cluster and discovery client."""

from __future__ import annotations

__version__ = "0.1.0"

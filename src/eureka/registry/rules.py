"""The override rule chain that decides an instance's effective status (protocol.md §6.3).

Java composes `DownOrStartingRule`, `OverrideExistsRule`, (AWS only) `AsgEnabledRule`,
`LeaseExistsRule` and `AlwaysMatchInstanceStatusRule`; the first rule that matches wins. The AWS
rule is not implemented: this registry is not an AWS registry (the ASG endpoint answers 400).
"""

from __future__ import annotations

from eureka.model import InstanceStatus

__all__ = ["effective_status"]

_SERVER_OWNED = (InstanceStatus.UP, InstanceStatus.OUT_OF_SERVICE)


def effective_status(
    own_status: InstanceStatus,
    override: InstanceStatus | None,
    existing_status: InstanceStatus | None,
    *,
    is_replication: bool,
) -> InstanceStatus:
    """Effective status of an instance that reports `own_status`.

    `override` is the admin override recorded for its id, if any; `existing_status` is the status
    held by its existing lease (None for a new registration; the lease itself on renewal).
    """
    # 1. An instance saying it is not ready (DOWN, STARTING, UNKNOWN) is believed.
    if own_status not in _SERVER_OWNED:
        return own_status
    # 2. An admin override beats UP / OUT_OF_SERVICE from the instance.
    if override is not None:
        return override
    # 4. Between UP and OUT_OF_SERVICE the server has its way: an instance cannot take itself out
    #    of (or back into) traffic by re-registering. Peers are trusted, so not for replication.
    if not is_replication and existing_status in _SERVER_OWNED:
        assert existing_status is not None
        return existing_status
    # 5. Default: the instance's own status.
    return own_status

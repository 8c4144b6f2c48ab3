"""Eureka's data model: InstanceInfo, Application, Applications and their enumerations.

Field names follow Python conventions; the codecs map them to Eureka's wire keys (protocol.md §3.1).
Defaults are what a freshly constructed Java object holds, i.e. what a decoder assumes when a key is
absent — except the two "construction time" timestamps, which default to 0 so that the model stays a
pure value (the registry fills in its own clock where Java would).

The structs are `msgspec.Struct`s with `gc=False`: the server holds 100k instances, and a Struct is
about a third of the size of a slotted dataclass and is never traversed by the cycle collector. None
of these objects may therefore hold a reference cycle.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator

import msgspec

__all__ = [
    "AMAZON_CLASS",
    "DEFAULT_DATA_CENTER_CLASS",
    "ActionType",
    "Application",
    "Applications",
    "DataCenterInfo",
    "DataCenterName",
    "InstanceInfo",
    "InstanceStatus",
    "LeaseInfo",
]


class InstanceStatus(enum.StrEnum):
    UP = "UP"
    DOWN = "DOWN"
    STARTING = "STARTING"
    OUT_OF_SERVICE = "OUT_OF_SERVICE"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: str | None) -> InstanceStatus:
        """Exact-case lookup; unknown or missing strings become UNKNOWN (Java's JSON decoder)."""
        if value is None:
            return cls.UNKNOWN
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN

    @classmethod
    def parse_lenient(cls, value: str | None) -> InstanceStatus:
        """Case-insensitive lookup, as the XStream XML decoder does."""
        if value is None:
            return cls.UNKNOWN
        return cls.parse(value.strip().upper())


class ActionType(enum.StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"

    @classmethod
    def parse(cls, value: str | None) -> ActionType | None:
        """Unknown action types decode to None (the client then ignores the entry, §10.3)."""
        if value is None:
            return None
        try:
            return cls(value)
        except ValueError:
            return None


class DataCenterName(enum.StrEnum):
    NETFLIX = "Netflix"
    AMAZON = "Amazon"
    MY_OWN = "MyOwn"


DEFAULT_DATA_CENTER_CLASS = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"
AMAZON_CLASS = "com.netflix.appinfo.AmazonInfo"


class DataCenterInfo(msgspec.Struct, gc=False):
    """`name` is kept as given (unknown names survive); `metadata` only matters for Amazon.

    `class_name` is the `@class` / `class` value the decoder saw, kept so that unknown classes
    survive a round trip; encoders write the Java server's choice (§3.4) regardless.
    """

    name: str = DataCenterName.MY_OWN.value
    class_name: str | None = None
    metadata: dict[str, str] | None = None

    @property
    def is_amazon(self) -> bool:
        return self.name.lower() == "amazon"


class LeaseInfo(msgspec.Struct, gc=False):
    renewal_interval_in_secs: int = 30
    duration_in_secs: int = 90
    registration_timestamp: int = 0
    last_renewal_timestamp: int = 0
    eviction_timestamp: int = 0
    service_up_timestamp: int = 0


class InstanceInfo(msgspec.Struct, gc=False):
    """One registered instance. Mutable: the registry core updates status and timestamps."""

    app: str = ""
    instance_id: str | None = None
    host_name: str | None = None
    ip_addr: str | None = None
    sid: str = "na"
    status: InstanceStatus = InstanceStatus.UP
    overridden_status: InstanceStatus = InstanceStatus.UNKNOWN
    port: int = 7001
    port_enabled: bool = True
    secure_port: int = 7002
    secure_port_enabled: bool = False
    country_id: int = 1
    data_center_info: DataCenterInfo | None = None
    lease_info: LeaseInfo | None = None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    app_group_name: str | None = None
    home_page_url: str | None = None
    status_page_url: str | None = None
    health_check_url: str | None = None
    secure_health_check_url: str | None = None
    vip_address: str | None = None
    secure_vip_address: str | None = None
    is_coordinating_discovery_server: bool = False
    last_updated_timestamp: int = 0
    last_dirty_timestamp: int = 0
    action_type: ActionType | None = None
    asg_name: str | None = None

    @property
    def id(self) -> str:
        """Effective id (§3.2): instanceId, else the Amazon instance-id, else hostName."""
        if self.instance_id:
            return self.instance_id
        dci = self.data_center_info
        if dci is not None and dci.metadata and dci.is_amazon:
            amazon_id = dci.metadata.get("instance-id")
            if amazon_id:
                return amazon_id
        return self.host_name or ""

    def copy(self) -> InstanceInfo:
        """A copy sharing nothing mutable with the original (metadata, nested structs)."""
        dci = self.data_center_info
        return msgspec.structs.replace(
            self,
            metadata=dict(self.metadata),
            data_center_info=None
            if dci is None
            else DataCenterInfo(
                dci.name, dci.class_name, None if dci.metadata is None else dict(dci.metadata)
            ),
            lease_info=None
            if self.lease_info is None
            else msgspec.structs.replace(self.lease_info),
        )


class Application(msgspec.Struct, gc=False):
    """An application: upper-case name plus its instances keyed by effective id, in insertion order.

    Adding an instance whose id is present replaces it and moves it to the end, as Java does.
    """

    name: str
    instances_by_id: dict[str, InstanceInfo] = msgspec.field(default_factory=dict)

    @property
    def instances(self) -> list[InstanceInfo]:
        return list(self.instances_by_id.values())

    def add_instance(self, instance: InstanceInfo) -> None:
        key = instance.id
        self.instances_by_id.pop(key, None)
        self.instances_by_id[key] = instance

    def remove_instance(self, instance_id: str) -> InstanceInfo | None:
        return self.instances_by_id.pop(instance_id, None)

    def get_instance(self, instance_id: str) -> InstanceInfo | None:
        return self.instances_by_id.get(instance_id)

    def __len__(self) -> int:
        return len(self.instances_by_id)

    def __iter__(self) -> Iterator[InstanceInfo]:
        return iter(self.instances_by_id.values())


class Applications(msgspec.Struct, gc=False):
    """A registry payload: version, reconcile hash and applications keyed by upper-case name.

    `version` is `versions__delta`; −1 means "absent" (a client must then fetch in full, §5.3).
    `apps_hashcode` is None when the payload carried no hash.
    """

    version: int = -1
    apps_hashcode: str | None = None
    applications_by_name: dict[str, Application] = msgspec.field(default_factory=dict)

    @property
    def applications(self) -> list[Application]:
        return list(self.applications_by_name.values())

    def add_application(self, application: Application) -> None:
        self.applications_by_name[application.name.upper()] = application

    def get_application(self, name: str) -> Application | None:
        return self.applications_by_name.get(name.upper())

    def remove_application(self, name: str) -> Application | None:
        return self.applications_by_name.pop(name.upper(), None)

    def iter_instances(self) -> Iterator[InstanceInfo]:
        for application in self.applications_by_name.values():
            yield from application.instances_by_id.values()

    def instance_count(self) -> int:
        return sum(len(a) for a in self.applications_by_name.values())

    @classmethod
    def of(
        cls,
        instances: Iterable[InstanceInfo],
        version: int = -1,
        apps_hashcode: str | None = None,
    ) -> Applications:
        """Group instances into applications by `app` (upper-cased), in order of first sight."""
        result = cls(version=version, apps_hashcode=apps_hashcode)
        by_name = result.applications_by_name
        for instance in instances:
            name = instance.app.upper()
            application = by_name.get(name)
            if application is None:
                application = by_name[name] = Application(name)
            application.add_instance(instance)
        return result

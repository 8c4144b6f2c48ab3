"""Codec speed on a 10,000-instance registry: our JSON (and XML when present) vs the stdlib.

The reference rows encode/decode the *equivalent dict tree* (the same document as plain dicts)
with `json`, msgspec and orjson, so the ratios show what the model conversion and the exact
Eureka shape cost on top of raw JSON work. Run with `python -m bench codec`.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable
from types import ModuleType

import msgspec

from bench.table import best_of, ms, print_table
from eureka.codec import json as eureka_json
from eureka.model import (
    AMAZON_CLASS,
    DEFAULT_DATA_CENTER_CLASS,
    ActionType,
    Application,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)
from eureka.reconcile import reconcile_hash

try:  # the XML codec is written separately; include it once it exists
    from eureka.codec import xml as eureka_xml_module

    eureka_xml: ModuleType | None = eureka_xml_module
except ImportError:
    eureka_xml = None

try:
    import orjson as orjson_module

    orjson: ModuleType | None = orjson_module
except ImportError:  # not a declared dependency; the reference row is skipped without it
    orjson = None

INSTANCES = 10_000
APPS = 50
T0 = 1_754_500_000_000
_STATUSES = [InstanceStatus.UP] * 17 + [InstanceStatus.DOWN, InstanceStatus.STARTING]


def make_registry(instances: int = INSTANCES, apps: int = APPS, seed: int = 7) -> Applications:
    """A deterministic registry: every fifth app on Amazon (EC2 metadata, ASG, secure port),
    the rest Spring-Cloud style on MyOwn; most instances carry a little metadata."""
    rnd = random.Random(seed)
    registry = Applications(version=1)
    per_app = instances // apps
    for a in range(apps):
        name = f"SERVICE-{a:02d}"
        vip = name.lower()
        application = Application(name)
        amazon = a % 5 == 0
        for k in range(per_app):
            ip = f"10.{a}.{k // 250}.{k % 250}"
            registered = T0 - rnd.randrange(86_400_000)
            if amazon:
                instance_id = f"i-{rnd.getrandbits(64):016x}"
                host = f"ec2-54-{a}-{k // 250}-{k % 250}.compute-1.amazonaws.com"
                dci = DataCenterInfo(
                    "Amazon",
                    AMAZON_CLASS,
                    {
                        "local-hostname": f"ip-{ip.replace('.', '-')}.ec2.internal",
                        "instance-id": instance_id,
                        "public-ipv4": f"54.{a}.{k // 250}.{k % 250}",
                        "availability-zone": f"us-east-1{'abc'[k % 3]}",
                        "instance-type": "m5.large",
                        "ami-id": "ami-0abc1234def567890",
                        "accountId": "123456789012",
                        "public-hostname": host,
                        "vpc-id": "vpc-0123456789abcdef0",
                        "local-ipv4": ip,
                    },
                )
                port = 8080
            else:
                port = 8000 + a
                instance_id = f"{ip}:{vip}:{port}"
                host = ip
                dci = DataCenterInfo("MyOwn", DEFAULT_DATA_CENTER_CLASS)
            metadata = {} if k % 4 == 0 else {"management.port": str(port), "zone": f"z{k % 3}"}
            application.add_instance(
                InstanceInfo(
                    app=name,
                    instance_id=instance_id,
                    host_name=host,
                    ip_addr=ip,
                    status=rnd.choice(_STATUSES),
                    port=port,
                    secure_port=8443 if amazon else 443,
                    secure_port_enabled=amazon,
                    data_center_info=dci,
                    lease_info=LeaseInfo(30, 90, registered, T0 + 60_000, 0, registered),
                    metadata=metadata,
                    app_group_name="PAYMENTS" if amazon else None,
                    home_page_url=f"http://{host}:{port}/",
                    status_page_url=f"http://{host}:{port}/actuator/info",
                    health_check_url=f"http://{host}:{port}/actuator/health",
                    secure_health_check_url=f"https://{host}:8443/healthcheck" if amazon else None,
                    vip_address=vip,
                    secure_vip_address=vip,
                    last_updated_timestamp=registered,
                    last_dirty_timestamp=registered - 1_000,
                    action_type=ActionType.ADDED,
                    asg_name=f"{vip}-v001" if amazon else None,
                )
            )
        registry.add_application(application)
    registry.apps_hashcode = reconcile_hash(registry.iter_instances())
    return registry


Case = tuple[str, Callable[[], object], int | None]


def _table(reference: Case, cases: list[Case]) -> list[list[object]]:
    """Rows for one direction; the first case is the reference the others are divided by."""
    rows: list[list[object]] = []
    ref_seconds = best_of(reference[1])
    for label, fn, size in [reference, *cases]:
        seconds = ref_seconds if fn is reference[1] else best_of(fn)
        ratio = "1.00 (ref)" if fn is reference[1] else f"{seconds / ref_seconds:.2f}"
        rows.append([label, ms(seconds), ratio, "" if size is None else f"{size / 1e6:.2f} MB"])
    return rows


def run() -> None:
    registry = make_registry()
    full = eureka_json.encode_applications(registry)
    mini = eureka_json.encode_applications(registry, compact=True)
    tree = json.loads(full)
    fragments = [
        (app.name, [eureka_json.encode_instance_fragment(i) for i in app])
        for app in registry.applications
    ]
    hashcode = registry.apps_hashcode or ""
    instances = list(registry.iter_instances())

    def join() -> bytes:
        return eureka_json.join_applications(registry.version, hashcode, fragments)

    if join() != full:
        raise AssertionError("join_applications must reproduce encode_applications")

    def stdlib_dumps() -> bytes:
        return json.dumps(tree, separators=(",", ":"), ensure_ascii=False).encode()

    encodes: list[Case] = [
        ("msgspec.json.encode(dict tree)", lambda: msgspec.json.encode(tree), None)
    ]
    if orjson is not None:
        encodes.append(("orjson.dumps(dict tree)", lambda: orjson.dumps(tree), None))
    encodes += [
        (
            "eureka JSON encode_applications",
            lambda: eureka_json.encode_applications(registry),
            len(full),
        ),
        (
            "eureka JSON encode_applications compact",
            lambda: eureka_json.encode_applications(registry, compact=True),
            len(mini),
        ),
        ("eureka JSON join_applications (cached fragments)", join, len(full)),
        (
            "eureka JSON encode_instance_fragment x all",
            lambda: [eureka_json.encode_instance_fragment(i) for i in instances],
            None,
        ),
        (
            "gzip level 1 of eureka JSON",
            lambda: gzip.compress(full, 1),
            len(gzip.compress(full, 1)),
        ),
        (
            "gzip level 6 of eureka JSON",
            lambda: gzip.compress(full, 6),
            len(gzip.compress(full, 6)),
        ),
    ]
    decodes: list[Case] = [
        ("msgspec.json.decode (dict tree)", lambda: msgspec.json.decode(full), None),
        ("eureka JSON decode_applications", lambda: eureka_json.decode_applications(full), None),
        (
            "eureka JSON decode_applications compact",
            lambda: eureka_json.decode_applications(mini),
            len(mini),
        ),
    ]
    if eureka_xml is not None:
        xml_encode = eureka_xml.encode_applications
        xml_decode = eureka_xml.decode_applications
        xml_bytes = xml_encode(registry)
        encodes.append(
            ("eureka XML encode_applications", lambda: xml_encode(registry), len(xml_bytes))
        )
        decodes.append(("eureka XML decode_applications", lambda: xml_decode(xml_bytes), None))

    rows = _table(("stdlib json.dumps(dict tree)", stdlib_dumps, len(full)), encodes)
    rows += _table(("stdlib json.loads -> dict tree", lambda: json.loads(full), None), decodes)
    apps = len(registry.applications_by_name)
    print(f"{registry.instance_count()} instances in {apps} applications; median of 7 runs.")
    print("Ratio: encode rows vs stdlib json.dumps, decode rows vs stdlib json.loads.\n")
    print_table(["operation", "time", "ratio vs stdlib json", "output size"], rows)


if __name__ == "__main__":
    run()

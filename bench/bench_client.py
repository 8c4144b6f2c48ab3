"""Client-side registry costs: merging a 20-change delta, and parsing + indexing a full fetch.

Reference: py-eureka-client (the third-party Python client), driven on the same payloads through
its own code paths — `_build_applications(ElementTree.fromstring(xml))` for a fetch (it reads XML
only) and `EurekaClient.__merge_delta` + `__is_hash_match` for a delta — in the same run.

"merge" is what a client does with a decoded delta: apply it and compute the reconcile hash. Ours
also keeps the shuffled UP lists and VIP indexes current; py-eureka-client keeps no indexes (it
filters on every lookup), so the comparison favours it. Payload decoding is excluded from the
merge figures and included in the fetch figures.

Goals: merge flat in registry size (< 1 ms for 20 changes at 100k instances) and ≥ 10× faster
than py-eureka-client at 10k.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

from bench.table import best_of, ms, print_table
from eureka.client.state import ClientState
from eureka.clock import ManualClock
from eureka.codec import json as json_codec
from eureka.codec import xml as xml_codec
from eureka.model import (
    DEFAULT_DATA_CENTER_CLASS,
    ActionType,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)
from eureka.reconcile import reconcile_hash

SIZES = (1_000, 10_000, 100_000)
PER_APP = 100
ROUNDS, PER_ROUND = 7, 20  # best_of: median of 7 rounds of 20 deltas each


def instance(n: int, status: InstanceStatus = InstanceStatus.UP) -> InstanceInfo:
    app = f"service-{n // PER_APP:05d}"
    host = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    return InstanceInfo(
        app=app.upper(),
        instance_id=f"{host}:{app}:8080:{n}",
        host_name=host,
        ip_addr=host,
        status=status,
        port=8080,
        data_center_info=DataCenterInfo("MyOwn", DEFAULT_DATA_CENTER_CLASS),
        lease_info=LeaseInfo(30, 90, 1_754_499_000_000, 1_754_500_120_000, 0, 1_754_499_000_000),
        metadata={"management.port": "8080", "zone": f"z{n % 3}"},
        home_page_url=f"http://{host}:8080/",
        status_page_url=f"http://{host}:8080/actuator/info",
        health_check_url=f"http://{host}:8080/actuator/health",
        vip_address=app,
        secure_vip_address=app,
        last_updated_timestamp=1_754_500_000_000 + n,
        last_dirty_timestamp=1_754_499_990_000 + n,
        action_type=ActionType.ADDED,
    )


def full_registry(size: int) -> Applications:
    registry = Applications.of((instance(n) for n in range(size)), version=1)
    registry.apps_hashcode = reconcile_hash(registry.iter_instances())
    return registry


def deltas(size: int, count: int) -> list[Applications]:
    """`count` successive 20-change deltas: 10 registrations, 5 status flips, 5 cancellations
    (of instances the previous delta registered), so the registry size stays put."""
    rng = random.Random(size)
    result: list[Applications] = []
    previous: list[InstanceInfo] = []
    for i in range(count):
        entries = []
        added_now = []
        for k in range(10):
            added = instance(size + i * 10 + k)
            added.app = instance(rng.randrange(size)).app  # spread over existing apps
            entries.append(added)
            added_now.append(added)
        for _ in range(5):
            flipped = instance(rng.randrange(size), rng.choice(list(InstanceStatus)))
            flipped.action_type = ActionType.MODIFIED
            entries.append(flipped)
        for earlier in previous[:5]:
            gone = earlier.copy()
            gone.action_type = ActionType.DELETED
            entries.append(gone)
        previous = added_now
        result.append(Applications.of(entries, version=i + 2))
    return result


# ---- ours ---------------------------------------------------------------------------------------


def our_state(registry_json: bytes) -> ClientState:
    state = ClientState(clock=ManualClock(), rng=random.Random(0))
    state.install_full(json_codec.decode_applications(registry_json), state.generation)
    return state


def our_xml_state(registry_xml: bytes) -> ClientState:
    state = ClientState(clock=ManualClock(), rng=random.Random(0))
    state.install_full(xml_codec.decode_applications(registry_xml), state.generation)
    return state


def our_merge(state: ClientState, pending: Iterator[Applications]) -> Callable[[], object]:
    def merge() -> object:
        return state.apply_delta_payload(next(pending), state.generation)

    return merge


# ---- py-eureka-client ---------------------------------------------------------------------------


def their_client(registry_xml: bytes) -> Any:
    from py_eureka_client import eureka_basic, eureka_client

    client = eureka_client.EurekaClient.__new__(eureka_client.EurekaClient)
    client._EurekaClient__should_discover = True
    client._EurekaClient__application_mth_lock = threading.RLock()
    client._EurekaClient__applications = eureka_basic._build_applications(
        ElementTree.fromstring(registry_xml)
    )
    client._EurekaClient__delta = None
    return client


def their_merge(client: Any, pending: Iterator[Any]) -> Callable[[], object]:
    merge_delta = client._EurekaClient__merge_delta
    is_hash_match = client._EurekaClient__is_hash_match

    def merge() -> object:
        delta = next(pending)
        merge_delta(delta)
        client._EurekaClient__delta = delta
        return is_hash_match()

    return merge


def their_parse(registry_xml: bytes) -> object:
    from py_eureka_client import eureka_basic

    return eureka_basic._build_applications(ElementTree.fromstring(registry_xml))


# ---- the run ------------------------------------------------------------------------------------


def run() -> None:
    from py_eureka_client import eureka_basic

    merge_rows, fetch_rows = [], []
    for size in SIZES:
        registry = full_registry(size)
        registry_json = json_codec.encode_applications(registry)
        registry_xml = xml_codec.encode_applications(registry)
        count = ROUNDS * PER_ROUND
        our_deltas = deltas(size, count)
        their_deltas = [
            eureka_basic._build_applications(
                ElementTree.fromstring(xml_codec.encode_applications(d))
            )
            for d in our_deltas
        ]

        state = our_state(registry_json)
        work_before = state.meter.units
        ours = best_of(our_merge(state, iter(our_deltas)), ROUNDS, PER_ROUND)
        work_per_delta = (state.meter.units - work_before) / count
        theirs = best_of(
            their_merge(their_client(registry_xml), iter(their_deltas)), ROUNDS, PER_ROUND
        )
        merge_rows.append(
            [f"{size:,}", ms(ours), f"{work_per_delta:.0f}", ms(theirs), f"{theirs / ours:.0f}×"]
        )

        repeat = 5 if size <= 10_000 else 1
        ours_json = best_of(lambda: our_state(registry_json), repeat)  # noqa: B023
        ours_xml = best_of(lambda: our_xml_state(registry_xml), repeat)  # noqa: B023
        theirs_xml = best_of(lambda: their_parse(registry_xml), repeat)  # noqa: B023
        fetch_rows.append(
            [
                f"{size:,}",
                f"{len(registry_json) / 1e6:.1f} / {len(registry_xml) / 1e6:.1f} MB",
                ms(ours_json),
                ms(ours_xml),
                ms(theirs_xml),
                f"{theirs_xml / ours_json:.1f}×",
                f"{theirs_xml / ours_xml:.1f}×",
            ]
        )

    print("Delta merge (20 changes: 10 added, 5 modified, 5 deleted) + reconcile hash\n")
    print_table(["registry", "ours", "ours: index ops", "py-eureka-client", "speed-up"], merge_rows)
    print("\nFull fetch: parse + index (ours builds shuffled UP lists and VIP indexes)\n")
    print_table(
        [
            "registry",
            "payload JSON / XML",
            "ours JSON",
            "ours XML",
            "py-eureka-client XML",
            "vs ours JSON",
            "vs ours XML",
        ],
        fetch_rows,
    )

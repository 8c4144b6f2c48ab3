"""The fleet simulator's schedule is a pure seeded function with the shape it claims."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

from bench.fleet.schedule import KINDS, FleetShape, fleet_schedule

SHAPE = FleetShape(instances=2_000, seconds=65, churn_per_min=0.01, retention_s=30)


def _events(shape: FleetShape) -> tuple[list[bytes], list[tuple[int, int, int]]]:
    schedule = fleet_schedule(shape)
    events = list(schedule.events)
    return schedule.templates, events


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert _events(SHAPE) == _events(SHAPE)
    other = FleetShape(instances=2_000, seconds=65, churn_per_min=0.01, retention_s=30, seed=2)
    assert _events(other)[1] != _events(SHAPE)[1]


def test_send_times_are_in_order_and_every_instance_renews_and_polls_every_30_s() -> None:
    templates, events = _events(SHAPE)
    times = [t for t, _, _ in events]
    assert times == sorted(times)
    renewals: dict[bytes, list[int]] = defaultdict(list)
    for t, template, kind in events:
        if KINDS[kind] == "renew":
            path = templates[template].split(b"?")[0]
            renewals[path].append(t)
    assert len(renewals) == SHAPE.instances
    gaps = Counter(
        round((b - a) / 1e6) for times in renewals.values() for a, b in itertools.pairwise(times)
    )
    # 30 s apart, except across a restart (no renewal while the instance is down).
    assert gaps[30] >= 0.98 * sum(gaps.values())
    counts = Counter(KINDS[kind] for _, _, kind in events)
    expected = 2 * SHAPE.instances * SHAPE.seconds / 30
    assert abs(counts["renew"] + counts["delta"] - expected) < 0.02 * expected


def test_churn_rate_and_restarts_follow_the_shape() -> None:
    _templates, events = _events(SHAPE)
    counts = Counter(KINDS[kind] for _, _, kind in events)
    per_third = SHAPE.instances * SHAPE.churn_per_min / 3 * SHAPE.seconds / 60  # ≈ 7.2
    scale = 180 / SHAPE.retention_s
    assert abs(counts["status"] - per_third * scale) < 0.5 * per_third * scale
    # Re-registrations (scaled) plus one registration per restart, which also fetches in full.
    assert counts["cancel"] == counts["full"]
    assert counts["register"] >= counts["cancel"]


def test_a_re_registered_instance_renews_with_its_new_dirty_timestamp() -> None:
    templates, events = _events(SHAPE)
    for position, (_, template, kind) in enumerate(events):
        if KINDS[kind] != "register":
            continue
        request = templates[template]
        app_path = request.split(b" ")[1].decode()
        dirty = request.split(b'"lastDirtyTimestamp":"')[1].split(b'"')[0]
        instance_id = request.split(b'"instanceId":"')[1].split(b'"')[0].decode()
        renew_path = f"{app_path}/{instance_id}?".encode()
        later = []
        for _, t, k in events[position + 1 :]:
            if KINDS[k] == "register" and f'"instanceId":"{instance_id}"'.encode() in templates[t]:
                break  # registered again: a newer timestamp from here on
            if KINDS[k] == "renew" and renew_path in templates[t]:
                later.append(templates[t])
        if later:
            assert all(b"lastDirtyTimestamp=" + dirty in r for r in later)
            return
    raise AssertionError("no re-registration followed by a renewal")

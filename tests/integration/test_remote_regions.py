"""Remote regions between real server processes (protocol.md §9): node R is region us-west-2, the
other nodes fetch it over HTTP and serve it to their own clients. Nothing is mocked."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from lxml import etree

from tests.conftest import FIXTURES
from tests.integration.server_process import FAST_SETTINGS, ServerProcess, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("remote-regions")]

REGION = "us-west-2"
JSON = {"Accept": "application/json"}
# A real Spring Cloud client's registration body (shared/fixtures), re-addressed per instance.
TEMPLATE = json.loads((FIXTURES / "register-instance-springcloud-jersey.json").read_text())


def register(server: ServerProcess, app: str, instance_id: str, status: str = "UP") -> None:
    body = json.loads(json.dumps(TEMPLATE))
    info = body["instance"]
    info.update(app=app, instanceId=instance_id, hostName=f"{instance_id}.host", status=status)
    info["vipAddress"] = info["secureVipAddress"] = app.lower()
    response = httpx.post(
        f"{server.url}apps/{app}",
        json=body,
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )
    assert response.status_code == 204, response.text


def region_settings(remote: ServerProcess | str, **extra: str) -> dict[str, str]:
    url = remote.url if isinstance(remote, ServerProcess) else remote
    return {
        **FAST_SETTINGS,
        "eureka.server.remote-region-urls-with-name": f"{REGION};{url}",
        "eureka.server.remote-region-registry-fetch-interval": "1",
        **extra,
    }


def get_json(server: ServerProcess, path: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}{path}", headers=JSON)
    assert response.status_code == 200, (path, response.status_code, response.text)
    result: dict[str, Any] = response.json()
    return result


def instances(payload: dict[str, Any]) -> dict[str, dict[str, str]]:
    """app → instance id → status."""
    return {
        app["name"]: {i["instanceId"]: i["status"] for i in app["instance"]}
        for app in payload["applications"]["application"]
    }


def hash_of(payload: dict[str, Any]) -> str:
    counts = Counter(
        i["status"] for app in payload["applications"]["application"] for i in app["instance"]
    )
    return "".join(f"{status}_{counts[status]}_" for status in sorted(counts))


def region_status(server: ServerProcess) -> dict[str, Any]:
    result: dict[str, Any] = get_json(server, "status")["remote_regions"][REGION]
    return result


@pytest.fixture(scope="module")
def west() -> Iterator[ServerProcess]:
    with ServerProcess() as server:
        register(server, "WEST-ONLY", "w-1")
        register(server, "WEST-ONLY", "w-2", status="DOWN")
        register(server, "SHARED", "shared-west")
        register(server, "SECRET", "secret-1")
        yield server


def _wait_region(server: ServerProcess, instances_at_least: int) -> None:
    wait_for(
        lambda: (
            region_status(server)["ready"]
            and region_status(server)["instances"] >= instances_at_least
        ),
        timeout=15,
    )


@pytest.fixture(scope="module")
def local(west: ServerProcess) -> Iterator[ServerProcess]:
    """Region-aware node with transparent fallback (the default)."""
    with ServerProcess(settings=region_settings(west)) as server:
        register(server, "LOCAL-ONLY", "l-1")
        register(server, "SHARED", "shared-local")
        _wait_region(server, 4)
        yield server


@pytest.fixture(scope="module")
def strict(west: ServerProcess) -> Iterator[ServerProcess]:
    """No transparent fallback; only WEST-ONLY and SHARED may come over from us-west-2."""
    settings = region_settings(
        west,
        **{
            "eureka.server.disable-transparent-fallback-to-other-region": "true",
            f"eureka.server.remote-region-app-whitelist.{REGION}": "WEST-ONLY,shared",
        },
    )
    with ServerProcess(settings=settings) as server:
        register(server, "STRICT-LOCAL", "s-1")
        _wait_region(server, 4)
        yield server


# --- `?regions=` -------------------------------------------------------------------------------


def test_regions_answer_includes_the_other_regions_applications(local: ServerProcess) -> None:
    payload = get_json(local, f"apps?regions={REGION}")
    apps = instances(payload)
    assert apps["LOCAL-ONLY"] == {"l-1": "UP"}
    assert apps["WEST-ONLY"] == {"w-1": "UP", "w-2": "DOWN"}
    assert apps["SHARED"] == {"shared-local": "UP", "shared-west": "UP"}
    assert apps["SECRET"] == {"secret-1": "UP"}
    assert payload["applications"]["versions__delta"] == "1"
    # The hash covers both regions' instances: exactly those in the payload.
    assert payload["applications"]["apps__hashcode"] == hash_of(payload)
    assert hash_of(payload).startswith("DOWN_1_UP_")


def test_regions_answer_in_xml_and_gzip(local: ServerProcess) -> None:
    response = httpx.get(
        f"{local.url}apps?regions={REGION.upper()}",
        headers={"Accept": "application/xml", "Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    root = etree.fromstring(response.content)
    names = {app.findtext("name") for app in root.iter("application")}
    assert {"LOCAL-ONLY", "WEST-ONLY", "SHARED"} <= names


def test_regions_delta_carries_both_regions_and_the_full_views_hash(local: ServerProcess) -> None:
    delta = get_json(local, f"apps/delta?regions={REGION}")
    full = get_json(local, f"apps?regions={REGION}")
    assert delta["applications"]["apps__hashcode"] == full["applications"]["apps__hashcode"]
    apps = instances(delta)
    # Our own recent registration, and the region's current delta.
    assert "l-1" in apps["LOCAL-ONLY"]
    assert {"w-1", "w-2"} <= set(apps["WEST-ONLY"])
    assert all(
        i["actionType"] in ("ADDED", "MODIFIED", "DELETED")
        for app in delta["applications"]["application"]
        for i in app["instance"]
    )


def test_local_registrations_do_not_travel_to_the_other_region(
    local: ServerProcess, west: ServerProcess
) -> None:
    assert "LOCAL-ONLY" not in instances(get_json(west, "apps"))


# --- transparent fallback ----------------------------------------------------------------------


def test_no_regions_requests_fall_back_to_the_other_region(local: ServerProcess) -> None:
    payload = get_json(local, "apps")
    apps = instances(payload)
    assert apps["WEST-ONLY"] == {"w-1": "UP", "w-2": "DOWN"}
    assert apps["SHARED"] == {"shared-local": "UP", "shared-west": "UP"}
    assert payload["applications"]["apps__hashcode"] == hash_of(payload)
    # The region-less delta leads to the same view, so its hash matches (unlike Java's, §12.17).
    delta = get_json(local, "apps/delta")
    assert delta["applications"]["apps__hashcode"] == hash_of(payload)

    application = get_json(local, "apps/WEST-ONLY")["application"]
    assert {i["instanceId"] for i in application["instance"]} == {"w-1", "w-2"}
    assert get_json(local, "apps/WEST-ONLY/w-2")["instance"]["status"] == "DOWN"
    assert get_json(local, "instances/secret-1")["instance"]["app"] == "SECRET"
    vip = instances(get_json(local, "vips/west-only"))
    assert vip == {"WEST-ONLY": {"w-1": "UP", "w-2": "DOWN"}}


def test_without_fallback_only_regions_requests_see_the_region_and_its_whitelist(
    strict: ServerProcess,
) -> None:
    plain = instances(get_json(strict, "apps"))
    assert set(plain) == {"STRICT-LOCAL"}
    assert httpx.get(f"{strict.url}apps/WEST-ONLY", headers=JSON).status_code == 404
    assert httpx.get(f"{strict.url}apps/WEST-ONLY/w-1", headers=JSON).status_code == 404

    payload = get_json(strict, f"apps?regions={REGION}")
    apps = instances(payload)
    # The whitelist is compared with upper-case application names ("shared" matches SHARED).
    assert set(apps) == {"STRICT-LOCAL", "WEST-ONLY", "SHARED"}
    assert payload["applications"]["apps__hashcode"] == hash_of(payload)
    delta = instances(get_json(strict, f"apps/delta?regions={REGION}"))
    assert "SECRET" not in delta and "WEST-ONLY" in delta


# --- changes on the other region reach us ------------------------------------------------------


def test_a_change_on_the_other_region_reaches_local_answers(
    local: ServerProcess, west: ServerProcess
) -> None:
    # Prime the cached payloads, so that only remote-update invalidation can refresh them.
    get_json(local, f"apps?regions={REGION}")
    get_json(local, "apps")
    register(west, "LATE", "late-1")

    def late_everywhere() -> bool:
        return all(
            "LATE" in instances(get_json(local, path))
            for path in (f"apps?regions={REGION}", "apps", f"apps/delta?regions={REGION}")
        )

    wait_for(late_everywhere, timeout=10)
    assert get_json(local, "apps/LATE")["application"]["name"] == "LATE"

    response = httpx.put(f"{west.url}apps/LATE/late-1/status?value=OUT_OF_SERVICE")
    assert response.status_code == 200

    def out_of_service() -> dict[str, Any] | None:
        payload = get_json(local, f"apps?regions={REGION}")
        late = instances(payload).get("LATE", {})
        return payload if late.get("late-1") == "OUT_OF_SERVICE" else None

    payload = wait_for(out_of_service, timeout=10)
    assert payload["applications"]["apps__hashcode"] == hash_of(payload)

    assert httpx.delete(f"{west.url}apps/LATE/late-1").status_code == 200
    wait_for(lambda: "LATE" not in instances(get_json(local, f"apps?regions={REGION}")), 10)
    wait_for(
        lambda: httpx.get(f"{local.url}apps/LATE", headers=JSON).status_code == 404, timeout=10
    )
    # Deltas did the work: the region was fetched in full once, at start-up.
    state = region_status(local)
    assert state["full_fetches"] == 1 and state["delta_fetches"] > 0
    assert state["hash_mismatches"] == 0


# --- status and readiness ----------------------------------------------------------------------


def test_status_reports_the_region(local: ServerProcess, west: ServerProcess) -> None:
    state = region_status(local)
    assert state["ready"] is True
    assert state["url"] == west.url
    assert state["last_error"] is None and state["consecutive_failures"] == 0
    assert state["instances"] >= 4 and state["last_fetch_ms"] > 0


def test_an_unreachable_region_refuses_regions_requests_but_not_others() -> None:
    dead = f"http://127.0.0.1:{free_port()}/eureka/"
    settings = region_settings(dead, **{"eureka.server.remote-region-connect-timeout-ms": "300"})
    started = time.monotonic()
    with ServerProcess(settings=settings) as server:
        # Start-up waits for the first fetch only as long as the timeouts allow.
        assert time.monotonic() - started < 10
        assert httpx.get(f"{server.url}apps?regions={REGION}", headers=JSON).status_code == 403
        assert httpx.get(f"{server.url}apps/delta?regions={REGION}").status_code == 403
        assert httpx.get(f"{server.url}apps", headers=JSON).status_code == 200
        state = region_status(server)
        assert state["ready"] is False
        assert state["last_error"] and state["consecutive_failures"] >= 1

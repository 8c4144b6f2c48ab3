"""The REST API of a real `eureka server` process, spoken to over HTTP (protocol.md §1–2)."""

from __future__ import annotations

import gzip
import json
import signal
import time

import httpx
import pytest
from lxml import etree

from tests.conftest import FIXTURES, JAVA_HTTP
from tests.integration.server_process import ServerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("http")]

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
XML_HEADERS = {"Accept": "application/xml", "Content-Type": "application/xml"}

REGISTRATIONS = [
    # (fixture, content type, app, effective id)
    (
        "register-instance-netflix-client.json",
        "json",
        "INVENTORY-SERVICE",
        "inventory-1.example.internal",
    ),
    (
        "register-instance-netflix-client.xml",
        "xml",
        "INVENTORY-SERVICE",
        "inventory-1.example.internal",
    ),
    (
        "register-instance-springcloud-jersey.json",
        "json",
        "ORDER-SERVICE",
        "10.0.1.13:order-service:8080",
    ),
    (
        "register-instance-springcloud-restclient.json",
        "json",
        "ORDER-SERVICE",
        "10.0.1.13:order-service:8080",
    ),
    ("register-instance-amazon.json", "json", "PAYMENT-SERVICE", "i-0a1b2c3d4e5f60001"),
]


def _register(base: str, fixture: str, kind: str, app: str) -> httpx.Response:
    body = (FIXTURES / fixture).read_bytes()
    headers = JSON_HEADERS if kind == "json" else XML_HEADERS
    return httpx.post(f"{base}/eureka/apps/{app}", content=body, headers=headers)


def _apps_json(base: str, path: str = "/eureka/apps") -> dict:
    response = httpx.get(f"{base}{path}", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()


def _instances(payload: dict) -> dict[str, str]:
    return {
        i["instanceId"] if "instanceId" in i else i["hostName"]: i["status"]
        for a in payload["applications"]["application"]
        for i in a["instance"]
    }


def _revision(base: str) -> int:
    return httpx.get(f"{base}/eureka/status").json()["registry"]["revision"]


@pytest.mark.parametrize(("fixture", "kind", "app", "instance_id"), REGISTRATIONS)
def test_register_fixture_and_read_back_in_both_formats(
    server: ServerProcess, fixture: str, kind: str, app: str, instance_id: str
) -> None:
    response = _register(server.base, fixture, kind, app)
    assert response.status_code == 204
    assert response.content == b""

    as_json = httpx.get(
        f"{server.base}/eureka/apps/{app}/{instance_id}", headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    instance = as_json.json()["instance"]
    sent = (FIXTURES / fixture).read_text()
    assert instance["app"] == app
    assert instance["hostName"] in sent
    assert str(instance["port"]["$"]) in sent
    assert instance["port"]["@enabled"] == "true"
    assert isinstance(instance["leaseInfo"]["registrationTimestamp"], int)
    assert instance["leaseInfo"]["registrationTimestamp"] > 0
    assert instance["actionType"] == "ADDED"

    as_xml = httpx.get(
        f"{server.base}/eureka/apps/{app}/{instance_id}", headers={"Accept": "application/xml"}
    )
    assert as_xml.status_code == 200
    root = etree.fromstring(as_xml.content)
    assert root.tag == "instance"
    assert root.findtext("hostName") == instance["hostName"]
    assert root.findtext("status") == instance["status"]


def test_full_delta_app_instance_and_vip_reads(server: ServerProcess) -> None:
    for fixture, kind, app, _ in REGISTRATIONS:
        assert _register(server.base, fixture, kind, app).status_code == 204

    full = _apps_json(server.base)["applications"]
    assert full["versions__delta"] == "1"
    statuses = sorted(i["status"] for a in full["application"] for i in a["instance"])
    # Netflix client registers STARTING; the two ORDER-SERVICE bodies share one id.
    assert len(statuses) == 3
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    assert full["apps__hashcode"] == "".join(f"{k}_{counts[k]}_" for k in sorted(counts))

    delta = _apps_json(server.base, "/eureka/apps/delta")["applications"]
    assert int(delta["versions__delta"]) >= 1
    assert delta["apps__hashcode"] == full["apps__hashcode"]
    assert {i["actionType"] for a in delta["application"] for i in a["instance"]} == {"ADDED"}

    app = httpx.get(
        f"{server.base}/eureka/apps/order-service", headers={"Accept": "application/json"}
    )
    assert app.status_code == 200
    assert app.json()["application"]["name"] == "ORDER-SERVICE"

    by_id = httpx.get(
        f"{server.base}/eureka/instances/i-0a1b2c3d4e5f60001",
        headers={"Accept": "application/json"},
    )
    assert by_id.status_code == 200
    assert by_id.json()["instance"]["dataCenterInfo"]["name"] == "Amazon"

    vip = _apps_json(server.base, "/eureka/vips/order-service")["applications"]
    assert vip["versions__delta"] == "-1"
    assert [a["name"] for a in vip["application"]] == ["ORDER-SERVICE"]
    svip = _apps_json(server.base, "/eureka/svips/payment-service-secure")["applications"]
    assert [a["name"] for a in svip["application"]] == ["PAYMENT-SERVICE"]
    unknown = _apps_json(server.base, "/eureka/vips/no-such-vip")["applications"]
    assert unknown["application"] == []
    assert unknown["versions__delta"] == "-1"

    assert httpx.get(f"{server.base}/eureka/apps/NO-SUCH-APP").status_code == 404
    assert httpx.get(f"{server.base}/eureka/apps/ORDER-SERVICE/nope").status_code == 404
    assert httpx.get(f"{server.base}/eureka/instances/nope").status_code == 404


def test_negotiation_paths_and_gzip(server: ServerProcess) -> None:
    assert _register(server.base, *REGISTRATIONS[2][:3]).status_code == 204

    no_accept = httpx.get(f"{server.base}/eureka/apps", headers={"Accept-Encoding": "identity"})
    assert no_accept.headers["content-type"].startswith("application/xml")
    assert etree.fromstring(no_accept.content).tag == "applications"

    identity = httpx.get(
        f"{server.base}/eureka/apps",
        headers={"Accept": "application/json", "Accept-Encoding": "identity"},
    )
    with httpx.Client() as client:
        raw = client.send(
            client.build_request(
                "GET",
                f"{server.base}/eureka/apps",
                headers={"Accept": "application/json", "Accept-Encoding": "gzip"},
            ),
            stream=True,
        )
        compressed = b"".join(raw.iter_raw())
        raw.close()
    assert raw.headers["content-encoding"] == "gzip"
    assert gzip.decompress(compressed) == identity.content

    expected = identity.json()
    for path in ("/eureka/v2/apps", "/v2/apps/", "/eureka/apps/", "/eureka/V2/apps"):
        assert _apps_json(server.base, path) == expected, path

    encoded = httpx.get(
        f"{server.base}/eureka/apps/ORDER-SERVICE/10.0.1.13%3Aorder-service%3A8080",
        headers={"Accept": "application/json"},
    )
    assert encoded.status_code == 200

    compact = httpx.get(
        f"{server.base}/eureka/apps",
        headers={"Accept": "application/json", "X-Eureka-Accept": "compact"},
    ).json()
    instance = compact["applications"]["application"][0]["instance"][0]
    assert "leaseInfo" not in instance
    assert "metadata" not in instance


def test_v1_xml_renders_out_of_service_as_down(server: ServerProcess) -> None:
    assert _register(server.base, *REGISTRATIONS[2][:3]).status_code == 204
    iid = REGISTRATIONS[2][3]
    assert (
        httpx.put(f"{server.base}/eureka/apps/ORDER-SERVICE/{iid}/status?value=OUT_OF_SERVICE")
    ).status_code == 200
    v1 = etree.fromstring(httpx.get(f"{server.base}/eureka/v1/apps").content)
    v2 = etree.fromstring(httpx.get(f"{server.base}/eureka/v2/apps").content)
    assert v1.findtext("application/instance/status") == "DOWN"
    assert v2.findtext("application/instance/status") == "OUT_OF_SERVICE"
    # The hash counts the real status in both (§4.4).
    assert v1.findtext("apps__hashcode") == "OUT_OF_SERVICE_1_"
    # Our single-instance XML shows the true status (the Java V1 quirk is a bug, §11a).
    single = etree.fromstring(
        httpx.get(
            f"{server.base}/eureka/apps/ORDER-SERVICE/{iid}", headers={"Accept": "application/xml"}
        ).content
    )
    assert single.findtext("status") == "OUT_OF_SERVICE"


def test_renew_status_codes(server: ServerProcess) -> None:
    base = f"{server.base}/eureka/apps/ORDER-SERVICE/10.0.1.13:order-service:8080"
    assert _register(server.base, *REGISTRATIONS[2][:3]).status_code == 204
    stored = 1754500005000  # lastDirtyTimestamp of the fixture

    ok = httpx.put(f"{base}?status=UP&lastDirtyTimestamp={stored}")
    assert (ok.status_code, ok.content) == (200, b"")
    newer = httpx.put(f"{base}?status=UP&lastDirtyTimestamp={stored + 1}")
    assert (newer.status_code, newer.content) == (404, b"")
    older = httpx.put(f"{base}?status=UP&lastDirtyTimestamp={stored - 1000}")
    assert (older.status_code, older.content) == (200, b"")
    conflict = httpx.put(
        f"{base}?status=UP&lastDirtyTimestamp={stored - 1000}",
        headers={"x-netflix-discovery-replication": "true", "Accept": "application/json"},
    )
    assert conflict.status_code == 409
    assert conflict.json()["instance"]["lastDirtyTimestamp"] == str(stored)
    assert httpx.put(f"{server.base}/eureka/apps/ORDER-SERVICE/no-such-id").status_code == 404
    assert httpx.put(f"{server.base}/eureka/apps/NO-SUCH-APP/no-such-id").status_code == 404
    assert httpx.put(f"{base}").status_code == 200


def test_override_lifecycle_and_cancel(server: ServerProcess) -> None:
    iid = "10.0.1.13:order-service:8080"
    base = f"{server.base}/eureka/apps/ORDER-SERVICE/{iid}"
    assert _register(server.base, *REGISTRATIONS[2][:3]).status_code == 204

    assert httpx.put(f"{base}/status?value=OUT_OF_SERVICE").status_code == 200
    assert _instances(_apps_json(server.base))[iid] == "OUT_OF_SERVICE"
    overrides = httpx.get(f"{server.base}/eureka/serverinfo/statusoverrides").json()
    assert overrides == {iid: "OUT_OF_SERVICE"}
    # The override survives a renewal and a re-registration saying UP.
    assert httpx.put(base).status_code == 200
    assert _register(server.base, *REGISTRATIONS[2][:3]).status_code == 204
    assert _instances(_apps_json(server.base))[iid] == "OUT_OF_SERVICE"
    delta = _apps_json(server.base, "/eureka/apps/delta")
    assert _instances(delta)[iid] == "OUT_OF_SERVICE"

    # Deleting the override leaves UNKNOWN; the next heartbeat is told to re-register.
    assert httpx.delete(f"{base}/status").status_code == 200
    assert _instances(_apps_json(server.base))[iid] == "UNKNOWN"
    assert httpx.put(base).status_code == 404
    assert _register(server.base, *REGISTRATIONS[2][:3]).status_code == 204
    assert _instances(_apps_json(server.base))[iid] == "UP"

    assert httpx.put(f"{base}/metadata?zone=z1").status_code == 200
    instance = httpx.get(base, headers={"Accept": "application/json"}).json()["instance"]
    assert instance["metadata"]["zone"] == "z1"

    assert (
        httpx.put(f"{server.base}/eureka/apps/ORDER-SERVICE/nope/status?value=UP").status_code
        == 404
    )
    assert httpx.delete(f"{server.base}/eureka/apps/ORDER-SERVICE/nope/status").status_code == 404
    assert httpx.delete(base).status_code == 200
    assert httpx.delete(base).status_code == 404
    delta = _apps_json(server.base, "/eureka/apps/delta")
    deleted = [
        i
        for a in delta["applications"]["application"]
        for i in a["instance"]
        if i["instanceId"] == iid
    ]
    assert deleted[0]["actionType"] == "DELETED"
    assert _apps_json(server.base)["applications"]["application"] == []


def test_bad_input_gets_4xx_and_changes_nothing(server: ServerProcess) -> None:
    assert _register(server.base, *REGISTRATIONS[0][:3]).status_code == 204
    before = httpx.get(f"{server.base}/eureka/apps", headers={"Accept": "application/json"}).content
    revision = _revision(server.base)
    apps = f"{server.base}/eureka/apps"
    iid = f"{apps}/INVENTORY-SERVICE/inventory-1.example.internal"

    malformed_json = httpx.post(
        f"{apps}/ORDER-SERVICE",
        content=(JAVA_HTTP / "44-register-malformed-json.req.json").read_bytes(),
        headers=JSON_HEADERS,
    )
    assert malformed_json.status_code == 400
    assert json.loads(malformed_json.content) == json.loads(
        (JAVA_HTTP / "44-register-malformed-json.resp.json").read_bytes()
    )
    malformed_xml = httpx.post(
        f"{apps}/ORDER-SERVICE",
        content=(JAVA_HTTP / "45-register-malformed-xml.req.xml").read_bytes(),
        headers=XML_HEADERS,
    )
    assert malformed_xml.status_code == 400
    assert (
        etree.fromstring(malformed_xml.content).findtext("message") == "cannot parse request body"
    )

    missing_host = httpx.post(
        f"{apps}/ORDER-SERVICE",
        content=(JAVA_HTTP / "46-register-missing-hostname.req.json").read_bytes(),
        headers=JSON_HEADERS,
    )
    assert (missing_host.status_code, missing_host.text) == (400, "Missing hostname")
    mismatch = httpx.post(
        f"{apps}/OTHER-APP",
        content=(JAVA_HTTP / "47-register-app-name-mismatch.req.json").read_bytes(),
        headers=JSON_HEADERS,
    )
    assert mismatch.status_code == 400
    assert mismatch.text == (JAVA_HTTP / "47-register-app-name-mismatch.resp.json").read_text()
    text_plain = httpx.post(
        f"{apps}/ORDER-SERVICE",
        content=(JAVA_HTTP / "48-register-text-plain.req.txt").read_bytes(),
        headers={"Content-Type": "text/plain"},
    )
    assert text_plain.status_code == 415

    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<instance><hostName>&lol2;</hostName><app>ORDER-SERVICE</app></instance>"
    )
    assert (
        httpx.post(f"{apps}/ORDER-SERVICE", content=laughs, headers=XML_HEADERS).status_code == 400
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<instance><hostName>&e;</hostName></instance>"
    )
    assert (
        httpx.post(f"{apps}/ORDER-SERVICE", content=external, headers=XML_HEADERS).status_code
        == 400
    )
    huge = b'{"instance":{"hostName":"' + b"x" * (9 * 1024 * 1024) + b'"}}'
    assert (
        httpx.post(f"{apps}/ORDER-SERVICE", content=huge, headers=JSON_HEADERS).status_code == 413
    )
    not_gzip = httpx.post(
        f"{apps}/ORDER-SERVICE",
        content=b"not gzip at all",
        headers={**JSON_HEADERS, "Content-Encoding": "gzip"},
    )
    assert not_gzip.status_code == 400

    assert httpx.put(f"{iid}/status?value=SLEEPING").status_code == 400
    assert httpx.put(f"{iid}/status").status_code == 400
    assert httpx.put(f"{iid}?lastDirtyTimestamp=yesterday").status_code == 400
    assert httpx.put(f"{iid}?overriddenstatus=nope").status_code == 400
    assert httpx.delete(f"{iid}/status?value=maybe").status_code == 400
    assert (
        httpx.post(
            f"{server.base}/eureka/peerreplication/batch/", content=b"{", headers=JSON_HEADERS
        ).status_code
        == 400
    )
    assert httpx.post(f"{apps}", content=b"{}", headers=JSON_HEADERS).status_code == 405
    assert httpx.get(f"{server.base}/eureka/nothing/here/at/all").status_code == 404

    after = httpx.get(f"{server.base}/eureka/apps", headers={"Accept": "application/json"}).content
    assert after == before
    assert _revision(server.base) == revision


def test_lease_expiry_evicts_and_reports_deleted_in_delta() -> None:
    settings = {
        "eureka.server.eviction-interval-timer-in-ms": "200",
        "eureka.server.enable-self-preservation": "false",
    }
    with ServerProcess(settings=settings) as server:
        body = json.loads((FIXTURES / "register-instance-springcloud-jersey.json").read_text())
        body["instance"]["leaseInfo"]["durationInSecs"] = 1
        registered = httpx.post(
            f"{server.base}/eureka/apps/ORDER-SERVICE", json=body, headers=JSON_HEADERS
        )
        assert registered.status_code == 204
        started = time.monotonic()
        wait_for(lambda: _apps_json(server.base)["applications"]["application"] == [], timeout=10)
        # Honest expiry: gone about one lease duration (1 s) after the last renewal, not two.
        assert time.monotonic() - started < 4.0
        delta = _apps_json(server.base, "/eureka/apps/delta")
        assert [
            i["actionType"] for a in delta["applications"]["application"] for i in a["instance"]
        ] == ["DELETED"]
        assert "evicted" in server.output()


def test_status_page_dashboard_and_clean_shutdown() -> None:
    server = ServerProcess().start()
    try:
        status = httpx.get(f"{server.base}/eureka/status").json()
        assert status["registry"]["instances"] == 0
        assert "self_preservation" in status
        page = httpx.get(f"{server.base}/")
        assert page.status_code == 200
        assert "eureka-py" in page.text
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0
    assert "stopped" in server.output()

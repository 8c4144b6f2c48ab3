"""The dashboard in a real headless Chromium, against real server processes.

Each test drives the page as an operator would and checks what it shows; screenshots of the
states an operator cares about go to docs/screenshots/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from tests.browser.conftest import screenshot
from tests.integration.server_process import FAST_SETTINGS, ServerProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("browser")]

T = TypeVar("T")
REFRESH_MS = 300
PAGE = 50


def register(
    server: ServerProcess,
    app: str,
    instance_id: str,
    *,
    status: str = "UP",
    zone: str = "zone-a",
    status_page: str | None = None,
    metadata: dict[str, str] | None = None,
    duration: int = 90,
) -> None:
    body = {
        "instance": {
            "instanceId": instance_id,
            "hostName": f"{instance_id}.example",
            "app": app,
            "ipAddr": "10.0.0.1",
            "status": status,
            "port": {"$": 8080, "@enabled": "true"},
            "statusPageUrl": status_page or f"http://10.0.0.1:8080/{instance_id}/info",
            "metadata": {"zone": zone, **(metadata or {})},
            "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": duration},
            "dataCenterInfo": {
                "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                "name": "MyOwn",
            },
        }
    }
    response = httpx.post(f"{server.base}/eureka/apps/{app}", json=body)
    assert response.status_code == 204, response.text


def eventually(predicate: Callable[[], T], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception:  # the element may be re-rendered between lookup and use
            last = None
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s (last: {last!r})")


def css(driver: Any, selector: str) -> list[Any]:
    return list(driver.find_elements("css selector", selector))


def text_of(driver: Any, selector: str) -> str:
    """The element's text with white space collapsed, read in one script: sections are
    re-rendered on every poll, so an element found in one call may be gone in the next."""
    value = driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", selector
    )
    return " ".join(str(value).split())


def open_dashboard(driver: Any, server: ServerProcess) -> None:
    driver.get(f"{server.base}/?refresh={REFRESH_MS}&page={PAGE}")
    eventually(lambda: driver.execute_script("return document.body.dataset.renders"))


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    # Self-preservation off (FAST_SETTINGS): this node shows the "switched off" warning.
    with ServerProcess(settings=FAST_SETTINGS) as proc:
        register(proc, "ORDERS", "orders-1", zone="zone-a")
        register(proc, "ORDERS", "orders-2", zone="zone-b")
        register(proc, "ORDERS", "orders-3", status="DOWN", zone="zone-b")
        register(proc, "BILLING", "billing-1", metadata={"version": "1.4.2"})
        for n in range(120):
            register(proc, "CATALOG", f"catalog-{n:03d}", zone=f"zone-{'abc'[n % 3]}")
        yield proc


def test_the_dashboard_renders_status_peers_and_applications(
    browser: Any, server: ServerProcess
) -> None:
    open_dashboard(browser, server)
    system = text_of(browser, "#system-left")
    assert "Environment test" in system and "Data center default" in system
    assert "Lease expiration enabled true" in system
    status = httpx.get(f"{server.base}/eureka/status").json()
    right = text_of(browser, "#system-right")
    assert f"Registry revision {status['registry']['revision']}" in right
    assert "Instances 124" in right
    assert "No peers: this node runs alone." in text_of(browser, "#peers")
    # Applications sorted, each with its status badges; non-UP in red.
    names = [row.get_attribute("data-app") for row in css(browser, "tr.app-row")]
    assert names == ["BILLING", "CATALOG", "ORDERS"]
    orders = browser.find_element("css selector", 'tr[data-app="ORDERS"]')
    badges = {
        b.get_attribute("data-status"): b for b in orders.find_elements("css selector", ".badge")
    }
    assert badges["UP"].text == "UP (2)" and badges["DOWN"].text == "DOWN (1)"
    assert "bad" in (badges["DOWN"].get_attribute("class") or "")
    assert "up" in (badges["UP"].get_attribute("class") or "")
    assert "zone-a (1), zone-b (2)" in orders.text
    # Self-preservation is off here: the distinct warning, not the red banner.
    assert css(browser, "#sp-off-banner") and not css(browser, "#sp-banner")
    general = text_of(browser, "#general")
    assert "Number of CPUs" in general and "Registered replicas —" in general
    own = text_of(browser, "#own-instance")
    assert f"127.0.0.1:{server.port}" in own
    # Expanding an application lists its instances grouped by status, ids linked.
    orders.click()
    eventually(lambda: css(browser, 'tr[data-detail="ORDERS"] tr[data-instance]'))
    detail = browser.find_element("css selector", 'tr[data-detail="ORDERS"]')
    groups = [g.text for g in detail.find_elements("css selector", "tr.group")]
    assert groups == ["UP (2)", "DOWN (1)"]
    anchor = detail.find_element("css selector", 'tr[data-instance="orders-1"] a')
    assert anchor.get_attribute("href") == "http://10.0.0.1:8080/orders-1/info"
    billing = browser.find_element("css selector", 'tr[data-app="BILLING"]')
    billing.click()
    meta = eventually(lambda: css(browser, 'tr[data-instance="billing-1"] details'))[0]
    meta.click()  # the list is built when first opened
    eventually(lambda: "version" in meta.text and "1.4.2" in meta.text)
    print("screenshot:", screenshot(browser, "dashboard"))


def test_a_registered_instance_appears_without_reload(browser: Any, server: ServerProcess) -> None:
    open_dashboard(browser, server)
    browser.execute_script("window.__sameDocument = true")
    assert not css(browser, 'tr[data-app="PAYMENTS"]')
    register(server, "PAYMENTS", "payments-1")
    row = eventually(lambda: css(browser, 'tr[data-app="PAYMENTS"]'))[0]
    assert "UP (1)" in row.text
    row.click()
    eventually(lambda: css(browser, 'tr[data-instance="payments-1"]'))
    # A second instance shows up in the open application on the next poll.
    register(server, "PAYMENTS", "payments-2", status="STARTING")
    eventually(lambda: css(browser, 'tr[data-instance="payments-2"]'))
    # (The summary and the instance page are two requests: one poll may see the second only.)
    eventually(lambda: "STARTING (1)" in text_of(browser, 'tr[data-app="PAYMENTS"]'))
    assert browser.execute_script("return window.__sameDocument") is True, "the page reloaded"
    httpx.delete(f"{server.base}/eureka/apps/PAYMENTS/payments-1")
    httpx.delete(f"{server.base}/eureka/apps/PAYMENTS/payments-2")
    eventually(lambda: not css(browser, 'tr[data-app="PAYMENTS"]'))


def test_the_watch_shows_a_registration_long_before_the_next_poll(
    browser: Any, server: ServerProcess
) -> None:
    # A poll every 10 minutes: what shows up within seconds came by the long-poll watch.
    browser.get(f"{server.base}/?refresh=600000&page={PAGE}")
    eventually(lambda: browser.execute_script("return document.body.dataset.renders"))
    assert not css(browser, 'tr[data-app="WATCHED"]')
    register(server, "WATCHED", "watched-1")
    row = eventually(lambda: css(browser, 'tr[data-app="WATCHED"]'), timeout=10)[0]
    assert "UP (1)" in row.text
    assert int(browser.execute_script("return document.body.dataset.watchChanges || 0")) >= 1
    httpx.delete(f"{server.base}/eureka/apps/WATCHED/watched-1")
    eventually(lambda: not css(browser, 'tr[data-app="WATCHED"]'), timeout=10)


def test_paging_and_the_filter_reach_every_instance(browser: Any, server: ServerProcess) -> None:
    open_dashboard(browser, server)
    browser.find_element("css selector", 'tr[data-app="CATALOG"]').click()
    seen: list[str] = []
    while True:
        rows = eventually(lambda: css(browser, 'tr[data-detail="CATALOG"] tr[data-instance]'))
        ids = [r.get_attribute("data-instance") for r in rows]
        assert len(ids) <= PAGE
        seen += ids
        pager = browser.find_element("css selector", 'tr[data-detail="CATALOG"] .pager')
        if pager.find_element("css selector", "button.next").get_attribute("disabled") is not None:
            break
        first = ids[0]
        pager.find_element("css selector", "button.next").click()
        eventually(
            lambda first=first: (
                css(browser, 'tr[data-detail="CATALOG"] tr[data-instance]')[0].get_attribute(
                    "data-instance"
                )
                != first
            )
        )
    assert seen == [f"catalog-{n:03d}" for n in range(120)]
    assert "101–120 of 120 (page 3 of 3)" in text_of(browser, 'tr[data-detail="CATALOG"] .pager')

    # The filter finds instances by id inside applications it does not name.
    box = browser.find_element("id", "filter")
    box.send_keys("catalog-11")
    eventually(
        lambda: [r.get_attribute("data-app") for r in css(browser, "tr.app-row")] == ["CATALOG"]
    )
    ids = eventually(
        lambda: (
            [
                r.get_attribute("data-instance")
                for r in css(browser, 'tr[data-detail="CATALOG"] tr[data-instance]')
            ]
            if len(css(browser, 'tr[data-detail="CATALOG"] tr[data-instance]')) == 10
            else None
        )
    )
    assert ids == [f"catalog-{n}" for n in range(110, 120)]
    assert "10 of 120" in text_of(browser, 'tr[data-app="CATALOG"]')
    print("screenshot:", screenshot(browser, "dashboard-filter"))
    box.clear()
    box.send_keys("no-such-thing")
    empty = eventually(lambda: css(browser, "#no-instances"))[0]
    assert "No application or instance matches" in empty.text
    box.clear()
    box.send_keys("orders")  # by application name: the whole application
    eventually(
        lambda: [r.get_attribute("data-app") for r in css(browser, "tr.app-row")] == ["ORDERS"]
    )


def test_registry_strings_are_shown_as_text_never_as_markup(
    browser: Any, server: ServerProcess
) -> None:
    hostile = '<img src=x onerror="window.__pwned=1">'
    register(
        server,
        "XSS",
        hostile,
        status_page="javascript:window.__pwned=2",
        metadata={"<b>key</b>": "<script>window.__pwned=3</script>"},
    )
    try:
        open_dashboard(browser, server)
        browser.find_element("css selector", 'tr[data-app="XSS"]').click()
        row = eventually(lambda: css(browser, 'tr[data-detail="XSS"] tr[data-instance]'))[0]
        assert row.get_attribute("data-instance") == hostile
        assert hostile in row.text
        # A javascript: status page is not made a link.
        assert not row.find_elements("css selector", "a[href^='javascript']")
        row.find_element("css selector", "details").click()
        eventually(lambda: "<script>window.__pwned=3</script>" in row.text)
        assert not css(browser, "img[src='x']")
        assert browser.execute_script("return window.__pwned === undefined")
        lastn = httpx.get(f"{server.base}/lastn").text
        assert hostile not in lastn and "&lt;img src=x" in lastn
    finally:
        httpx.delete(
            f"{server.base}/eureka/apps/XSS/%3Cimg%20src=x%20onerror=%22window.__pwned=1%22%3E"
        )


def test_lastn_lists_registrations_and_cancellations_with_times(
    browser: Any, server: ServerProcess
) -> None:
    register(server, "SHORT-LIVED", "short-1")
    assert httpx.delete(f"{server.base}/eureka/apps/SHORT-LIVED/short-1").status_code == 200
    browser.get(f"{server.base}/lastn")
    cancelled = text_of(browser, "#cancelled")
    registered = text_of(browser, "#registered")
    assert "SHORT-LIVED short-1" in cancelled and "UTC" in cancelled
    assert "ORDERS orders-1" in registered and "CATALOG catalog-119" in registered
    # Newest first.
    assert registered.index("SHORT-LIVED") < registered.index("ORDERS orders-1")
    print("screenshot:", screenshot(browser, "lastn"))


def test_the_banner_shows_engaged_self_preservation_with_live_numbers(browser: Any) -> None:
    # Self-preservation on, as Spring Cloud runs it: a fresh node has measured no minute of
    # renewals yet, so expiry is suspended until renewals exceed the threshold. A lease of one
    # second that is never renewed expires and is kept: the banner counts it without reload.
    # (A node going from calm to engaged needs real minutes of renewals, too slow for a browser
    # test: tests/server/test_status.py follows that transition on the manual clock, and the
    # page's banner renders whatever the status says, as this test shows.)
    settings = {**FAST_SETTINGS, "eureka.server.enable-self-preservation": "true"}
    with ServerProcess(settings=settings) as node:
        for n in range(6):
            register(node, "INVENTORY", f"inventory-{n}", duration=1 if n == 0 else 90)
        open_dashboard(browser, node)
        banner = eventually(lambda: text_of(browser, "#sp-banner"))
        assert "self-preservation is engaged" in banner
        assert "Instances may be listed as UP that are not" in banner
        assert "threshold:" in banner and "Renewals in the last minute: 0" in banner
        assert "No full minute of renewals has been measured" in banner
        assert not css(browser, "#sp-off-banner")
        assert "Lease expiration enabled false" in text_of(browser, "#system-left")
        eventually(
            lambda: "Expired leases kept: 1." in text_of(browser, "#sp-banner"),
            timeout=10,
        )
        # Still listed, shown as expired.
        browser.find_element("css selector", 'tr[data-app="INVENTORY"]').click()
        row = eventually(lambda: css(browser, 'tr[data-instance="inventory-0"].expired'))[0]
        assert "(expired)" in row.text
        print("screenshot:", screenshot(browser, "dashboard-self-preservation"))


def _register_fleet(server: ServerProcess, apps: int, per_app: int) -> None:
    """Many instances in one request each 250: a peer's replication batch."""
    from eureka.model import DataCenterInfo, InstanceInfo
    from eureka.replication.protocol import Action, ReplicationInstance, encode_batch

    items = []
    for n in range(apps * per_app):
        app = f"SERVICE-{n % apps:02d}"
        info = InstanceInfo(
            app=app,
            instance_id=f"{app.lower()}-{n // apps:02d}",
            host_name=f"10.2.{n // 250}.{n % 250}",
            ip_addr=f"10.2.{n // 250}.{n % 250}",
            port=8080,
            data_center_info=DataCenterInfo("MyOwn"),
            metadata={"zone": f"zone-{'abc'[n % 3]}"},
            status_page_url=f"http://10.2.{n // 250}.{n % 250}:8080/actuator/info",
            last_dirty_timestamp=1_754_500_000_000 + n,
        )
        items.append(
            ReplicationInstance(
                app_name=app,
                id=info.id,
                action=Action.REGISTER,
                last_dirty_timestamp=info.last_dirty_timestamp,
                overridden_status=None,
                status="UP",
                instance_info=info,
            )
        )
    for first in range(0, len(items), 250):
        response = httpx.post(
            f"{server.base}/eureka/peerreplication/batch/",
            content=encode_batch(items[first : first + 250]),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        assert response.status_code == 200


def test_fifty_applications_of_twenty_fit_a_laptop_screen(browser: Any) -> None:
    with ServerProcess(settings=FAST_SETTINGS) as node:
        _register_fleet(node, 50, 20)
        browser.set_window_size(1366, 768)
        try:
            open_dashboard(browser, node)
            assert len(css(browser, "tr.app-row")) == 50
            # Nothing needs scrolling sideways at laptop width.
            assert browser.execute_script("return document.documentElement.scrollWidth") <= 1366
            print("screenshot:", screenshot(browser, "dashboard-50x20", width=1366))
            browser.set_window_size(1366, 768)
            browser.find_element("id", "expand-all").click()
            eventually(lambda: len(css(browser, "tr[data-instance]")) == 1000, timeout=20)
            browser.find_element("id", "collapse-all").click()
            eventually(lambda: not css(browser, "tr[data-instance]"))
        finally:
            browser.set_window_size(1440, 1000)


def test_peers_show_their_state_last_error_and_a_link_to_their_dashboard(browser: Any) -> None:
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{port}/eureka/" for port in ports]
    settings = {
        **FAST_SETTINGS,
        "eureka.server.number-registry-sync-retries": "1",
        "eureka.server.peer-node-connect-timeout-ms": "200",
    }
    # Three peers configured, the third never started: it is unreachable from the first.
    a = ServerProcess(port=ports[0], settings=settings, peers=urls)
    b = ServerProcess(port=ports[1], settings=settings, peers=urls)
    try:
        a.start(wait=False)
        b.start(wait=False)
        a.wait_ready()
        b.wait_ready()
        register(a, "REPLICATED", "replicated-1")
        open_dashboard(browser, a)
        live = f'tr[data-peer="{urls[1]}"]'
        dead = f'tr[data-peer="{urls[2]}"]'
        eventually(lambda: "unreachable since" in text_of(browser, dead), timeout=15)
        eventually(lambda: "healthy" in text_of(browser, live))
        row = text_of(browser, dead)
        assert "UTC" in row and "ConnectError" in row  # the last error, with its time
        assert "3 registered" not in text_of(browser, "#peer-summary")  # itself is not a peer
        assert text_of(browser, "#peer-summary") == "2 registered, 1 available, 1 unavailable"
        anchor = browser.find_element("css selector", f"{live} a")
        assert anchor.get_attribute("href") == f"http://127.0.0.1:{ports[1]}/"
        general = text_of(browser, "#general")
        assert f"Unavailable replicas {urls[2]}" in general
        print("screenshot:", screenshot(browser, "dashboard-peers"))
    finally:
        a.stop()
        b.stop()

"""The dashboard at 1,000 instances (50 applications × 20): server time, bytes, browser time.

Server side: median time and server CPU of `GET /` (the shell with the first snapshot) and of
the JSON feeds the page polls. Browser side (Debian's headless chromium, when installed): time
to the first render, and to render all 1,000 instance rows after "Expand all" (one instance
page per application, fetched six at a time).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
from tests.integration.server_process import ServerProcess

from bench.serving import cpu_seconds, load_average, populate, start_server
from bench.table import print_table

INSTANCES = 1000
APPS = 50
REPEAT = 200
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _server_side(server: ServerProcess) -> list[tuple[str, str, str, str]]:
    assert server.proc is not None
    rows = []
    with httpx.Client(timeout=30) as client:
        page = client.get(f"{server.base}/").text
        assets = [part.split('"')[0] for part in page.split('src="')[1:] + page.split('href="')[1:]]
        asset_bytes = sum(
            len(client.get(f"{server.base}/{a}").content) for a in assets if a.startswith("static/")
        )
        for label, path in (
            ("GET / (shell + first snapshot)", "/"),
            ("GET /eureka/status", "/eureka/status"),
            ("GET /eureka/summary/apps (50 summaries)", "/eureka/summary/apps"),
            ("GET /eureka/summary/apps/APP-7 (20 instances)", "/eureka/summary/apps/APP-7"),
        ):
            times = []
            size = 0
            cpu_before = cpu_seconds(server.proc.pid)
            for _ in range(REPEAT):
                started = time.perf_counter()
                size = len(client.get(f"{server.base}{path}").content)
                times.append(time.perf_counter() - started)
            cpu = (cpu_seconds(server.proc.pid) - cpu_before) / REPEAT
            rows.append(
                (
                    label,
                    f"{statistics.median(times) * 1000:.2f} ms",
                    f"{cpu * 1000:.2f} ms",
                    f"{size / 1024:.1f} KiB",
                )
            )
        rows.append(
            ("static assets (script + stylesheet, cached)", "", "", f"{asset_bytes / 1024:.1f} KiB")
        )
    return rows


def _browser_side(server: ServerProcess) -> list[tuple[str, str]]:
    from tests.browser.conftest import chromium

    with chromium("eureka-bench-chromium-") as driver:
        first, loaded, expand, render = [], [], [], []
        for _ in range(5):
            driver.get(f"{server.base}/?refresh=600000")
            timing = driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "return [Number(document.body.dataset.firstRenderMs), n.loadEventEnd];"
            )
            first.append(timing[0])
            loaded.append(timing[1])
            took = driver.execute_async_script(
                "const want = arguments[0], done = arguments[arguments.length - 1];"
                "const t0 = performance.now();"
                "document.getElementById('expand-all').click();"
                "(function check() {"
                "  if (document.querySelectorAll('tr[data-instance]').length >= want)"
                "    done(performance.now() - t0); else requestAnimationFrame(check);"
                "})();",
                INSTANCES,
            )
            expand.append(took)
            render.append(float(driver.execute_script("return document.body.dataset.lastRenderMs")))
        return [
            (
                "first render after navigation start (median of 5)",
                f"{statistics.median(first):.0f} ms",
            ),
            ("load event end", f"{statistics.median(loaded):.0f} ms"),
            (
                f"'Expand all': fetch 50 pages and render {INSTANCES:,} instance rows",
                f"{statistics.median(expand):.0f} ms",
            ),
            (f"one re-render with {INSTANCES:,} rows open", f"{statistics.median(render):.1f} ms"),
        ]


def run() -> None:
    print(f"(load average before: {load_average()})")
    server = start_server({"eureka.server.enable-self-preservation": "false"})
    try:
        populate(server.base, 0, INSTANCES, APPS)
        print_table(
            [f"dashboard at {INSTANCES:,} instances ({APPS} apps)", "median", "server CPU", "size"],
            _server_side(server),
        )
        print()
        if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
            print("(browser timings skipped: chromium and chromium-driver are not installed)")
            return
        print_table(["in headless chromium", "time"], _browser_side(server))
    finally:
        server.stop()

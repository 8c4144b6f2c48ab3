"""Headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium.

`make test` installs both with apt-get where it can; where they are missing the browser tests
skip with a message saying so.

Every run writes its screenshots to test-artifacts/screenshots/ (ignored by git, so a test run
leaves the work tree clean). `make screenshots` writes them to docs/screenshots/ instead, the
committed copies, so the pages can be looked at without running anything.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / os.environ.get("EUREKA_SCREENSHOTS_DIR", "test-artifacts/screenshots")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1440,1000",
)


@contextlib.contextmanager
def chromium(prefix: str = "eureka-chromium-") -> Iterator[Any]:
    """A headless Chromium driven by Selenium, with a profile of its own removed afterwards
    (the browser tests and bench/bench_dashboard.py start it the same way)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix=prefix)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "headless browser tests need Debian's chromium and chromium-driver "
            "(/usr/bin/chromium, /usr/bin/chromedriver); `make test` installs them with "
            "apt-get when run as root"
        )
    with chromium() as driver:
        yield driver


def screenshot(driver: object, name: str, width: int = 1440) -> Path:
    """Save a full-page screenshot as <SCREENSHOTS>/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    driver.set_window_size(width, min(max(768, height), 6000))  # type: ignore[attr-defined]
    driver.execute_script("window.scrollTo(0, 0)")  # type: ignore[attr-defined]
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    driver.set_window_size(width, 1000)  # type: ignore[attr-defined]
    return path

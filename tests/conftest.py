"""Shared test plumbing: where the fixtures live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# CI puts shared/ beside the checkout; EUREKA_FIXTURES overrides for unusual layouts.
FIXTURES = Path(os.environ.get("EUREKA_FIXTURES", ROOT.parent / "shared" / "fixtures"))
JAVA_FIXTURES = FIXTURES / "java"
JAVA_HTTP = JAVA_FIXTURES / "http"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"fixtures not found at {FIXTURES} (set EUREKA_FIXTURES)")
    return FIXTURES


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()

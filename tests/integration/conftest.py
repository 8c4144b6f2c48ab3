from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.server_process import ServerProcess


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    with ServerProcess() as proc:
        yield proc


@pytest.fixture(scope="module")
def shared_server() -> Iterator[ServerProcess]:
    """One server for a module's read-mostly tests (each test uses its own app names)."""
    with ServerProcess() as proc:
        yield proc

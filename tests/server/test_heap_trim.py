"""The heap trim (server/heap.py) runs only when glibc's heap holds enough free memory."""

from __future__ import annotations

import sys

import pytest

from eureka.server.heap import heap_trimmer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def test_a_heap_without_much_free_memory_is_not_trimmed() -> None:
    trim = heap_trimmer()
    assert trim is not None
    trim()  # whatever earlier tests left
    assert trim() == 0  # nothing freed since: not worth the arenas' locks


def test_what_a_burst_leaves_free_is_trimmed() -> None:
    trim = heap_trimmer()
    assert trim is not None
    trim()
    # 1 KB strings go through malloc (Python keeps only objects up to 512 bytes itself); every
    # other one stays alive, so the freed ones are holes glibc cannot return on its own.
    burst = [bytes([n % 251]) * 1024 for n in range(200_000)]
    kept = burst[::2]
    del burst
    assert trim() == 1
    del kept

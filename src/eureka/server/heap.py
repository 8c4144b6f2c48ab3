"""Giving freed memory back to the operating system (an adapter: ctypes, glibc only).

A burst of large registrations that are deleted at once frees their memory inside the process,
but glibc's allocator keeps the freed pages in its arenas: measured in-process, 3,000
registrations of 60 KB each, deleted and pruned from the delta queue, left RSS at 415 MB against
a 43 MB baseline; `malloc_trim(0)` brought it to 48 MB (in 150 ms, so it runs in a thread).
Python's own small-object arenas are released by Python; this covers what goes through malloc
(the decoded bodies, the encoded payloads).

A trim holds the arenas' locks while it walks them, and every allocation of the event loop's
thread waits for it: on a 600 MB heap serving 400,000 instances one trim stopped the node for
2 s, once a minute. So it runs only when the allocator holds enough free memory for that to be
worth it (`mallinfo2`, read in microseconds): 16 MiB freed since the last trim, and a quarter
of the heap free — what a burst leaves behind, not the churn of a large, busy heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

__all__ = ["TRIM_FROM_FREE_BYTES", "TRIM_FROM_FREE_SHARE", "heap_trimmer"]

# Free memory in glibc's arenas below which a trim is not worth stopping allocations for: in
# bytes, and as a share of the arenas (used + free).
TRIM_FROM_FREE_BYTES = 16 * 1024 * 1024
TRIM_FROM_FREE_SHARE = 0.25


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",  # bytes in use
            "fordblks",  # free bytes in the arenas' chunks: what a trim can give back
            "keepcost",
        )
    ]


def heap_trimmer() -> Callable[[], int] | None:
    """`malloc_trim(0)` where the C library has it (glibc on Linux), when enough of its heap is
    free (always, on a glibc without `mallinfo2`); the callable returns 1 if memory was
    released. None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None  # musl and others: no malloc_trim
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    info = getattr(libc, "mallinfo2", None)  # glibc 2.33 and later
    if info is not None:
        info.argtypes = []
        info.restype = _MallInfo2

    # The least free memory seen since the last trim (None: no trim yet). A trim returns pages
    # but their chunks stay counted as free: only what was freed beyond that is worth a trim.
    floor: list[int | None] = [None]

    def run() -> int:
        if info is None:
            return int(trim(0))
        heap = info()
        free = heap.fordblks
        if floor[0] is not None:
            floor[0] = min(floor[0], free)
        freed = free if floor[0] is None else free - floor[0]
        if freed < TRIM_FROM_FREE_BYTES or free < TRIM_FROM_FREE_SHARE * (free + heap.uordblks):
            return 0
        released = int(trim(0))
        floor[0] = info().fordblks
        return released

    return run

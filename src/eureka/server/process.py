"""Facts about this process and its machine for the status page: pid, host name, CPUs, memory.

Read from the operating system (the adapter side of `server/status.py`). Memory comes from
/proc on Linux and is None where that cannot be read.
"""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path

from eureka.server.status import ProcessFacts

__all__ = ["process_facts"]

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_HOSTNAME = socket.gethostname()
_PYTHON = platform.python_version()


def _total_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * _PAGE_SIZE
    except (AttributeError, ValueError, OSError):
        return None


_TOTAL_MEMORY = _total_memory()


def _rss_bytes() -> int | None:
    try:
        # /proc/self/statm: size resident shared … in pages.
        return int(Path("/proc/self/statm").read_text().split()[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return None


def process_facts() -> ProcessFacts:
    return ProcessFacts(
        pid=os.getpid(),
        hostname=_HOSTNAME,
        python=_PYTHON,
        cpus=len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count() or 1,
        memory_total_bytes=_TOTAL_MEMORY,
        memory_rss_bytes=_rss_bytes(),
    )

"""Run the benchmarks: `python -m bench [name ...]` (names are module suffixes, e.g. `codec`)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = {f"bench_{n.removeprefix('bench_')}" for n in argv}
    for name in names:
        if wanted and name not in wanted:
            continue
        module = importlib.import_module(f"bench.{name}")
        print(f"\n### {name.removeprefix('bench_')}\n", flush=True)
        started = time.perf_counter()
        module.run()
        print(f"\n({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

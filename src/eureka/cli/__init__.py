"""The `eureka` command: run a node (`eureka server`), inspect and steer any Eureka server.

`main()` is the console entry point (`eureka = "eureka.cli:main"`), also run by `python -m eureka`.
Commands are imported only when invoked, so `eureka --help` loads neither the server nor httpx.
Every mistake ends in one line on stderr and a non-zero exit status, never in a traceback:
2 for usage and configuration errors, 1 when the operation itself failed.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    try:
        from eureka.cli.root import run  # noqa: PLC0415 - keeps `import eureka.cli` free
    except ImportError as exc:  # a client-only install: no click, no rich
        print(
            f"eureka: the command needs {exc.name or 'click'}: pip install 'eureka-py[cli]' "
            "(or 'eureka-py[server]' to run a node)",
            file=sys.stderr,
        )
        return 2
    return run(sys.argv[1:] if argv is None else argv)

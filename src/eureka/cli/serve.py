"""`eureka server` (run a node) and `eureka config` (what that node would run with, and why).

Both take the same options, so `eureka config` with a server's flags shows exactly the
configuration `eureka server` would load: each value with its source (default, file and line,
environment variable, flag). Values are validated by `eureka.server.config`, which names the key
and where it was written in its one-line errors; this module only collects the flags.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import click

from eureka.errors import BadInput

__all__ = ["config", "server"]

log = logging.getLogger("eureka.server")

_F = Callable[..., Any]


def _server_options(command: _F) -> _F:
    options = [
        click.option("--host", help="Address to listen on (default 127.0.0.1)."),
        click.option("--port", help="Port to listen on (default 8761)."),
        click.option(
            "--config",
            "config_file",
            metavar="FILE",
            help="YAML configuration file (Spring Cloud keys accepted); also $EUREKA_CONFIG.",
        ),
        click.option(
            "--peer",
            "peers",
            multiple=True,
            metavar="URL",
            help="A peer node's URL, e.g. http://host:8762/eureka/ (repeatable).",
        ),
        click.option("--my-url", metavar="URL", help="The URL under which peers reach this node."),
        click.option(
            "--set",
            "settings",
            multiple=True,
            metavar="KEY=VALUE",
            help="Any setting, e.g. --set eureka.server.enable-self-preservation=false.",
        ),
        click.option("--log-level", help="debug, info (default), warning, error or critical."),
        click.option("--log-format", help="text (default) or json (one object per line)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _overrides(flags: dict[str, Any]) -> dict[str, object]:
    overrides: dict[str, object] = {
        name: flags[name] for name in ("host", "port", "my_url", "log_level", "log_format")
    }
    for item in flags["settings"]:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value
    return overrides


def _need_server_extra() -> None:
    try:
        import eureka.server.node  # noqa: F401, PLC0415
    except ModuleNotFoundError as exc:  # a client-only install
        raise BadInput(f"this needs {exc.name}: pip install 'eureka-py[server]'") from None


def _report(flags: dict[str, Any]) -> Any:
    from eureka.server.config import load_config_report  # noqa: PLC0415

    return load_config_report(
        config_file=flags["config_file"], overrides=_overrides(flags), peers=flags["peers"]
    )


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it exists: granian hands every request to the loop through
    call_soon_threadsafe, and uvloop's is much cheaper (renewals/s +45 %, measured)."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


@click.command()
@_server_options
def server(**flags: Any) -> int:
    """Run a registry node.

    Settings come from, in increasing precedence: defaults, the YAML file, the environment
    (EUREKA_SERVER_*, SERVER_PORT, EUREKA_CLIENT_SERVICEURL_DEFAULTZONE …) and these flags.
    """
    _need_server_extra()
    from eureka.server.log_format import install_logging  # noqa: PLC0415
    from eureka.server.node import serve  # noqa: PLC0415

    report = _report(flags)
    config = report.config

    install_logging(config.log_level, config.log_format)
    for item in report.ignored:
        if "Java Eureka setting" in item.reason:
            log.warning(
                "setting has no effect in eureka-py",
                extra={"fields": {"key": item.key, "where": item.where}},
            )
        elif "Spring's form" in item.reason:
            log.warning(
                "environment variable not read",
                extra={"fields": {"key": item.key, "reason": item.reason}},
            )
    try:
        _run_loop(serve(config))
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        # One line for the operator; the traceback only when asked for.
        log.debug("the server stopped on an error", exc_info=True)
        _finish(f"eureka: the server stopped: {_describe(exc)}", 1)
    _finish(None, 0)
    return 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    # Errors from the HTTP server's native code may carry a backtrace after the first line.
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _finish(message: str | None, code: int) -> None:
    """Everything is stopped and flushed at this point. Skip interpreter finalisation: granian's
    runtime threads can still be unwinding then, and touching a finalising interpreter makes
    them abort the process (seen as an intermittent SIGABRT after a clean SIGTERM shutdown)."""
    if message:
        print(message, file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@click.command()
@_server_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--changed", is_flag=True, help="Only settings that are not at their default.")
def config(as_json: bool, changed: bool, **flags: Any) -> int:
    """Show the effective server configuration and the source of every value.

    Takes the same options as `eureka server`, and reads the same file and environment.
    """
    _need_server_extra()
    from eureka.cli import output  # noqa: PLC0415
    from eureka.server.config import (  # noqa: PLC0415
        setting_key,
        setting_paths,
        setting_value,
    )

    report = _report(flags)
    rows = []
    for path in setting_paths():
        source = report.source_of(path)
        if changed and source.kind == "default":
            continue
        value = setting_value(report.config, path)
        rows.append(
            {
                "key": setting_key(path),
                "value": output.plain(value),
                "source": source.kind,
                "where": source.where,
            }
        )
    ignored = [
        {"key": item.key, "where": item.where, "reason": item.reason} for item in report.ignored
    ]
    if as_json:
        output.print_json({"settings": rows, "ignored": ignored})
        return 0
    table = output.table("SETTING", "VALUE", "SOURCE")
    for row in rows:
        where = row["where"] or row["source"]
        style = "dim" if row["source"] == "default" else ""
        table.add_row(row["key"], output.shown(row["value"]), where, style=style)
    console = output.console()
    console.print(table)
    if ignored:
        console.print()
        notes = output.table("IGNORED", "WHERE", "WHY")
        for item in ignored:
            notes.add_row(item["key"], item["where"], item["reason"])
        console.print(notes)
    return 0

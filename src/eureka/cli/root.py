"""The command group: a table of lazily imported commands, and one-line errors for all of them.

Click runs in non-standalone mode so that every failure — a usage error, a configuration
mistake (`BadInput`), an unreachable server (`OpsError`) — is printed here as a single line.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from eureka import __version__
from eureka.errors import BadInput

__all__ = ["OpsError", "root", "run"]

# name → (module, attribute, one-line help). Listing commands must not import them.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "server": ("eureka.cli.serve", "server", "Run a registry node."),
    "config": (
        "eureka.cli.serve",
        "config",
        "Show the effective server configuration and where each value comes from.",
    ),
    "apps": ("eureka.cli.ops", "apps", "List applications and their instances."),
    "status": ("eureka.cli.ops", "status", "Show a node's state, self-preservation and peers."),
    "watch": ("eureka.cli.ops", "watch", "Print registry changes as they happen."),
    "register": ("eureka.cli.ops", "register", "Register an instance (optionally keep it alive)."),
    "deregister": ("eureka.cli.ops", "deregister", "Cancel an instance's registration."),
    "out-of-service": (
        "eureka.cli.ops",
        "out_of_service",
        "Take an instance out of traffic (status override OUT_OF_SERVICE).",
    ),
    "in-service": (
        "eureka.cli.ops",
        "in_service",
        "Put an instance back into traffic (remove its status override).",
    ),
    "metadata": ("eureka.cli.ops", "metadata", "Change an instance's metadata."),
}


class OpsError(Exception):
    """The operation failed (unreachable server, unknown instance): one line, exit status 1."""


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry[0]), entry[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry[2]) for name, entry in COMMANDS.items()])


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(
    __version__, "--version", prog_name="eureka-py", message="%(prog)s %(version)s"
)
def root() -> None:
    """eureka-py: a Netflix Eureka-compatible service registry.

    `eureka server` runs a node; the other commands talk to any Eureka server (eureka-py or
    Java) given with --server, by default $EUREKA_CLIENT_SERVICEURL_DEFAULTZONE or
    http://127.0.0.1:8761/eureka/.
    """


def _fail(message: str, code: int) -> int:
    click.echo(f"eureka: {message}", err=True)
    return code


def run(argv: list[str]) -> int:
    if not logging.root.handlers:
        # Library warnings (a failed attempt on one of several servers) are not for the
        # terminal: each command reports its outcome itself. `eureka server` installs its own.
        logging.root.addHandler(logging.NullHandler())
    try:
        result: Any = root.main(args=argv, prog_name="eureka", standalone_mode=False)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "eureka"
        message = " ".join(exc.format_message().split())
        return _fail(f"{message} (see {where} --help)", exc.exit_code)
    except click.ClickException as exc:
        return _fail(" ".join(exc.format_message().split()), exc.exit_code)
    except click.Abort:
        return _fail("interrupted", 130)
    except BadInput as exc:
        return _fail(exc.reason, 2)
    except OpsError as exc:
        return _fail(str(exc), 1)
    except BrokenPipeError:
        # `eureka apps | head`: the reader left; nothing is wrong.
        sys.stderr.close()
        return 0
    return result if isinstance(result, int) else 0

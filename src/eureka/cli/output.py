"""Terminal output with rich: tables, colours only on a terminal, JSON for scripts.

Colours follow rich's detection (a terminal, `NO_COLOR`, `FORCE_COLOR`); piped output gets plain
columns at their natural width, never wrapped at 80 characters, so it can be grepped and cut.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from functools import cache
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["age", "console", "plain", "print_json", "shown", "status_text", "table"]

_STATUS_STYLES = {
    "UP": "green",
    "DOWN": "red",
    "OUT_OF_SERVICE": "yellow",
    "STARTING": "cyan",
    "UNKNOWN": "magenta",
}


@cache
def console() -> Console:
    terminal = Console()
    if terminal.is_terminal:
        return terminal
    # Not a terminal: wide enough that no line is ever wrapped; tables keep natural widths.
    return Console(width=100_000, soft_wrap=True)


def table(*headers: str) -> Table:
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold", show_edge=False)
    for header in headers:
        grid.add_column(header, no_wrap=True)
    return grid


def status_text(status: str, overridden: str | None = None) -> Text:
    text = Text(status, style=_STATUS_STYLES.get(status, ""))
    if overridden == status:
        text.append(" (override)", style="dim")
    elif overridden and overridden != "UNKNOWN":
        text.append(f" (override {overridden})", style="dim")
    return text


def plain(value: Any) -> Any:
    """A configuration value as JSON: tuples of pairs become objects, tuples lists."""
    if isinstance(value, tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): plain(v) for k, v in value}
        return [plain(v) for v in value]
    return value


def shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(shown(v) for v in value) or "-"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}={shown(v)}" for k, v in value.items()) or "-"
    return str(value)


def age(ms: float | None) -> str:
    """A duration in the largest two units: 45s, 3m12s, 5h03m, 2d04h."""
    if ms is None or ms < 0:
        return "-"
    seconds = int(ms // 1000)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")

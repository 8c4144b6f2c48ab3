"""The node's log format: every line, ours and the HTTP server's, in one shape, text or JSON.

A line is a time (UTC, milliseconds), a level, a logger, a message and the event's fields:

    2025-08-06T17:33:20.123Z INFO eureka.server: registered app=ORDER instance=h:order:80 …
    {"time": "2025-08-06T17:33:20.123Z", "level": "INFO", "logger": "eureka.server",
     "message": "registered", "app": "ORDER", "instance": "h:order:80", …}

Call sites pass their fields as `extra={"fields": {...}}`, so the text form can be grepped
(`grep 'evicted app=ORDER'`) and the JSON form filtered by key, with the same names in both.

The HTTP server configures loggers of its own (granian: `_granian`, `granian.access`, with
handlers that print to stdout in another format). `adopt_loggers()` strips every such handler so
that all records reach the root handler installed here; it is called after the HTTP server has
set its logging up, whichever server that is. Granian's "Embedded server is experimental!"
warning is dropped: it describes granian's API, not anything an operator can act on.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

__all__ = ["JsonFormatter", "TextFormatter", "adopt_loggers", "install_logging"]

# Loggers whose names are implementation details: shown under a readable name.
_RENAMED_PREFIXES = (("_granian", "granian"),)
# Messages that never reach the log, by logger.
_DROPPED = {"_granian": ("Embedded server is experimental",)}


def _display_name(name: str) -> str:
    for prefix, shown in _RENAMED_PREFIXES:
        if name.startswith(prefix):
            return shown + name[len(prefix) :]
    return name


def _timestamp(record: logging.LogRecord) -> str:
    seconds = int(record.created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + (f".{int(record.msecs):03d}Z")


def _fields(record: logging.LogRecord) -> Mapping[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, Mapping) else {}


def _text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if not text or any(c in text for c in ' "=') or not text.isprintable():
        return json.dumps(text)
    return text


class TextFormatter(logging.Formatter):
    """`TIME LEVEL logger: message key=value …`, and the traceback, if any, below."""

    def format(self, record: logging.LogRecord) -> str:
        name = _display_name(record.name)
        line = f"{_timestamp(record)} {record.levelname} {name}: {record.getMessage()}"
        fields = _fields(record)
        if fields:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the fields, and `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": _display_name(record.name),
            "message": record.getMessage(),
        }
        for key, value in _fields(record).items():
            document.setdefault(key, value)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, ensure_ascii=False)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        dropped = _DROPPED.get(record.name)
        return not (dropped and str(record.msg).startswith(dropped))


def install_logging(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Send every logger's records to one handler on `stream` (stderr) in `fmt` (text/json)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_DropNoise())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every request at INFO; a node's own log is about the registry, not its fetches.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    adopt_loggers()


def adopt_loggers() -> None:
    """Route every existing logger through the root handler: remove the handlers other
    libraries attached (and their formats) and let the records propagate."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and (logger.handlers or not logger.propagate):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True

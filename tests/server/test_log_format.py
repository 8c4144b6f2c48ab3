from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from eureka.server.log_format import JsonFormatter, TextFormatter, adopt_loggers, install_logging


def _record(message: str = "registered", **fields: object) -> logging.LogRecord:
    record = logging.LogRecord("eureka.server", logging.INFO, __file__, 1, message, (), None)
    record.created = 1_754_500_000.123
    record.msecs = 123.0
    record.fields = fields
    return record


def test_text_lines_carry_time_level_logger_message_and_fields() -> None:
    line = TextFormatter().format(
        _record(app="ORDER", instance="h:order:80", status="UP", replication=False)
    )
    assert line == (
        "2025-08-06T17:06:40.123Z INFO eureka.server: registered "
        "app=ORDER instance=h:order:80 status=UP replication=false"
    )


def test_text_values_with_spaces_are_quoted() -> None:
    line = TextFormatter().format(_record("peer unreachable", reason="Connect refused"))
    assert line.endswith('reason="Connect refused"')


def test_json_lines_have_the_same_fields() -> None:
    document = json.loads(JsonFormatter().format(_record(app="ORDER", replication=True)))
    assert document == {
        "time": "2025-08-06T17:06:40.123Z",
        "level": "INFO",
        "logger": "eureka.server",
        "message": "registered",
        "app": "ORDER",
        "replication": True,
    }


def test_json_exceptions_stay_on_one_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = _record()
        record.exc_info = __import__("sys").exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    assert "RuntimeError: boom" in json.loads(text)["exception"]


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_foreign_loggers_are_adopted_and_granian_noise_dropped(root_logging: None) -> None:
    stream = io.StringIO()
    install_logging("info", "json", stream)
    # What granian's dictConfig does when its server is created: its own handler, no propagation.
    granian = logging.getLogger("_granian")
    own = io.StringIO()
    granian.addHandler(logging.StreamHandler(own))
    granian.propagate = False
    adopt_loggers()
    granian.warning("Embedded server is experimental!")
    granian.info("Listening at: http://127.0.0.1:1")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert own.getvalue() == ""
    assert [(d["logger"], d["message"]) for d in lines] == [
        ("granian", "Listening at: http://127.0.0.1:1")
    ]

"""The `eureka` command itself: entry points, lazy imports, one-line errors, `eureka config`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eureka import __version__
from eureka.cli import main


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eureka", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


def test_python_m_eureka_prints_the_version() -> None:
    done = _run("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"eureka-py {__version__}")


def test_help_lists_every_command_without_loading_them() -> None:
    script = (
        "import sys\n"
        "from eureka.cli import main\n"
        "code = main(['--help'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'granian', 'rich',"
        " 'yaml', 'lxml') or m.startswith(('eureka.server', 'eureka.client', 'eureka.cli.ops')))\n"
        "print('HEAVY', heavy, code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    assert "HEAVY [] 0" in done.stdout
    for command in ("server", "config", "apps", "status", "watch", "register", "deregister"):
        assert f"  {command} " in done.stdout
    assert "out-of-service" in done.stdout and "in-service" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["server", "--port", "99999"], "eureka: --port: 99999 is not a port number (0–65535)"),
        (
            ["server", "--set", "eureka.server.enable-self-preservaton=false"],
            "eureka: --set eureka.server.enable-self-preservaton: unknown setting; "
            "did you mean eureka.server.enable-self-preservation?",
        ),
    ],
)
def test_server_mistakes_end_in_one_line_through_the_real_entry_point(
    args: list[str], message: str
) -> None:
    done = _run(*args)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [message]
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["server", "--log-level", "verbose"], "--log-level: 'verbose' is not one of debug"),
        (["server", "--peer", "peer-b:8761"], "--peer peer-b:8761 is not an http:// or https://"),
        (["server", "--prot", "1"], "No such option '--prot'"),
        (["server", "--set", "novalue"], "--set expects KEY=VALUE, got 'novalue'"),
        (["server", "--log-format", "xml"], "--log-format: 'xml' is not one of text, json"),
        (["apps", "--server", "not-a-url"], "not an http(s) service URL: 'not-a-url'"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_mistakes_are_one_line_with_exit_status_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("eureka: ") and expected in lines[0], lines
    assert "Traceback" not in captured.err


def test_bad_yaml_is_one_line_naming_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text("eureka:\n  server:\n    enable-self-preservation: [\n")
    assert main(["server", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"eureka: {path}: line 4, column 1: ") and err.count("\n") == 1


def test_an_unreachable_server_is_one_line_with_exit_status_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.integration.server_process import free_port

    url = f"http://127.0.0.1:{free_port()}/eureka/"
    assert main(["apps", "--server", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"eureka: no answer from {url}: ConnectError")
    assert err.count("\n") == 1


def test_config_shows_every_value_with_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "eureka.yml"
    path.write_text(
        "eureka:\n  server:\n    enable-self-preservation: false\n"
        "    peer-node-total-connections: 100\n"
    )
    monkeypatch.setenv("EUREKA_SERVER_BATCH_SIZE", "17")
    monkeypatch.setenv("SERVER_PORT", "9100")
    code = main(["config", "--json", "--config", str(path), "--set", "eureka.server.gzip-level=4"])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    rows = {row["key"]: row for row in document["settings"]}
    assert rows["eureka.server.enable-self-preservation"] == {
        "key": "eureka.server.enable-self-preservation",
        "value": False,
        "source": "file",
        "where": f"{path}, line 3: eureka.server.enable-self-preservation",
    }
    assert (
        rows["eureka.server.batch-size"]["value"],
        rows["eureka.server.batch-size"]["where"],
    ) == (
        17,
        "EUREKA_SERVER_BATCH_SIZE",
    )
    assert (rows["server.port"]["value"], rows["server.port"]["source"]) == (9100, "environment")
    assert rows["eureka.server.gzip-level"]["where"] == "--set eureka.server.gzip-level"
    assert rows["eureka.server.renewal-percent-threshold"]["source"] == "default"
    assert document["ignored"][0]["key"] == "eureka.server.peer-node-total-connections"


def test_config_table_marks_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--changed", "--port", "9200", "--log-level", "DEBUG"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a terminal: no colours
    lines = [line.split() for line in out.splitlines() if line.strip()]
    assert ["server.port", "9200", "--port"] in lines
    assert ["eureka.server.log-level", "debug", "--log-level"] in lines
    assert not any("renewal-percent-threshold" in line for line in lines)


def test_a_server_that_cannot_start_says_why_in_one_line() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # held without SO_REUSEPORT: nobody else may bind it
        taken.listen()
        port = taken.getsockname()[1]
        done = _run("server", "--port", str(port))
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("eureka:")]
    assert len(errors) == 1 and "in use" in errors[0].lower(), done.stderr
    assert "Traceback" not in done.stderr and "backtrace" not in done.stderr


def test_the_server_urls_default_to_the_local_node_or_springs_variable() -> None:
    from eureka.cli.remote import DEFAULT_URL, URL_VARIABLE, server_urls

    assert server_urls((), environ={}) == [DEFAULT_URL] == ["http://127.0.0.1:8761/eureka/"]
    spring = {URL_VARIABLE: "http://a:8761/eureka/, http://b:8761/eureka/"}
    assert server_urls((), environ=spring) == ["http://a:8761/eureka/", "http://b:8761/eureka/"]
    # --server wins over the variable; repeated or comma-separated, kept in order.
    given = ("http://c:1/eureka/,http://d:2/eureka/", "http://e:3/eureka/")
    assert server_urls(given, environ=spring) == [
        "http://c:1/eureka/",
        "http://d:2/eureka/",
        "http://e:3/eureka/",
    ]


def test_a_bad_server_url_is_one_line_with_exit_status_2() -> None:
    done = _run("apps", "--server", "ftp://nowhere/eureka/")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "eureka: not an http(s) service URL: 'ftp://nowhere/eureka/'"
    ]
    assert "Traceback" not in done.stderr

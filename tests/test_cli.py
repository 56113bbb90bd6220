"""The ``logmonitor`` command and ``python log_monitor.py``, run as real processes.

Output is read line by line through a reader thread, so a test waits for the
line it expects (with a generous hang guard) and never for a fixed time.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import click
import httpx
import pytest

import logmonitor
from logmonitor.cli import cli

from .conftest import REPO

pytestmark = pytest.mark.usefixtures("sigint_reaches_children")

SCRIPT = Path(sys.executable).with_name("logmonitor")
DEADLINE = 60.0  # hang guard for one expected line


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The test's environment without LOGMONITOR_* settings, state kept in tmp."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOGMONITOR_")}
    clean["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    clean["COLUMNS"] = "200"  # rich wraps at 80 columns when stdout is not a terminal
    return clean


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=DEADLINE, check=False
    )


class Running:
    """A started process whose stdout lines arrive on a queue."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, name="stdout-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self) -> str:
        try:
            line = self.lines.get(timeout=DEADLINE)
        except queue.Empty:
            pytest.fail(f"no output line within {DEADLINE}s; so far: {self.seen}")
        if line is None:
            pytest.fail(f"the process ended early: {self.seen}; stderr: {self.stderr()}")
        self.seen.append(line)
        return line

    def stop(self, signum: int) -> tuple[int, list[str]]:
        """Send ``signum``; return the exit code and the rest of stdout."""
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=DEADLINE)
        self._reader.join(timeout=DEADLINE)
        rest = []
        while (line := self.lines.get_nowait()) is not None:
            rest.append(line)
        return code, rest

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return "(still running)"
        return self.proc.stderr.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def processes() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for process in started:
        process.close()


# --------------------------------------------------------------------------- help


def walk(command: click.Command, path: str = "logmonitor") -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, f"{path} {name}")


def test_every_command_and_option_has_help() -> None:
    commands = dict(walk(cli))
    assert "logmonitor watch" in commands
    for path, command in commands.items():
        assert (command.help or "").strip(), f"{path} has no help text"
        for param in command.params:
            if isinstance(param, click.Option):
                assert (param.help or "").strip(), f"{path} {param.opts[0]} has no help text"


def test_help_of_the_installed_script(env: dict[str, str], tmp_path: Path) -> None:
    assert SCRIPT.exists(), f"{SCRIPT} is missing: install the package (pip install -e .)"
    done = run([str(SCRIPT), "--help"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Usage: logmonitor" in done.stdout
    assert "watch" in done.stdout


def test_watch_help(env: dict[str, str], tmp_path: Path) -> None:
    done = run([str(SCRIPT), "watch", "--help"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    for option in ("--threshold", "--state", "--json", "--summary-interval", "--config"):
        assert option in done.stdout


def test_python_m_logmonitor_version(env: dict[str, str], tmp_path: Path) -> None:
    done = run([sys.executable, "-m", "logmonitor", "--version"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"logmonitor, version {logmonitor.__version__}"


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("extra", "mentions"),
    [
        pytest.param(["/no/such/logs"], ["/no/such/logs", "does not exist"], id="missing-dir"),
        pytest.param(
            ["LOGDIR", "--threshold", "2"], ["alert_threshold", "(0, 1]"], id="threshold-2"
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    env: dict[str, str], tmp_path: Path, log_dir: Path, extra: list[str], mentions: list[str]
) -> None:
    args = [str(log_dir) if arg == "LOGDIR" else arg for arg in extra]
    state = tmp_path / "state.db"
    done = run([str(SCRIPT), "watch", *args, "--state", str(state)], env, tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("logmonitor: error: ")
    for text in mentions:
        assert text in lines[0]
    assert not state.exists(), "bad input must not create a state file"


# ------------------------------------------------------------------ watch --json


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_watch_json_reports_lines_and_stops_on_signal(
    env: dict[str, str],
    tmp_path: Path,
    log_dir: Path,
    processes: list[Running],
    signum: int,
) -> None:
    app_log = log_dir / "app.log"
    app_log.write_text("INFO written before the first run: not counted\n" * 10)
    state = tmp_path / "state.db"
    args = [str(SCRIPT), "watch", str(log_dir), "--json", "--state", str(state)]
    process = Running([*args, "--summary-interval", "0.5"], env, tmp_path)
    processes.append(process)

    started = json.loads(process.next_line())
    assert started == {
        "type": "started",
        "files": 1,
        "dashboard": None,
        "log_dirs": [str(log_dir)],
        "state": str(state),
    }

    with app_log.open("a", encoding="utf-8") as handle:
        for n in range(30):
            if n % 10 == 0:
                handle.write(f"ERROR job {n} failed: ValueError: bad input {n}\n")
            else:
                handle.write(f"INFO request {n} served in 3 ms\n")

    status: dict[str, Any] = {}
    while status.get("lines", 0) < 30:
        event = json.loads(process.next_line())
        if event["type"] == "status":
            status = event
    assert status["lines"] == 30
    assert status["files"] == 1
    assert status["error_summary"] == {"ValueError": 3}

    code, rest = process.stop(signum)
    assert code == 0, process.stderr()
    for line in rest:
        assert json.loads(line)["type"] in ("status", "alert")


def test_watch_ui_serves_the_dashboard_and_api_beside_the_monitor(
    env: dict[str, str], tmp_path: Path, log_dir: Path, processes: list[Running]
) -> None:
    (log_dir / "app.log").write_text("INFO ready\n")
    args = [str(SCRIPT), "watch", str(log_dir), "--ui", "--port", "0", "--json"]
    process = Running([*args, "--state", str(tmp_path / "s.db")], env, tmp_path)
    processes.append(process)
    url = json.loads(process.next_line())["dashboard"]
    assert url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=url, timeout=DEADLINE) as client:
        assert client.get("/api/resource").json() == {
            "resources": [{"id": 1, "name": str(log_dir / "app.log")}]
        }
        assert "LogMonitor" in client.get("/").text
    code, _ = process.stop(signal.SIGTERM)
    assert code == 0, process.stderr()


def test_serve_refuses_a_public_address_without_a_token(
    env: dict[str, str], tmp_path: Path, log_dir: Path
) -> None:
    args = ["serve", str(log_dir), "--host", "0.0.0.0", "--state", str(tmp_path / "s.db")]
    result = run([str(SCRIPT), *args], env, tmp_path)
    assert result.returncode == 2
    assert "LOGMONITOR_TOKEN" in result.stderr


# ------------------------------------------------------------- log_monitor.py


def test_log_monitor_py_help(env: dict[str, str]) -> None:
    done = run([sys.executable, "log_monitor.py", "--help"], env, REPO)
    assert done.returncode == 0, done.stderr
    assert "Usage: logmonitor" in done.stdout
    assert "watch" in done.stdout


def test_log_monitor_py_runs_from_the_environment_and_stops_on_sigint(
    env: dict[str, str], tmp_path: Path, log_dir: Path, processes: list[Running]
) -> None:
    state = tmp_path / "state.db"
    env = {
        **env,
        "LOGMONITOR_LOG_DIRS": str(log_dir),
        "LOGMONITOR_STATE": str(state),
        "LOGMONITOR_SUMMARY_INTERVAL": "0.5",
    }
    process = Running([sys.executable, "log_monitor.py"], env, REPO)
    processes.append(process)
    first = process.next_line()
    assert first.startswith(f"LogMonitor {logmonitor.__version__} watching 0 files in {log_dir}")
    assert str(state) in first
    while "templates" not in process.next_line():  # the first summary screen
        pass
    code, rest = process.stop(signal.SIGINT)
    assert code == 0, process.stderr()
    assert rest[-1] == "stopped; read positions saved"
    assert state.exists()


def test_watch_exits_3_when_the_state_file_cannot_be_written(
    env: dict[str, str], tmp_path: Path, log_dir: Path, processes: list[Running]
) -> None:
    """A state write that fails must stop the command with an error, not exit 0:
    going on would move the read position past lines whose results were not saved."""
    state = tmp_path / "state.db"
    args = [str(SCRIPT), "watch", str(log_dir), "--json", "--state", str(state)]
    process = Running(args, env, tmp_path)
    processes.append(process)
    assert json.loads(process.next_line())["type"] == "started"
    with closing(sqlite3.connect(state, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
        (log_dir / "app.log").write_text("INFO one line\n")
        code = process.proc.wait(timeout=DEADLINE)
        other.execute("ROLLBACK")
    assert code == 3
    last = process.stderr().splitlines()[-1]
    assert last.startswith("logmonitor: error: ")
    assert "database is locked" in last


def test_log_monitor_py_takes_directories_like_watch(
    env: dict[str, str], tmp_path: Path, log_dir: Path, processes: list[Running]
) -> None:
    state = tmp_path / "state.db"
    args = [sys.executable, "log_monitor.py", str(log_dir), "--json", "--state", str(state)]
    process = Running(args, env, REPO)
    processes.append(process)
    started = json.loads(process.next_line())
    assert started["type"] == "started"
    assert started["log_dirs"] == [str(log_dir)]
    code, _ = process.stop(signal.SIGTERM)
    assert code == 0, process.stderr()

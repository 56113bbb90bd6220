"""Crash safety end to end: ``kill -9`` a child process running the monitor, again
and again, while lines are written; every line must be counted exactly once.

The parent only reads the child's SQLite state (read-only), the way an operator
would; the state file's ``sources`` table counts processed lines per stream and
``errors`` counts error types, both committed with the read positions.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from .conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("sigint_reaches_children")]

LINES = 20_000
BATCH = 100
LEAD = 1_000  # the writer's most lines ahead of the monitor
ERROR_EVERY = 10  # every 10th line is "ERROR ... ValueError ..."

CHILD = """
import sys
from logmonitor import LogMonitor

LogMonitor([sys.argv[1]], 0.5, state=sys.argv[2], poll_interval=0.2).monitor_logs()
"""


def read_state(state: Path) -> tuple[int, int, int]:
    """(lines processed, ValueError count, roots known), read-only; zeros before it exists."""
    if not state.exists():
        return 0, 0, 0
    try:
        with closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=10)) as db:
            lines = db.execute("SELECT COALESCE(SUM(lines), 0) FROM sources").fetchone()[0]
            errors = db.execute(
                "SELECT COALESCE(SUM(count), 0) FROM errors WHERE error_type = 'ValueError'"
            ).fetchone()[0]
            roots = db.execute("SELECT COUNT(*) FROM roots").fetchone()[0]
    except sqlite3.OperationalError:
        return 0, 0, 0  # the child has not created its tables yet
    return int(lines), int(errors), int(roots)


class Child:
    """The monitor in a child process, restartable; its stderr goes to a file."""

    def __init__(self, tmp_path: Path, log_dir: Path, state: Path) -> None:
        self.args = [sys.executable, "-c", CHILD, str(log_dir), str(state)]
        self.stderr_path = tmp_path / "child-stderr.txt"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.stderr_path.open("ab") as stderr:
            self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=stderr)
        self.starts += 1

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def interrupt(self) -> int:
        """Stop it the polite way (Ctrl-C); return its exit code."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def child(tmp_path: Path, log_dir: Path) -> Iterator[Child]:
    running = Child(tmp_path, log_dir, tmp_path / "state.db")
    yield running
    running.kill()


class Writer(threading.Thread):
    """Appends ``LINES`` lines in batches; renames the file away every ``rotate_every``.

    It stays at most ``LEAD`` lines ahead of what the monitor has committed, so the
    writing spans every run of the child (each has work when it is killed) and
    lines also pile up while the child is down.
    """

    def __init__(self, log_dir: Path, state: Path, rotate_every: int | None = None) -> None:
        super().__init__(name="writer")
        self.path = log_dir / "app.log"
        self.state = state
        self.rotate_every = rotate_every
        self.written = 0
        self.errors = 0
        self.rotations = 0
        self.stop = threading.Event()

    def run(self) -> None:
        handle = self.path.open("a", encoding="utf-8")
        try:
            while self.written < LINES and not self.stop.is_set():
                if self.written - read_state(self.state)[0] > LEAD:
                    self.stop.wait(0.01)
                    continue
                lines = []
                for n in range(self.written, self.written + BATCH):
                    if n % ERROR_EVERY == 0:
                        lines.append(f"ERROR job {n} failed: ValueError: bad input {n}\n")
                        self.errors += 1
                    else:
                        lines.append(f"INFO request {n} served in {n % 13} ms\n")
                handle.write("".join(lines))
                handle.flush()
                self.written += BATCH
                if self.rotate_every and self.written % self.rotate_every == 0:
                    handle.close()
                    self.rotations += 1
                    # A new name each time (app.log.1, app.log.2, ...): nothing is deleted,
                    # so every written line stays readable for a restarted monitor.
                    self.path.rename(self.path.with_name(f"app.log.{self.rotations}"))
                    handle = self.path.open("a", encoding="utf-8")
                self.stop.wait(0.002)  # a steady stream of small appends
        finally:
            handle.close()


def run_with_kills(child: Child, state: Path, writer: Writer, seed: int) -> int:
    """Kill the child 3-5 times at seeded random points while it works; return the kills."""
    rng = random.Random(seed)
    kills = rng.randint(3, 5)
    # Kill points, as fractions of the lines processed: the last run always has work.
    targets = sorted(rng.uniform(0.05, 0.6) * LINES for _ in range(kills))
    child.start()
    # Only start writing once the first run has scanned the (empty) directory: a
    # first run starts existing files at their end, as `tail -f` does.
    wait_for(lambda: read_state(state)[2] == 1, timeout=120)
    writer.start()
    try:
        for target in targets:
            seen = read_state(state)[0]
            # This run has committed something, and the progress reached the kill point.
            wait_for(
                lambda seen=seen, target=target: read_state(state)[0] >= max(seen + 1, target),
                timeout=120,
            )
            time.sleep(rng.uniform(0.0, 0.02))  # a little jitter: mid-batch, mid-commit
            assert child.alive(), child.stderr()
            child.kill()
            processed = read_state(state)[0]
            assert processed <= writer.written, "lines were counted more than once"
            assert processed < LINES, "the kill came too late to test a restart"
            child.start()
        wait_for(lambda: read_state(state)[0] >= LINES, timeout=240)
        writer.join(timeout=60)
        assert not writer.is_alive()
        assert child.interrupt() == 0, child.stderr()
    finally:
        writer.stop.set()
        writer.join()
    return kills


@pytest.mark.parametrize("seed", [7])
def test_kill_9_restarts_count_every_line_exactly_once(
    child: Child, log_dir: Path, tmp_path: Path, seed: int
) -> None:
    state = tmp_path / "state.db"
    writer = Writer(log_dir, state)
    kills = run_with_kills(child, state, writer, seed)
    lines, value_errors, _ = read_state(state)
    assert child.starts == kills + 1 >= 4
    assert writer.written == LINES
    assert lines == LINES, child.stderr()
    assert value_errors == writer.errors == LINES // ERROR_EVERY


@pytest.mark.parametrize("seed", [11])
def test_kill_9_restarts_with_rename_rotation_count_every_line_exactly_once(
    child: Child, log_dir: Path, tmp_path: Path, seed: int
) -> None:
    state = tmp_path / "state.db"
    writer = Writer(log_dir, state, rotate_every=LINES // 5)
    kills = run_with_kills(child, state, writer, seed)
    lines, value_errors, _ = read_state(state)
    assert child.starts == kills + 1 >= 4
    assert writer.rotations == 5
    assert sorted(p.name for p in log_dir.iterdir()) == [
        "app.log",
        *(f"app.log.{i}" for i in range(1, 6)),
    ]
    assert lines == LINES, child.stderr()
    assert value_errors == writer.errors == LINES // ERROR_EVERY

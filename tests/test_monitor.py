"""The public contract of ``LogMonitor``, one point per test.

Scores and alerts are asserted on a fake clock with ``process_log_file`` called
directly, so every run is the same; the threaded tests check the real-time path
(the background runner, ``monitor_logs``, readers in other threads) and only wait
for conditions, never for a duration.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sklearn.ensemble import IsolationForest

from logmonitor import (
    Alert,
    ConfigError,
    FakeClock,
    LogMonitor,
    LogMonitorError,
    MonitorStateError,
    SourceError,
    StateError,
)

from .conftest import REPO, wait_for

# Small windows so that a test sees a fitted forest after a few seconds of traffic.
SMALL = {"window_seconds": 1, "warmup_windows": 8, "window_grace": 0.2}
BURST_PREFIX = "CRITICAL disk /dev/sda failed"


def append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def normal_lines(start: int, count: int = 3) -> list[str]:
    # No timestamps: a line's window follows the time it was read.
    return [f"INFO request {n} served in {n % 7 + 2} ms" for n in range(start, start + count)]


def burst_lines(count: int = 200) -> list[str]:
    return [f"{BURST_PREFIX}: OSError: I/O error {n}" for n in range(count)]


def small_monitor(
    log_dir: Path, tmp_path: Path, monitor_class: type[LogMonitor] = LogMonitor, **options: Any
) -> LogMonitor:
    return monitor_class([str(log_dir)], 0.5, state=str(tmp_path / "s.db"), **{**SMALL, **options})


def feed_normal(monitor: LogMonitor, path: Path, clock: FakeClock, windows: int = 12) -> None:
    """Steady traffic, one batch per one-second window, until past the warm-up."""
    for i in range(windows):
        append(path, normal_lines(i * 3))
        monitor.process_log_file(str(path))
        clock.advance(1.0)


def inject_burst(monitor: LogMonitor, path: Path, clock: FakeClock) -> None:
    append(path, burst_lines())
    monitor.process_log_file(str(path))
    for _ in range(2):  # let the burst's window pass its end and grace, so it is scored
        clock.advance(1.0)
        monitor.process_log_file(str(path))


class RecordingMonitor(LogMonitor):
    """Keeps what the hooks were called with (a real subclass, as users write them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notified: list[Alert] = []
        self.processed: list[str] = []
        self._calls = threading.Lock()

    def process_log_file(self, filename: str) -> None:
        super().process_log_file(filename)
        with self._calls:
            self.processed.append(filename)

    def notify(self, alert: Alert) -> None:
        self.notified.append(alert)


@pytest.fixture
def app_log(log_dir: Path) -> Path:
    path = log_dir / "app.log"
    path.touch()
    return path


@pytest.fixture
def anomaly(
    log_dir: Path, app_log: Path, tmp_path: Path, clock: FakeClock
) -> Iterator[tuple[RecordingMonitor, float | None]]:
    """A monitor on a fake clock that learned steady traffic, then saw a burst.

    Yields the monitor (still open) and the last score before the burst.
    """
    monitor = small_monitor(log_dir, tmp_path, RecordingMonitor, clock=clock)
    assert isinstance(monitor, RecordingMonitor)
    feed_normal(monitor, app_log, clock)
    before = monitor.status().last_score
    inject_burst(monitor, app_log, clock)
    yield monitor, before
    monitor.stop()


# --------------------------------------------------------------------- attributes


def test_stores_log_dirs_and_alert_threshold(log_dir: Path) -> None:
    monitor = LogMonitor([str(log_dir)], 0.7)
    assert monitor.log_dirs == [str(log_dir)]
    assert monitor.alert_threshold == 0.7


def test_model_is_an_isolation_forest(log_dir: Path) -> None:
    assert isinstance(LogMonitor([str(log_dir)], 0.5).model, IsolationForest)


def test_error_summary_is_a_defaultdict_of_int(log_dir: Path) -> None:
    summary = LogMonitor([str(log_dir)], 0.5).error_summary
    assert isinstance(summary, defaultdict)
    assert summary.default_factory is int
    assert summary["never seen"] == 0


def test_error_summary_counts_exception_class_else_error_template(
    log_dir: Path, app_log: Path, clock: FakeClock
) -> None:
    monitor = LogMonitor([str(log_dir)], 0.5, clock=clock)
    append(
        app_log,
        [
            "ERROR job failed: ValueError: bad input 123",
            "ERROR cache refresh failed for shard 3",
            "INFO request 1 served in 3 ms",
            "ERROR job failed: ValueError: bad input 456",
            "ERROR cache refresh failed for shard 4",
            "ERROR cache refresh failed for shard 5",
        ],
    )
    monitor.process_log_file(str(app_log))
    monitor.stop()
    assert isinstance(monitor.error_summary, defaultdict)
    assert monitor.error_summary.default_factory is int
    summary = dict(monitor.error_summary)
    assert summary.pop("ValueError") == 2
    # The rest is one template for the three lines, the shard number masked.
    ((template, count),) = summary.items()
    assert count == 3
    assert template.startswith("ERROR cache refresh failed for shard")
    assert not any(digit in template for digit in "345")


def test_alerts_is_a_list_of_alerts_that_unpack_as_filename_and_score(
    anomaly: tuple[RecordingMonitor, float | None], app_log: Path
) -> None:
    monitor, _ = anomaly
    monitor.stop()
    assert isinstance(monitor.alerts, list)
    assert len(monitor.alerts) == 1
    alert = monitor.alerts[0]
    filename, score = alert
    assert filename == str(app_log)
    assert score == alert.score
    assert isinstance(alert.time, float)
    assert alert.templates[0].startswith("CRITICAL disk")
    assert "OSError: I/O error" in alert.templates[0]
    assert len(alert.template_ids) == len(alert.templates)
    assert alert.sample_lines
    assert all(s.text.startswith(BURST_PREFIX) for s in alert.sample_lines)
    assert all(s.path == str(app_log) for s in alert.sample_lines)


def test_scores_follow_the_papers_boundary(
    anomaly: tuple[RecordingMonitor, float | None],
) -> None:
    monitor, before = anomaly
    monitor.stop()
    assert before is not None, "the forest should be scoring before the burst"
    assert 0.0 <= before < 0.5  # steady traffic is normal
    (alert,) = monitor.alerts
    assert 0.5 <= alert.score <= 1.0
    assert alert.threshold == 0.5
    assert alert.lines == 200
    assert alert.errors == 200
    assert monitor.error_summary["OSError"] == 200


# ------------------------------------------------------------- invalid arguments


@pytest.mark.parametrize(
    ("log_dirs", "threshold", "error", "names"),
    [
        pytest.param(["/no/such/logs"], 0.5, SourceError, ["log_dirs", "create"], id="missing"),
        pytest.param(None, 0, ConfigError, ["alert_threshold", "(0, 1]"], id="threshold-0"),
        pytest.param(None, 1.5, ConfigError, ["alert_threshold", "(0, 1]"], id="threshold-1.5"),
        pytest.param(None, "0.5", ConfigError, ["alert_threshold", "(0, 1]"], id="threshold-str"),
        pytest.param(None, True, ConfigError, ["alert_threshold", "(0, 1]"], id="threshold-bool"),
        pytest.param("LOGDIR", 0.5, ConfigError, ["log_dirs", "LogMonitor(["], id="string-dirs"),
    ],
)
def test_invalid_arguments_name_the_argument_and_the_fix(
    log_dir: Path, log_dirs: Any, threshold: Any, error: type[LogMonitorError], names: list[str]
) -> None:
    if log_dirs is None:
        log_dirs = [str(log_dir)]
    elif log_dirs == "LOGDIR":
        log_dirs = str(log_dir)
    with pytest.raises(error) as caught:
        LogMonitor(log_dirs, threshold)
    assert isinstance(caught.value, LogMonitorError)
    message = str(caught.value)
    for name in names:
        assert name in message
    assert ";" in message, "the message should say how to fix it after the problem"


# --------------------------------------------------------------------- life cycle


def test_start_and_stop(log_dir: Path, tmp_path: Path) -> None:
    monitor = small_monitor(log_dir, tmp_path)
    assert monitor.start() is monitor
    assert monitor.running
    monitor.stop()
    assert not monitor.running
    monitor.stop()  # a second stop is harmless


def test_context_manager_starts_and_stops(log_dir: Path, tmp_path: Path) -> None:
    with small_monitor(log_dir, tmp_path) as monitor:
        assert monitor.running
    assert not monitor.running


def test_start_twice_raises_monitor_state_error(log_dir: Path, tmp_path: Path) -> None:
    with small_monitor(log_dir, tmp_path) as monitor, pytest.raises(MonitorStateError) as caught:
        monitor.start()
    assert "start()" in str(caught.value)


def test_monitor_logs_blocks_until_stop_and_checkpoints(log_dir: Path, tmp_path: Path) -> None:
    monitor = small_monitor(log_dir, tmp_path)
    failures: list[Exception] = []

    def run() -> None:
        try:
            monitor.monitor_logs()
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
            failures.append(exc)

    # There before the first scan, which starts existing files at their end (0 here):
    # `running` turns true before that scan, so a file created later could race it.
    path = log_dir / "app.log"
    path.touch()
    thread = threading.Thread(target=run, name="monitor_logs", daemon=True)
    thread.start()
    try:
        wait_for(lambda: monitor.running)
        append(path, normal_lines(0, 50))
        wait_for(lambda: monitor.status().lines == 50)
        assert thread.is_alive(), "monitor_logs() returned before stop()"
    finally:
        monitor.stop()
    thread.join(timeout=60)
    assert not thread.is_alive()
    if failures:
        raise failures[0]

    # A new monitor on the same state file resumes after the 50 lines.
    again = small_monitor(log_dir, tmp_path)
    append(path, normal_lines(50, 5))
    again.process_log_file(str(path))
    assert again.status().lines == 55
    again.stop()


def test_a_second_run_does_not_read_the_history_the_first_run_skipped(
    log_dir: Path, tmp_path: Path
) -> None:
    """The first run starts existing files at their end and saves that position at
    once, though nothing was read: the next run, which knows the directory, must
    not take the file for a new one and read its history."""
    path = log_dir / "old.log"
    append(path, normal_lines(0, 40))
    with small_monitor(log_dir, tmp_path) as first:
        assert first.status().lines == 0
    with small_monitor(log_dir, tmp_path) as second:
        assert second.status().lines == 0
        append(path, normal_lines(40, 5))
        wait_for(lambda: second.status().lines == 5)


# -------------------------------------------------------------------------- hooks


def test_notify_is_called_once_per_new_alert(
    anomaly: tuple[RecordingMonitor, float | None], app_log: Path, clock: FakeClock
) -> None:
    monitor, _ = anomaly
    for _ in range(3):  # more rounds with nothing new raise nothing new
        clock.advance(1.0)
        monitor.process_log_file(str(app_log))
    monitor.stop()
    assert len(monitor.notified) == 1
    assert monitor.notified == monitor.alerts
    assert monitor.notified[0].id is not None


def test_running_monitor_calls_process_log_file_per_file_with_new_lines(
    log_dir: Path, tmp_path: Path
) -> None:
    monitor = small_monitor(log_dir, tmp_path, RecordingMonitor, poll_interval=0.1)
    assert isinstance(monitor, RecordingMonitor)
    first, second = log_dir / "a.log", log_dir / "b.log"
    with monitor:
        append(first, normal_lines(0))
        append(second, normal_lines(10))
        wait_for(lambda: {str(first), str(second)} <= set(monitor.processed))
        wait_for(lambda: monitor.status().lines == 6)
    assert set(monitor.processed) <= {str(first), str(second)}


def test_readme_subclass_example_sends_mail_for_an_anomaly(
    log_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The original docs' example, on the real-time path (threads, read-time windows)."""
    monkeypatch.syspath_prepend(str(REPO))
    from log_monitor import LogMonitor as RootLogMonitor  # as the README imports it

    assert RootLogMonitor is LogMonitor
    mails: list[str] = []

    class EmailAlertMonitor(RootLogMonitor):
        def process_log_file(self, filename: str) -> None:
            super().process_log_file(filename)
            if self.alerts:
                latest = self.alerts[-1]
                filename, score = latest
                self.send_email(f"Anomaly detected in {filename} with score {score}")

        def send_email(self, body: str) -> None:  # a list instead of SMTP
            mails.append(body)

    path = log_dir / "app.log"
    monitor = small_monitor(log_dir, tmp_path, EmailAlertMonitor, poll_interval=0.2)
    with monitor:
        stop_traffic = threading.Event()

        def traffic() -> None:
            n = 0
            while not stop_traffic.wait(0.25):
                append(path, normal_lines(n))
                n += 3

        writer = threading.Thread(target=traffic, name="traffic", daemon=True)
        writer.start()
        try:
            # Past the warm-up, and long enough that the rate baselines are learned
            # and a never-seen template is surprising (after 8 windows it is not).
            wait_for(lambda: monitor.status().windows_learned >= 30, timeout=240)
            # Real-time windows jitter with the machine's load, so whether steady
            # traffic stays below the threshold is asserted on the fake clock
            # (test_scores_follow_the_papers_boundary); here: the burst is reported.
            append(path, burst_lines())
            wait_for(lambda: burst_alerts(monitor), timeout=120)
        finally:
            stop_traffic.set()
            writer.join()
    alert = burst_alerts(monitor)[0]
    filename, score = alert
    assert filename == str(path)
    assert score >= 0.5
    # The hook mails right after super() published the alert, in the same call.
    wait_for(lambda: f"Anomaly detected in {path} with score {score}" in mails)


def burst_alerts(monitor: LogMonitor) -> list[Alert]:
    return [
        a for a in monitor.alerts if any(s.text.startswith(BURST_PREFIX) for s in a.sample_lines)
    ]


# --------------------------------------------------------------- thread safety


def test_error_summary_and_alerts_can_be_read_while_monitoring(
    log_dir: Path, tmp_path: Path
) -> None:
    monitor = small_monitor(log_dir, tmp_path, poll_interval=0.1)
    path = log_dir / "app.log"
    kinds = ["ValueError", "KeyError", "OSError", "TimeoutError"]
    written = 0
    reads = 0
    failures: list[Exception] = []
    done = threading.Event()

    def reader() -> None:
        nonlocal reads
        try:
            while not done.is_set():
                total = 0
                for _kind, count in monitor.error_summary.items():
                    total += count
                for alert in list(monitor.alerts):
                    filename, score = alert
                    assert filename
                    assert 0.0 <= score <= 1.0
                assert total >= 0
                reads += 1
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
            failures.append(exc)

    with monitor:
        thread = threading.Thread(target=reader, name="reader", daemon=True)
        thread.start()
        try:
            for batch in range(40):
                lines = []
                for i in range(50):
                    kind = kinds[(batch + i) % len(kinds)]
                    lines.append(f"ERROR job {batch}-{i} failed: {kind}: bad input {i}")
                append(path, lines)
                written += len(lines)
            wait_for(lambda: monitor.status().lines == written, timeout=120)
        finally:
            done.set()
            thread.join()
    if failures:
        raise failures[0]
    assert reads > 0
    assert sum(monitor.error_summary.values()) == written
    assert set(monitor.error_summary) == set(kinds)


def test_error_summary_survives_a_restart(
    log_dir: Path, app_log: Path, tmp_path: Path, clock: FakeClock
) -> None:
    state = str(tmp_path / "s.db")
    errors = ["ERROR job failed: ValueError: bad input 1"] * 3 + ["ERROR disk quota exceeded"]
    append(app_log, errors)
    first = LogMonitor([str(log_dir)], 0.5, state=state, clock=clock)
    first.process_log_file(str(app_log))
    first.stop()
    expected = {"ValueError": 3, "ERROR disk quota exceeded": 1}
    assert dict(first.error_summary) == expected

    second = LogMonitor([str(log_dir)], 0.5, state=state, clock=clock)
    second.process_log_file(str(app_log))  # nothing new: counts restored, not doubled
    assert dict(second.error_summary) == expected
    assert isinstance(second.error_summary, defaultdict)
    assert second.error_summary.default_factory is int
    append(app_log, ["ERROR job failed: ValueError: bad input 2"])
    second.process_log_file(str(app_log))
    second.stop()
    assert dict(second.error_summary) == {**expected, "ValueError": 4}

    with LogMonitor([str(log_dir)], 0.5, state=state) as third:
        assert dict(third.error_summary) == {**expected, "ValueError": 4}


def test_a_failed_state_write_refuses_later_work_so_no_line_is_lost(
    log_dir: Path, app_log: Path, tmp_path: Path, clock: FakeClock
) -> None:
    state = tmp_path / "s.db"
    monitor = LogMonitor([str(log_dir)], 0.5, state=str(state), clock=clock)
    append(app_log, normal_lines(0, 10))
    monitor.process_log_file(str(app_log))
    with closing(sqlite3.connect(state, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
        append(app_log, normal_lines(10, 10))
        with pytest.raises(StateError):
            monitor.process_log_file(str(app_log))
        other.execute("ROLLBACK")
    # The lines of the failed commit were read already; committing the next read
    # position would skip them for good, so the monitor refuses until restarted.
    append(app_log, normal_lines(20, 10))
    with pytest.raises(StateError, match="restart"):
        monitor.process_log_file(str(app_log))
    monitor.stop()

    again = LogMonitor([str(log_dir)], 0.5, state=str(state), clock=clock)
    again.process_log_file(str(app_log))
    assert again.status().lines == 30
    again.stop()


def test_process_log_file_can_be_called_directly_while_the_monitor_runs(
    log_dir: Path, tmp_path: Path
) -> None:
    monitor = small_monitor(log_dir, tmp_path, poll_interval=0.05)
    path = log_dir / "app.log"
    written = 0
    with monitor:
        for batch in range(30):
            kind = f"Kind{batch}Error"  # a new error type in every batch
            append(path, [f"ERROR job {batch} failed: {kind}: bad input {i}" for i in range(20)])
            written += 20
            monitor.process_log_file(str(path))  # races the runner for the same file
        wait_for(lambda: monitor.status().lines == written, timeout=120)
        wait_for(lambda: sum(monitor.error_summary.values()) == written, timeout=120)
    assert dict(monitor.error_summary) == {f"Kind{b}Error": 20 for b in range(30)}


def test_summary_tells_each_error_types_story(log_dir: Path, tmp_path: Path) -> None:
    path = log_dir / "app.log"
    append(path, [f"ERROR job {n} failed: ValueError: bad input {n}" for n in range(3)])
    monitor = small_monitor(log_dir, tmp_path)
    monitor.process_log_file(str(path))
    [row] = monitor.summary()
    assert (row.error_type, row.count) == ("ValueError", 3)
    assert row.files == (str(path),)
    assert row.example.startswith("ERROR job")
    assert sum(row.trend) == 3
    assert row.first_seen <= row.last_seen
    monitor.stop()


JAVA_STACK = [
    "2024-01-01 00:00:01,000 ERROR [main] com.example.Job - job failed",
    "java.io.IOException: disk gone",
    "\tat com.example.Job.run(Job.java:42)",
    "\tat java.base/java.lang.Thread.run(Thread.java:833)",
]


def test_a_stack_trace_is_one_record_of_its_exception_class(log_dir: Path, tmp_path: Path) -> None:
    path = log_dir / "app.log"
    append(
        path,
        [
            "2024-01-01 00:00:00,000 ERROR root - request failed",
            "Traceback (most recent call last):",
            '  File "app.py", line 3, in handle',
            "    run()",
            "ValueError: bad input",
            "2024-01-01 00:00:01,000 INFO root - request 18 served in 5 ms",
        ],
    )
    monitor = small_monitor(log_dir, tmp_path)
    monitor.process_log_file(str(path))
    assert dict(monitor.error_summary) == {"ValueError": 1}
    assert monitor.status().lines == 6  # physical lines, all processed
    monitor.stop()


def test_a_pending_stack_trace_is_read_again_after_a_restart_not_lost(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    """A Java stack may still grow, so it waits for the joiner's timeout; the read
    position is held back at its first line until it is processed, so a monitor
    stopped meanwhile loses nothing and the next one counts it once."""
    path = log_dir / "app.log"
    append(path, [*normal_lines(0, 3), *JAVA_STACK])
    first = small_monitor(log_dir, tmp_path, clock=clock)
    first.process_log_file(str(path))
    assert first.status().lines == 3  # the stack is pending
    assert dict(first.error_summary) == {}
    first.stop()

    second = small_monitor(log_dir, tmp_path, clock=clock)
    second.process_log_file(str(path))
    assert second.status().lines == 3
    clock.advance(2.0)  # past the joiner's timeout: the stack is complete
    second.process_log_file(str(path))
    assert second.status().lines == 7
    assert dict(second.error_summary) == {"java.io.IOException": 1}
    second.stop()
    with closing(sqlite3.connect(tmp_path / "s.db")) as db:
        assert db.execute("SELECT SUM(lines) FROM sources").fetchone()[0] == 7


def test_rotation_completes_a_pending_record_with_its_own_files_position(
    log_dir: Path, tmp_path: Path
) -> None:
    """A record pending at the end of a file that is then rotated is completed by
    the new file's first chunk; the old file's read position must move past it, or
    the next run reads (and counts) it again."""
    path = log_dir / "app.log"
    path.touch()
    with small_monitor(log_dir, tmp_path, poll_interval=0.05) as first:
        append(path, normal_lines(0, 3))
        wait_for(lambda: first.status().lines == 3)
        append(path, [*normal_lines(3, 2), *JAVA_STACK])  # the stack stays pending
        path.rename(log_dir / "app.log.1")
        append(path, normal_lines(10, 2))
        wait_for(lambda: first.status().lines == 3 + 2 + len(JAVA_STACK) + 2)
        assert dict(first.error_summary) == {"java.io.IOException": 1}
    with small_monitor(log_dir, tmp_path, poll_interval=0.05) as second:
        append(path, normal_lines(20, 1))
        wait_for(lambda: second.status().lines == 3 + 2 + len(JAVA_STACK) + 2 + 1)
    with closing(sqlite3.connect(tmp_path / "s.db")) as db:
        assert db.execute("SELECT SUM(lines) FROM sources").fetchone()[0] == 12
        counts = db.execute("SELECT count FROM errors WHERE error_type = 'java.io.IOException'")
        assert counts.fetchone()[0] == 1

"""What the stages learn survives a restart: template ids keep their meaning.

White-box where it must be: the miner is read through the monitor's pipeline to
see which id a line gets, without changing the running miner (a copy is mined).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from logmonitor import FakeClock, LogMonitor, StateError
from logmonitor.patterns.miner import TemplateMiner
from logmonitor.pipeline import SNAPSHOT_SECONDS
from logmonitor.records import LogLine, Record
from logmonitor.store import Store

KINDS = [
    "INFO user {n} logged in from 10.0.0.{n}",
    "WARN cache miss for key k{n} after {n} ms",
    "ERROR job {n} failed: ValueError: bad input",
    "INFO served /index.html in {n} ms",
]


def lines(start: int, count: int = 8) -> list[str]:
    return [kind.format(n=n) for n in range(start, start + count) for kind in KINDS]


def append(path: Path, texts: list[str]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(t + "\n" for t in texts))


def ids_now(monitor: LogMonitor, texts: list[str]) -> dict[str, int]:
    """The template id each text would get from the monitor's miner now (mined by a
    copy, so the monitor's own miner is left as it was)."""
    copy = TemplateMiner.from_snapshot(monitor._ready().miner.to_snapshot())
    records = [Record(LogLine("s", "s", t, 0, 0, 1, 0.0), message=t) for t in texts]
    return {m.template: m.template_id for m in copy.add_batch(records)}


def open_monitor(log_dir: Path, state: str, clock: FakeClock) -> LogMonitor:
    return LogMonitor([str(log_dir)], 0.5, state=state, clock=clock, from_beginning=True)


def test_template_ids_survive_a_clean_restart(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    app = log_dir / "app.log"
    append(app, lines(0))
    state = str(tmp_path / "s.db")
    first = open_monitor(log_dir, state, clock)
    first.process_log_file(str(app))
    before = ids_now(first, lines(100, 2))
    assert len(set(before.values())) == len(KINDS)
    first.stop()  # saves the snapshot although SNAPSHOT_SECONDS have not passed

    with closing(Store(state)) as store:
        assert store.state("miner")["version"] >= 1
    second = open_monitor(log_dir, state, clock)
    try:
        assert ids_now(second, lines(200, 2)) == before
        # A new kind of line gets an id no earlier template had.
        append(app, ["DEBUG entirely new shape of line number 7"])
        second.process_log_file(str(app))
        new = ids_now(second, ["DEBUG entirely new shape of line number 8"])
        assert set(new.values()).isdisjoint(before.values())
    finally:
        second.stop()


def test_the_snapshot_is_saved_while_running_once_its_interval_has_passed(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    app = log_dir / "app.log"
    state = str(tmp_path / "s.db")
    monitor = open_monitor(log_dir, state, clock)
    try:
        append(app, lines(0))
        monitor.process_log_file(str(app))
        with closing(Store(state)) as store:
            assert store.state("miner") is None  # learned, but too soon to rewrite
            assert store.state("miner.ids")["floor"] > max(ids_now(monitor, lines(9)).values())
        clock.advance(SNAPSHOT_SECONDS + 1)
        append(app, lines(20, 1))  # known shapes: the next commit carries the snapshot
        monitor.process_log_file(str(app))
        with closing(Store(state)) as store:
            saved = TemplateMiner.from_snapshot(store.state("miner"))
        assert len(saved) == len(KINDS)
    finally:
        monitor.stop()


def test_after_a_crash_ids_given_since_the_snapshot_are_never_reused(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    app = log_dir / "app.log"
    append(app, lines(0))
    state = str(tmp_path / "s.db")
    first = open_monitor(log_dir, state, clock)
    first.process_log_file(str(app))
    given = set(ids_now(first, lines(50, 1)).values())
    # A crash: the process dies before any snapshot (less than SNAPSHOT_SECONDS of
    # learning, no clean stop). Only the committed rows remain.
    pipeline = first._ready()
    pipeline._saved_revision = pipeline.miner.revision
    first.stop()
    with closing(Store(state)) as store:
        assert store.state("miner") is None

    second = open_monitor(log_dir, state, clock)
    try:
        append(app, [t.replace("INFO", "NOTICE") for t in lines(300, 2)])
        second.process_log_file(str(app))
        assert ids_now(second, lines(400, 1))  # the kinds are learned again...
        assert min(ids_now(second, lines(400, 1)).values()) > max(given)  # ...above the floor
    finally:
        second.stop()


@pytest.mark.parametrize(
    ("saved", "problem"),
    [
        ("{not json", "move the state file away"),
        (json.dumps({**TemplateMiner().to_snapshot(), "version": 999}),
         r"version 999 .*upgrade LogMonitor"),
    ],
    ids=["not-json", "newer-version"],
)  # fmt: skip
def test_a_snapshot_that_cannot_be_read_stops_the_start_with_the_fix(
    log_dir: Path, tmp_path: Path, clock: FakeClock, saved: str, problem: str
) -> None:
    state = str(tmp_path / "s.db")
    Store(state).close()  # a state file of this version, with no learned state yet
    with closing(sqlite3.connect(state)) as db, db:
        db.execute("INSERT INTO state VALUES ('miner', ?, 0)", (saved,))
    monitor = open_monitor(log_dir, state, clock)
    with pytest.raises(StateError, match=problem):
        monitor.process_log_file(str(log_dir / "none.log"))
    monitor.stop()


def test_the_detectors_come_back_ready_and_windows_in_progress_are_kept(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    app = log_dir / "app.log"
    app.touch()
    state = str(tmp_path / "s.db")
    options = {"window_seconds": 1.0, "warmup_windows": 8, "window_grace": 0.2}
    first = LogMonitor([str(log_dir)], 0.5, state=state, clock=clock, **options)
    for n in range(12):
        append(app, [f"INFO request {i} served in {i % 7 + 2} ms" for i in range(n * 3, n * 3 + 3)])
        first.process_log_file(str(app))
        clock.advance(1.0)
    append(app, ["INFO request 99 served in 3 ms"] * 2)  # an open window at the stop
    first.process_log_file(str(app))
    assert first.status().model_ready
    learned = first.status().windows_learned
    first.stop()

    second = LogMonitor([str(log_dir)], 0.5, state=state, clock=clock, **options)
    try:
        status = second.status()
        assert status.model_ready  # scores at once: no second warm-up
        assert status.open_windows == 1  # the window in progress came back
        clock.advance(2.0)
        second.process_log_file(str(app))  # it closes with its two lines, and is scored
        assert second.status().windows_scored >= 1
        scored_lines = [lines for _, _, _, lines, _ in second.recent_scores()]
        assert 2 in scored_lines  # the restored window, with the lines of the first run
        assert learned >= 12
    finally:
        second.stop()


class Recorder:
    """A stand-in Deliverer that keeps what was queued (or fails when told to)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.queued: list[Any] = []
        self.dropped = 0  # as a Deliverer counts what a full outbox pushed out

    def start(self) -> Recorder:
        return self

    def submit(self, notification: Any) -> None:
        if self.fail:
            raise OSError("disk full")
        self.queued.append(notification)

    def close(self) -> None:
        """Nothing to release."""


def fast_options(tmp_path: Path, clock: FakeClock, **extra: Any) -> dict[str, Any]:
    """One-second windows past an eight-window warm-up, on the fake clock."""
    return {
        "state": str(tmp_path / "s.db"), "clock": clock, "window_seconds": 1.0,
        "warmup_windows": 8, "window_grace": 0.2, **extra,
    }  # fmt: skip


def run_anomaly(monitor: LogMonitor, app: Path, clock: FakeClock) -> None:
    for n in range(12):
        append(app, [f"INFO request {i} served in {i % 7 + 2} ms" for i in range(n * 3, n * 3 + 3)])
        monitor.process_log_file(str(app))
        clock.advance(1.0)
    append(app, [f"CRITICAL disk failed: OSError: I/O error {i}" for i in range(200)])
    for _ in range(3):
        monitor.process_log_file(str(app))
        clock.advance(1.0)


def test_a_notification_that_could_not_be_queued_is_sent_by_the_next_run(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    app = log_dir / "app.log"
    app.touch()
    options = fast_options(tmp_path, clock, group_wait=0.0)
    broken = Recorder(fail=True)
    first = LogMonitor([str(log_dir)], 0.5, deliverer=broken, **options)  # type: ignore[arg-type]
    run_anomaly(first, app, clock)
    assert len(first.alerts) == 1
    first.stop()
    working = Recorder()
    second = LogMonitor([str(log_dir)], 0.5, deliverer=working, **options)  # type: ignore[arg-type]
    second.process_log_file(str(app))
    second.stop()
    assert [(n.kind, [a.id for a in n.alerts]) for n in working.queued] == [
        ("firing", [first.alerts[0].id])
    ]


def test_an_end_notice_waiting_for_the_rate_limit_survives_a_restart(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    app = log_dir / "app.log"
    app.touch()
    options = fast_options(
        tmp_path, clock, group_wait=0.0, cooldown=60.0, max_notifications_per_hour=1
    )
    first_box = Recorder()
    first = LogMonitor([str(log_dir)], 0.5, deliverer=first_box, **options)  # type: ignore[arg-type]
    run_anomaly(first, app, clock)
    clock.advance(120.0)  # quiet past the cooldown: resolved, but the hour's token is spent
    first.process_log_file(str(app))
    first.stop()
    assert [n.kind for n in first_box.queued] == ["firing"]
    second_box = Recorder()
    second = LogMonitor([str(log_dir)], 0.5, deliverer=second_box, **options)  # type: ignore[arg-type]
    clock.advance(3600.0)  # a token again
    second.process_log_file(str(app))
    second.process_log_file(str(app))
    second.stop()
    assert [n.kind for n in second_box.queued] == ["resolved"]
    third_box = Recorder()
    third = LogMonitor([str(log_dir)], 0.5, deliverer=third_box, **options)  # type: ignore[arg-type]
    clock.advance(3600.0)
    third.process_log_file(str(app))
    third.stop()
    assert [n.kind for n in third_box.queued if n.kind == "resolved"] == []  # told once


def test_timers_notify_while_logs_are_quiet_and_close_windows_of_deleted_files(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    app = log_dir / "app.log"
    app.touch()
    box = Recorder()
    options = fast_options(tmp_path, clock, group_wait=30.0)
    monitor = LogMonitor([str(log_dir)], 0.5, deliverer=box, **options)  # type: ignore[arg-type]
    try:
        run_anomaly(monitor, app, clock)
        assert box.queued == []  # waiting out group_wait
        clock.advance(60.0)
        monitor._tick()  # the runner's timer: no file has new lines
        assert [n.kind for n in box.queued] == ["firing"]
        append(app, ["INFO one more line 1"])
        monitor.process_log_file(str(app))  # a window is open at the stop
    finally:
        monitor.stop()
    app.unlink()  # gone while the monitor was down
    monitor = LogMonitor([str(log_dir)], 0.5, deliverer=Recorder(), **options)  # type: ignore[arg-type]
    try:
        assert monitor.status().open_windows == 1  # its saved window came back
        clock.advance(5.0)
        monitor._tick()
        assert monitor.status().open_windows == 0  # closed by time, not left open
    finally:
        monitor.stop()


def test_open_sessions_are_saved_with_the_lines_that_touched_them(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    """As if killed after the commit: each commit carries the sessions its lines
    touched, so a restart resumes them with every line counted once."""
    app = log_dir / "hdfs.log"
    app.write_text(
        "INFO Receiving block blk_1 src: /10.0.0.1\n"
        "INFO Receiving block blk_2 src: /10.0.0.2\n"
        "INFO Received block blk_1 of size 67108864\n"
    )
    options: dict[str, Any] = {
        "state": str(tmp_path / "s.db"), "clock": clock, "session_id": r"blk_-?\d+",
        "from_beginning": True,
    }  # fmt: skip
    first = LogMonitor([str(log_dir)], 0.5, **options)
    first.process_log_file(str(app))
    assert first.status().open_windows == 2
    with closing(Store(options["state"])) as store:  # committed, before any stop
        saved = store.states("session:")
    assert {s["name"].rpartition("#")[2]: s["lines"] for s in saved.values()} == {
        "blk_1": 2,
        "blk_2": 1,
    }
    first.stop()
    second = LogMonitor([str(log_dir)], 0.5, **options)
    try:
        assert second.status().open_windows == 2
        sessions = second._ready().windows
        lines = {n.rpartition("#")[2]: s.lines for n, s in sessions._open.items()}  # type: ignore[union-attr]
        assert lines == {"blk_1": 2, "blk_2": 1}
    finally:
        second.stop()


def test_the_timer_honours_an_ack_given_while_logs_are_quiet(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    app = log_dir / "app.log"
    app.touch()
    box = Recorder()
    options = fast_options(tmp_path, clock, group_wait=0.0, repeat_interval=5.0, cooldown=100.0)
    monitor = LogMonitor([str(log_dir)], 0.5, deliverer=box, **options)  # type: ignore[arg-type]
    try:
        run_anomaly(monitor, app, clock)
        (alert,) = monitor.alerts
        assert alert.id is not None
        told = len(box.queued)
        monitor.ack(alert.id, by="ops")
        clock.advance(6.0)
        monitor._tick()
        assert len(box.queued) == told  # acked: no repeat
    finally:
        monitor.stop()

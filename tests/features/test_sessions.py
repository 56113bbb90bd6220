"""Session windows keyed by an identifier: timeout, max length, bounds, samples."""

from __future__ import annotations

import json
from typing import Literal

import pytest

from logmonitor.errors import ConfigError, StateError
from logmonitor.features.sessions import SessionWindows, session_of
from logmonitor.records import Level, LogLine, Match, Record

KEY = r"blk_-?\d+"


def rec(
    t: float | None, text: str, source: str = "hdfs.log", n: int = 1, level: Level | None = None
) -> Record:
    return Record(
        LogLine(source, source, text, 0, 0, n, 0.0), message=text, timestamp=t, level=level
    )


def match(
    template_id: int = 1, change: Literal["created", "updated", "unchanged"] = "unchanged"
) -> Match:
    return Match(template_id, f"t{template_id}", change)


def test_lines_are_grouped_by_the_first_key_in_the_message() -> None:
    sessions = SessionWindows(KEY, timeout=100)
    records = [
        rec(0, "Receiving blk_1 src", n=1),
        rec(1, "Receiving blk_-2 src", n=2),
        rec(2, "Received blk_1 then blk_-2", n=3),  # first match wins: blk_1
        rec(3, "no key here", n=4),
    ]
    assert sessions.add(records, [match(1), match(1), match(2), match(3)], now=3) == []
    assert sessions.open_windows() == 2
    assert sessions.unkeyed_lines == 1
    closed = {w.source: w for w in sessions.close_all()}
    assert set(closed) == {"hdfs.log#blk_1", "hdfs.log#blk_-2"}
    first = closed["hdfs.log#blk_1"]
    assert first.count_map() == {1: 1, 2: 1}
    assert (first.start, first.end, first.lines) == (0, 2, 2)
    assert session_of(first) == ("hdfs.log", "blk_1")
    assert sessions.open_windows() == 0


def test_a_session_closes_after_the_inactivity_timeout_on_record_time() -> None:
    sessions = SessionWindows(KEY, timeout=100)
    sessions.add([rec(0, "a blk_1"), rec(50, "b blk_2")], [match(), match()], now=50)
    # blk_1 quiet for 100 s of stream time: closed by a later line of another session.
    closed = sessions.add([rec(100, "c blk_2")], [match()], now=100)
    assert [w.source for w in closed] == ["hdfs.log#blk_1"]
    # The same key after its session closed starts a new one.
    sessions.add([rec(101, "again blk_1")], [match()], now=101)
    assert {w.source for w in sessions.close_all()} == {"hdfs.log#blk_1", "hdfs.log#blk_2"}


def test_the_key_of_a_closed_session_starts_a_new_window() -> None:
    sessions = SessionWindows(KEY, timeout=10)
    sessions.add([rec(0, "a blk_1")], [match(1)], now=0)
    [old] = sessions.add([rec(30, "b blk_1")], [match(2)], now=30)
    assert old.count_map() == {1: 1}
    [new] = sessions.close_all()
    assert new.count_map() == {2: 1}
    assert new.start == 30


def test_max_seconds_and_max_lines_cut_long_sessions() -> None:
    by_time = SessionWindows(KEY, timeout=100, max_seconds=60)
    by_time.add([rec(0, "a blk_1"), rec(50, "b blk_1")], [match(), match()], now=50)
    [cut] = by_time.add([rec(60, "c blk_1")], [match()], now=60)
    assert cut.lines == 2
    by_lines = SessionWindows(KEY, max_lines=3)
    closed = by_lines.add([rec(i, f"x blk_1 {i}") for i in range(7)], [match()] * 7, now=7)
    assert [w.lines for w in closed] == [3, 3]
    assert [w.lines for w in by_lines.close_all()] == [1]


def test_the_least_recently_active_session_is_closed_when_the_table_is_full() -> None:
    sessions = SessionWindows(KEY, timeout=1000, max_open=2)
    sessions.add([rec(0, "blk_1"), rec(1, "blk_2"), rec(2, "blk_1")], [match()] * 3, now=2)
    [evicted] = sessions.add([rec(3, "blk_3")], [match()], now=3)
    assert evicted.source == "hdfs.log#blk_2"  # blk_1 was active more recently
    assert sessions.evicted == 1
    assert sessions.open_windows() == 2


def test_due_and_close_due_follow_the_clock_when_no_line_arrives() -> None:
    sessions = SessionWindows(KEY, timeout=100)
    sessions.add([rec(0, "blk_1"), rec(0, "blk_9", source="other.log")], [match()] * 2, now=0)
    assert sessions.due(now=50) == []
    assert sessions.due(now=100) == ["hdfs.log", "other.log"]
    assert sessions.close_due("hdfs.log", now=50) == []
    [closed] = sessions.close_due("hdfs.log", now=100)
    assert closed.source == "hdfs.log#blk_1"
    assert sessions.due(now=100) == ["other.log"]


def test_a_backlog_is_cut_on_its_timestamps_not_on_the_wall_clock() -> None:
    # Old lines read now: the wall clock is far past them, but they arrive together.
    sessions = SessionWindows(KEY, timeout=100)
    now = 1_700_000_000.0
    assert sessions.add([rec(0, "blk_1"), rec(10, "blk_1")], [match()] * 2, now=now) == []
    assert sessions.open_windows() == 1


def test_one_sample_per_template_and_errors_and_new_templates_preferred() -> None:
    sessions = SessionWindows(KEY, max_samples=2)
    records = [
        rec(0, "a blk_1", n=1),
        rec(1, "b blk_1", n=2),
        rec(2, "c blk_1", n=3, level="error"),
        rec(3, "d blk_1", n=4),
    ]
    sessions.add(records, [match(1), match(1), match(2), match(3, "created")], now=3)
    [window] = sessions.close_all()
    assert [s.line_number for s in window.samples] == [3, 4]
    assert window.errors == 1
    assert window.new_templates == (3,)
    roomy = SessionWindows(KEY)
    roomy.add(records, [match(1), match(1), match(2), match(3)], now=3)
    [window] = roomy.close_all()
    assert [(s.template_id, s.line_number) for s in window.samples] == [(1, 1), (2, 3), (3, 4)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key_pattern": "blk_("}, "not a valid regular expression"),
        ({"key_pattern": KEY, "timeout": 0}, "timeout"),
        ({"key_pattern": KEY, "max_open": 0}, "max_open"),
        ({"key_pattern": KEY, "max_lines": 0}, "max_lines"),
    ],
)
def test_bad_settings_raise_config_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SessionWindows(**kwargs)  # type: ignore[arg-type]


def test_open_sessions_survive_a_restart_through_the_saved_changes() -> None:
    """What the pipeline saves per commit (take_changes) rebuilds the same table,
    in the same eviction order even when the rows come back in another order and
    the sessions' lines arrived in one batch."""
    sessions = SessionWindows(KEY, timeout=100, max_open=2)
    sessions.track_changes = True
    records = [rec(0, "a blk_1", n=1), rec(1, "b blk_2", n=2, level="error")]
    sessions.add(records, [match(1), match(2, "created")], now=1)
    meta, changes = sessions.take_changes()
    saved = json.loads(json.dumps([s for s in changes.values() if s is not None]))
    restored = SessionWindows(KEY, timeout=100, max_open=2)
    restored.restore(json.loads(json.dumps(meta)), sorted(saved, key=lambda s: s["name"])[::-1])
    assert restored.open_windows() == 2
    # Same next steps: blk_1 is still the least recently active, evicted first.
    later = [rec(50, "d blk_3", n=3)]  # a new session: the table is full
    expected = sessions.add(later, [match(3)], now=50)
    assert [w.source for w in expected] == ["hdfs.log#blk_1"]
    assert restored.add(later, [match(3)], now=50) == expected
    assert restored.close_all() == sessions.close_all()
    with pytest.raises(StateError, match="version"):
        SessionWindows(KEY).restore({**meta, "version": 0}, saved)

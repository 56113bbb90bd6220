"""The error summary: types, bounds, per-batch deltas, restore."""

from __future__ import annotations

from logmonitor.alerts.summary import OTHER, ErrorStat, ErrorSummary
from logmonitor.parse.formats import error_type_of
from logmonitor.records import Level, LogLine, Match, Record


def rec(
    message: str,
    level: Level | None = "error",
    t: float | None = 100.0,
    source: str = "a.log",
    read_at: float = 50.0,
) -> Record:
    line = LogLine(source, source, f"HEADER {message}", 0, 0, 1, read_at)
    return Record(line, message, timestamp=t, level=level, error_type=error_type_of(message))


def m(template: str, template_id: int = 1) -> Match:
    return Match(template_id, template, "unchanged")


def test_exception_class_is_the_type() -> None:
    summary = ErrorSummary()
    records = [
        rec("read failed: java.io.IOException: Broken pipe"),
        rec("read failed: java.io.IOException: Reset"),
        rec("bad value ValueError: x"),
    ]
    summary.update(records, [m("read failed: <*>"), m("read failed: <*>"), m("bad value <*>", 2)])
    assert summary.counts() == {"java.io.IOException": 2, "ValueError": 1}


def test_template_of_an_error_level_record_without_exception() -> None:
    summary = ErrorSummary()
    summary.update(
        [rec("disk sda failed", "error"), rec("disk sdb failed", "critical")],
        [m("disk <*> failed"), m("disk <*> failed")],
    )
    assert summary.counts() == {"disk <*> failed": 2}


def test_non_error_lines_are_ignored() -> None:
    summary = ErrorSummary()
    records = [rec("started", "info"), rec("slow", "warning"), rec("plain", None)]
    assert summary.update(records, [m("started"), m("slow"), m("plain")]) == []
    assert summary.counts() == {}
    assert len(summary) == 0


def test_deltas_are_per_batch() -> None:
    summary = ErrorSummary()
    first = summary.update([rec("a", t=10.0), rec("a", t=30.0)], [m("A"), m("A")])
    assert first == [ErrorStat("A", 2, 10.0, 30.0, "HEADER a", "a.log")]
    second = summary.update([rec("a", t=5.0, source="b.log"), rec("b", t=7.0)], [m("A"), m("B", 2)])
    assert sorted((d.error_type, d.count) for d in second) == [("A", 1), ("B", 1)]
    assert summary.counts() == {"A": 3, "B": 1}
    [a] = [s for s in summary.top() if s.error_type == "A"]
    assert (a.first_seen, a.last_seen) == (5.0, 30.0)
    assert (a.example, a.source) == ("HEADER a", "b.log")  # the latest example


def test_a_record_without_timestamp_uses_its_read_time() -> None:
    summary = ErrorSummary()
    [delta] = summary.update([rec("x", t=None, read_at=42.0)], [m("X")])
    assert (delta.first_seen, delta.last_seen) == (42.0, 42.0)


def test_max_types_bound_counts_the_rest_as_other() -> None:
    summary = ErrorSummary(max_types=2)
    summary.update([rec("a"), rec("b")], [m("A"), m("B")])
    summary.update([rec("c"), rec("a"), rec("d")], [m("C"), m("A"), m("D")])
    assert summary.counts() == {"A": 2, "B": 1, OTHER: 2}


def test_max_types_holds_within_one_batch() -> None:
    summary = ErrorSummary(max_types=3)
    kinds = [f"K{i}" for i in range(10)]
    deltas = summary.update([rec(k) for k in kinds], [m(k) for k in kinds])
    assert summary.counts() == {"K0": 1, "K1": 1, "K2": 1, OTHER: 7}
    assert sum(d.count for d in deltas) == 10
    assert len(summary) <= 3 + 1


def test_top_and_example_length() -> None:
    summary = ErrorSummary()
    summary.update(
        [rec("b"), rec("a"), rec("a"), rec("y" * 5000)], [m("B"), m("A"), m("A"), m("Y")]
    )
    assert [s.error_type for s in summary.top(2)] == ["A", "B"]
    [y] = [s for s in summary.top() if s.error_type == "Y"]
    assert len(y.example) == 2000


def test_load_restores_and_merges() -> None:
    summary = ErrorSummary()
    summary.load([ErrorStat("A", 5, 1.0, 2.0, "ex", "a.log")])
    summary.update([rec("a", t=3.0)], [m("A")])
    assert summary.counts() == {"A": 6}
    [a] = summary.top()
    assert (a.first_seen, a.last_seen) == (1.0, 3.0)


def test_report_gives_files_example_and_trend_per_type() -> None:
    summary = ErrorSummary(bucket_seconds=60, trend_buckets=4, max_files=2)
    # Two errors a minute for three minutes, then a burst of six in the fourth.
    times = [0, 30, 60, 90, 120, 150, *[180 + i for i in range(6)]]
    sources = ["a.log", "b.log", "c.log"]
    records = [rec("boom: ValueError: x", t=t, source=sources[i % 3]) for i, t in enumerate(times)]
    summary.update(records, [m("boom: <*>")] * len(records))
    [row] = summary.report()
    assert (row.error_type, row.count) == ("ValueError", 12)
    assert (row.first_seen, row.last_seen) == (0, 185)
    assert row.trend == (2, 2, 2, 6)  # oldest first, the newest bucket last
    assert len(row.files) == 2  # the most recent files, newest first
    assert row.files[0] == sources[11 % 3]
    assert row.example == "HEADER boom: ValueError: x"
    assert row.to_dict()["trend"] == [2, 2, 2, 6]


def test_trend_ends_at_the_newest_error_and_forgets_older_buckets() -> None:
    summary = ErrorSummary(bucket_seconds=60, trend_buckets=3)
    summary.update([rec("old: ValueError: x", t=0)], [m("old")])
    summary.update([rec("new: KeyError: y", t=600)], [m("new", 2)])
    rows = {row.error_type: row for row in summary.report()}
    assert rows["KeyError"].trend == (0, 0, 1)
    assert rows["ValueError"].trend == (0, 0, 0)  # ten minutes ago: out of the trend
    assert rows["ValueError"].count == 1  # but still counted


def test_report_after_restore_names_the_saved_source() -> None:
    summary = ErrorSummary()
    summary.load([ErrorStat("ValueError", 3, 1.0, 2.0, "example", "a.log")])
    [row] = summary.report(1)
    assert row.files == ("a.log",)
    assert row.count == 3

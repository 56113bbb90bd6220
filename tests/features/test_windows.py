"""Tumbling per-source windows on an injected clock."""

from __future__ import annotations

from typing import Literal

from logmonitor import FakeClock
from logmonitor.features.windows import WindowCounter
from logmonitor.records import Level, LogLine, Match, Record

W0 = 1_700_000_040.0  # a multiple of 60: a window start
T0 = W0 + 40  # 40 s into the window [W0, W0 + 60)


def rec(
    t: float | None,
    source: str = "a.log",
    level: Level | None = None,
    read_at: float | None = None,
    n: int = 1,
    text: str = "x",
) -> Record:
    line = LogLine(source, source, text, 0, 0, n, read_at if read_at is not None else T0)
    return Record(line, message=text, timestamp=t, level=level)


def match(
    template_id: int = 1, change: Literal["created", "updated", "unchanged"] = "unchanged"
) -> Match:
    return Match(template_id, f"t{template_id}", change)


def test_windows_are_aligned_on_multiples_of_their_length() -> None:
    counter = WindowCounter(seconds=60)
    assert counter.add([rec(T0)], [match()], now=T0) == []
    [window] = counter.close_all()
    assert (window.start, window.end) == (W0, W0 + 60)
    assert window.start % 60 == 0


def test_a_line_of_a_later_window_closes_the_open_one() -> None:
    counter = WindowCounter(seconds=60)
    records = [rec(T0), rec(T0 + 5), rec(T0 + 10, level="error")]
    matches = [match(1), match(2), match(1)]
    assert counter.add(records, matches, now=T0 + 10) == []
    [window] = counter.add([rec(T0 + 20)], [match(3)], now=T0 + 20)
    assert window.source == "a.log"
    assert window.lines == 3
    assert window.errors == 1
    assert window.count_map() == {1: 2, 2: 1}
    assert window.counts == ((1, 2), (2, 1))  # by count, then id
    assert counter.open_windows() == 1
    [later] = counter.close_all()
    assert later.start == window.end
    assert later.count_map() == {3: 1}


def test_a_gap_skips_empty_windows() -> None:
    counter = WindowCounter(seconds=60)
    counter.add([rec(T0)], [match()], now=T0)
    [window] = counter.add([rec(T0 + 3600)], [match()], now=T0 + 3600)
    [later] = counter.close_all()
    assert later.start - window.start == 3600


def test_idle_window_closes_by_time_after_the_grace(clock: FakeClock) -> None:
    counter = WindowCounter(seconds=60, grace=2.0)
    clock.set(T0)
    counter.add([rec(T0)], [match()], now=clock.now())
    end = W0 + 60
    clock.set(end + 1.9)
    assert counter.due(clock.now()) == []
    assert counter.close_due("a.log", clock.now()) == []
    clock.set(end + 2.0)
    assert counter.due(clock.now()) == ["a.log"]
    [window] = counter.close_due("a.log", clock.now())
    assert window.end == end
    assert counter.open_windows() == 0
    assert counter.close_due("a.log", clock.now()) == []


def test_a_busy_source_is_not_closed_by_time() -> None:
    # A replayed backlog arrives after the window's end: it must not be cut at a read.
    counter = WindowCounter(seconds=60, grace=2.0)
    end = W0 + 60
    counter.add([rec(T0)], [match()], now=end + 10)
    assert counter.due(end + 11) == []
    assert counter.close_due("a.log", end + 11) == []
    assert counter.due(end + 12) == ["a.log"]
    assert len(counter.close_due("a.log", end + 12)) == 1


def test_out_of_order_lines_count_into_the_open_window() -> None:
    counter = WindowCounter(seconds=60)
    counter.add([rec(T0)], [match(1)], now=T0)
    # Two minutes older than the open window: windows never reopen.
    assert counter.add([rec(T0 - 120)], [match(2)], now=T0) == []
    [window] = counter.close_all()
    assert window.lines == 2
    assert window.count_map() == {1: 1, 2: 1}
    assert window.start == W0


def test_lines_without_timestamp_use_their_read_time() -> None:
    counter = WindowCounter(seconds=60)
    counter.add([rec(None, read_at=T0 + 100)], [match()], now=T0 + 100)
    [window] = counter.close_all()
    assert window.start == W0 + 120


def test_untimestamped_lines_join_the_window_of_their_timestamped_neighbours() -> None:
    """A replayed backlog (old timestamps) with a few header-less lines keeps its
    timeline: those lines join the open window instead of jumping to the wall
    clock, which would swallow the rest of the backlog into one window."""
    counter = WindowCounter(seconds=60)
    now = T0 + 86_400  # the backlog is a day old
    backlog = [rec(T0), rec(None, read_at=now), rec(T0 + 10), rec(T0 + 70), rec(T0 + 130)]
    closed = counter.add(backlog, [match()] * len(backlog), now=now)
    assert [(w.start, w.lines) for w in closed] == [(W0, 3), (W0 + 60, 1)]
    # With no timestamped line for a whole window, the read time is used again.
    later = now + 61
    closed = counter.add([rec(None, read_at=later)], [match()], now=later)
    assert [(w.start, w.lines) for w in closed] == [(W0 + 120, 1)]
    [window] = counter.close_all()
    assert window.start == later // 60 * 60


def test_implausible_future_timestamps_use_read_at() -> None:
    counter = WindowCounter(seconds=60)
    # An hour ahead of the clock (a wrong time zone): counted at its read time.
    counter.add([rec(T0 + 3600, read_at=T0)], [match()], now=T0)
    # Within five minutes ahead: trusted.
    counter.add([rec(T0 + 10, read_at=T0)], [match()], now=T0)
    [window] = counter.close_all()
    assert (window.start, window.lines) == (W0, 2)
    counter.add([rec(T0 + 290, read_at=T0)], [match()], now=T0)
    [window] = counter.close_all()
    assert window.start == (T0 + 290) // 60 * 60


def test_sources_have_their_own_windows() -> None:
    counter = WindowCounter(seconds=60)
    counter.add([rec(T0, "a"), rec(T0, "b"), rec(T0 + 1, "a")], [match()] * 3, now=T0)
    assert counter.open_windows() == 2
    closed = counter.add([rec(T0 + 60, "b")], [match()], now=T0 + 60)
    assert [(w.source, w.lines) for w in closed] == [("b", 1)]
    assert sorted((w.source, w.lines) for w in counter.close_all()) == [("a", 2), ("b", 1)]


def test_new_templates_are_listed() -> None:
    counter = WindowCounter(seconds=60)
    counter.add(
        [rec(T0), rec(T0), rec(T0)], [match(1, "created"), match(1), match(2, "created")], now=T0
    )
    [window] = counter.close_all()
    assert window.new_templates == (1, 2)


def test_samples_are_bounded_and_prefer_errors_and_first_seen_templates() -> None:
    counter = WindowCounter(seconds=60, max_samples=5)
    plain = [rec(T0, n=i, text=f"plain {i}") for i in range(1, 8)]
    counter.add(plain, [match(1)] * 7, now=T0)
    notable = [
        rec(T0, n=10, text="boom", level="error"),
        rec(T0, n=11, text="brand new"),
        rec(T0, n=12, text="plain again"),
    ]
    counter.add(notable, [match(1), match(9, "created"), match(1)], now=T0)
    [window] = counter.close_all()
    assert len(window.samples) == 5
    numbers = [s.line_number for s in window.samples]
    assert 10 in numbers
    assert 11 in numbers
    assert 12 not in numbers
    assert numbers == [3, 4, 5, 10, 11]  # the oldest plain samples made room
    new = next(s for s in window.samples if s.line_number == 11)
    assert (new.path, new.text, new.template_id) == ("a.log", "brand new", 9)


def test_samples_once_all_notable_stay() -> None:
    counter = WindowCounter(seconds=60, max_samples=2)
    errors = [rec(T0, level="error", n=i) for i in range(1, 5)]
    counter.add(errors, [match()] * 4, now=T0)
    [window] = counter.close_all()
    assert [s.line_number for s in window.samples] == [1, 2]


def test_sample_text_is_cut() -> None:
    counter = WindowCounter(seconds=60)
    counter.add([rec(T0, text="y" * 5000)], [match()], now=T0)
    [window] = counter.close_all()
    assert len(window.samples[0].text) == 2000


def test_max_sources_closes_the_stalest_window() -> None:
    counter = WindowCounter(seconds=60, max_sources=2)
    counter.add([rec(T0, "a")], [match()], now=T0)
    counter.add([rec(T0, "b")], [match()], now=T0 + 1)
    counter.add([rec(T0, "a")], [match()], now=T0 + 2)  # "b" is now the stalest
    closed = counter.add([rec(T0, "c")], [match()], now=T0 + 3)
    assert [w.source for w in closed] == ["b"]
    assert counter.open_windows() == 2
    assert sorted(w.source for w in counter.close_all()) == ["a", "c"]


def test_a_full_table_does_not_close_a_window_twice() -> None:
    counter = WindowCounter(seconds=60, max_sources=2)
    counter.add([rec(T0, "a")], [match()], now=T0)
    counter.add([rec(T0, "b")], [match()], now=T0 + 1)
    # "a" moves on to its next window: its old one closes once, and "b" stays open.
    closed = counter.add([rec(T0 + 60, "a")], [match()], now=T0 + 2)
    assert [(w.source, w.start) for w in closed] == [("a", W0)]
    assert counter.open_windows() == 2
    assert sorted(w.source for w in counter.close_all()) == ["a", "b"]


def test_replay_is_deterministic() -> None:
    def run() -> list[object]:
        counter = WindowCounter(seconds=10, grace=1)
        out: list[object] = []
        for i in range(100):
            t = T0 + i * 0.7
            out += counter.add(
                [rec(t, f"s{i % 3}", level="error" if i % 7 == 0 else None, n=i)],
                [match(i % 4, "created" if i < 4 else "unchanged")],
                now=t,
            )
        return out + counter.close_all()

    first = run()
    assert first == run()
    assert sum(w.lines for w in first) == 100  # type: ignore[attr-defined]


def test_resolve_ids_adds_up_counts_of_merged_templates() -> None:
    from logmonitor.features.windows import resolve_ids
    from logmonitor.records import Sample, Window

    window = Window(
        "a", 0.0, 60.0, ((1, 5), (2, 3), (3, 1)), 9, 0, new_templates=(2, 3),
        samples=(Sample("a", 7, "x", 3),),
    )  # fmt: skip
    merged = resolve_ids(window, lambda t: {3: 2}.get(t, t))
    assert merged.counts == ((1, 5), (2, 4))
    assert merged.new_templates == (2,)
    assert merged.samples[0].template_id == 2
    assert resolve_ids(window, lambda t: t) is window

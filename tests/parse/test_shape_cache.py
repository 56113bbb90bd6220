"""LineParser's line-shape cache: a record is the same with it as without it.

The cache keys a line on its text with the ASCII digits folded to ``0`` and reuses
the offsets of one full parse for every later line of that key. That is only right
if no regex the parser runs tells one digit from another: checked here pattern by
pattern, then end to end on the Loghub-2k systems with their digits redrawn.
"""

from __future__ import annotations

import calendar
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmonitor import FakeClock
from logmonitor.parse import formats
from logmonitor.parse.formats import LAYOUTS, Layout, LineParser
from logmonitor.records import LogLine

from .test_formats import LOGHUB_SYSTEMS, NOW, read_loghub

try:  # Python 3.11+
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

DIGITS = [ord(c) for c in "0123456789"]

# Every regex parse_batch's cached fields depend on.
PATTERNS = [layout.regex for layout in LAYOUTS] + [
    formats._LEVEL_NEAR_START,
    formats._LEVEL_AT_START,
    formats._CONTEXT,
    formats._ALIGNED,
    formats._LOGGER,
    formats._INFER_ERROR,
    formats._INFER_WARNING,
    formats._EXCEPTION,
]


def _in_set(items: list[tuple[Any, Any]], code: int) -> bool:
    c = sre_constants
    negate, found = False, False
    for op, arg in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            found |= arg == code
        elif op is c.RANGE:
            found |= arg[0] <= code <= arg[1]
        elif op is c.CATEGORY:
            digit = chr(code).isdigit()
            found |= {
                c.CATEGORY_DIGIT: digit,
                c.CATEGORY_NOT_DIGIT: not digit,
                c.CATEGORY_WORD: True,
                c.CATEGORY_NOT_WORD: False,
                c.CATEGORY_SPACE: False,
                c.CATEGORY_NOT_SPACE: True,
            }[arg]
        else:
            raise AssertionError(f"unexpected set item {op}")
    return found != negate


def _digit_blind(tree: Any) -> Iterator[str]:
    """The places of a parsed pattern that tell digits apart."""
    c = sre_constants
    for op, arg in tree:
        if op in (c.LITERAL, c.NOT_LITERAL) and arg in DIGITS:
            yield f"literal digit {chr(arg)!r}"
        elif op is c.IN:
            if len({_in_set(arg, d) for d in DIGITS}) != 1:
                yield f"set {arg}"
        elif op is c.GROUPREF or op is c.GROUPREF_EXISTS:
            yield "backreference"
        elif op is c.SUBPATTERN:
            yield from _digit_blind(arg[-1])
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            yield from _digit_blind(arg[2])
        elif op in (c.ASSERT, c.ASSERT_NOT):
            yield from _digit_blind(arg[1])
        elif op is c.ATOMIC_GROUP:
            yield from _digit_blind(arg)
        elif op is c.BRANCH:
            for branch in arg[1]:
                yield from _digit_blind(branch)


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.pattern[:40])
def test_the_parser_regexes_do_not_tell_digits_apart(pattern: re.Pattern[str]) -> None:
    found = list(_digit_blind(sre_parse.parse(pattern.pattern, pattern.flags)))
    if pattern.pattern.startswith("^<"):
        # RFC 5424's version "1": lines starting with "<" are never cached.
        found = [f for f in found if f != "literal digit '1'"]
    assert found == []


def test_first_characters_hold_all_digits_or_none() -> None:
    for layout in LAYOUTS:
        held = {d in layout.first for d in "0123456789"}
        assert len(held) == 1, layout.name


def _redraw(text: str, rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) if "0" <= ch <= "9" else ch for ch in text)


def _lines(texts: list[str], source: str) -> list[LogLine]:
    return [LogLine(source, source, t, 0, len(t) + 1, n, 0.0) for n, t in enumerate(texts, 1)]


def _compare(texts_by_source: list[tuple[str, list[str]]], cache_size: int = 64) -> int:
    """Parse the same lines with the cache (in batches) and without it (one by one,
    fresh parser state alike); return how many lines the cache answered."""
    cached = LineParser(FakeClock(NOW), cache_size=cache_size)
    plain = LineParser(FakeClock(NOW), cache_size=0)
    total = 0
    for source, texts in texts_by_source:
        lines = _lines(texts, source)
        got = cached.parse_batch(lines)
        want = [plain.parse(line, NOW) for line in lines]
        assert got == want
        total += len(lines)
    return total - cached._full_parses


def test_cache_on_equals_cache_off_on_loghub(shared_data: Path) -> None:
    rng = random.Random(7)
    runs: list[tuple[str, list[str]]] = []
    for system in LOGHUB_SYSTEMS:
        texts = read_loghub(shared_data, system)
        # The lines as they are, then again with every digit redrawn: the second
        # pass is answered from the cache with other digits in every field.
        runs.append((system, texts))
        runs.append((system, [_redraw(t, rng) for t in texts]))
    # One source cycling through the systems (its layout changes between runs), and
    # a small cache that turns over.
    mixed = [("mixed", texts[i : i + 150]) for _, texts in runs for i in (0, 900)]
    hits = _compare(runs, cache_size=4096)
    assert hits > 20_000, hits
    hits = _compare(mixed, cache_size=64)
    assert hits > 1_000, hits


def test_cache_on_equals_cache_off_on_other_layouts() -> None:
    texts = [
        "<34>Oct 11 22:14:15 host su: 'su root' failed for lonvick on /dev/pts/8",
        "<13>Oct 11 22:14:15 host su: 'su root' failed for lonvick on /dev/pts/8",
        '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326',
        '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 500 2326',
        'ts=2024-01-01T00:00:00Z level=info msg="took 12 ms"',
        'ts=2024-01-01T00:00:01Z level=info msg="took 13 ms"',
        '{"level": "error", "msg": "x 1"}',
        '{"level": "error", "msg": "x 01"}',
        '{"level": "error", "msg": "x 11"}',
        "2024-01-01 00:00:00,123 ERROR [main] org.a.B: java.io.IOException: 1 broke",
        "2024-01-01 00:00:01,999 ERROR [main] org.a.B: java.io.IOException: 2 broke",
        "2024-01-01 00:00:01.5 INFO 1 --- [main] o.a.B : started 1",
        "2024-01-01T00:00:02+02:00 INFO x: y 1",
        "2024-01-01T00:00:03+02:00 INFO x: y 2",
        "12:00:00.123 [main] INFO  a.B - hello 1",
        "12:00:01.123 [main] INFO  a.B - hello 2",
        "INFO:root:x 1",
        "INFO:root:x 2",
        "2024-13-01 00:00:00,123 WARN bad date 1",
        "2024-12-01 00:00:00,123 WARN bad date 1",
        "plain text 1 failed",
        "plain text 2 failed",
        "١٢ unicode digits 1",
        "١٢ unicode digits 2",
        "lone \udcff surrogate 1",
        "<34>1 2024-01-01T00:00:00Z host app - - - version one",
        "<34>2 2024-01-01T00:00:00Z host app - - - version one",
        # A fraction after "." and digits after ":" at the same place: only the first
        # is a fraction of the stamp (found by a review of a change that shared the
        # fraction cache with full parses).
        "<34>1 2003-10-11T22:14:15.123456 host app - - - one",
        "<34>1 2003-10-11T22:14:16:123456 host app - - - two",
        "2003-10-11 22:14:15.123 INFO a: one",
        "2003-10-11 22:14:16:123 INFO a: two",
    ]
    _compare([("s", texts), ("s", texts), ("t", texts[::-1])])


def test_a_custom_layout_reads_each_lines_stamp() -> None:
    """Stamp groups in either order; a cache of stamps by text must not take one
    line's stamp for the next."""
    layout = Layout(
        "clock-first",
        re.compile(r"^(?P<clock>\d\d:\d\d:\d\d) (?P<date>\d{4}/\d\d/\d\d) (?P<msg>.*)$"),
        lambda m, now: formats.parse_numeric(m.group("date"), m.group("clock"), "ymd", now),
    )
    texts = ["10:00:00 2024/01/01 a", "11:00:00 2024/02/01 b", "11:00:00 2024/02/01 c"]
    for cache_size in (0, 64):
        parser = LineParser(FakeClock(NOW), layouts=(layout,), cache_size=cache_size)
        stamps = [r.timestamp for r in parser.parse_batch(_lines(texts, "s"))]
        assert stamps[0] is not None
        assert stamps[1] == stamps[2] != stamps[0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 :-.,[]()<>=|AEIOUWRaefilnorst{}\"'\n\t", max_size=60)))
def test_cache_on_equals_cache_off_on_any_text(texts: list[str]) -> None:
    # Texts that share a shape (digits folded) with others of the batch.
    rng = random.Random(len(texts))
    doubled = [t for text in texts for t in (text, _redraw(text, rng))]
    _compare([("s", doubled), ("s", doubled)])


def test_custom_layouts_are_not_cached() -> None:
    layout = Layout("two", re.compile(r"^2 (?P<msg>.*)$"), lambda m, now: None)
    parser = LineParser(FakeClock(NOW), layouts=(layout,))
    parser.parse_batch(_lines(["2 a", "1 a"], "s"))
    assert not parser._shapes


HEADERS = [
    "2024-01-01 00:00:00,123 ",
    "2024-01-01 00:00:00.5 ",
    "2024-01-01T00:00:00.123456Z ",
    "2024-01-01 00:00:00,123 - INFO  [main:Foo@12] - ",
    "2024-01-01 00:00:00,123 ERROR [main] org.a.B: ",
    "Jan  1 00:00:00 host app[12]: ",
    "081109 203615 148 INFO dfs.DataNode: ",
    "17/06/09 20:10:40 INFO executor.Executor: ",
    "03-17 16:13:38.811  1702  2395 D WindowManager: ",
    "20171223-22:15:29:606|Step_LSC|30002312|",
    "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11"
    " RAS KERNEL INFO ",
    "nova.log.1 2017-05-16 00:00:00.008 25746 INFO nova.a.b [req-1a2b 3c4d - - -] ",
    "[Sun Dec 04 04:47:44 2005] [error] ",
    "[10.30 16:49:06] chrome.exe - ",
    "2024-01-01T00:00:00+02:00 INFO x: ",
    "2024-01-01T00:00:00.5+05:30 ",
    "2024-01-01 00:00:00.123+0530 ",
    "12:00:00.123 [main] INFO  a.B - ",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(HEADERS),
            st.text(alphabet="0123456789 :-.[]()=ERORWANINFailedxceptionError\n", max_size=40),
        ),
        max_size=12,
    )
)
def test_cache_on_equals_cache_off_on_layout_lines(lines: list[tuple[str, str]]) -> None:
    rng = random.Random(len(lines))
    texts = [head + tail for head, tail in lines]
    doubled = [t for text in texts for t in (text, _redraw(text, rng), _redraw(text, rng))]
    _compare([("s", doubled), ("s", doubled)])


def test_a_time_zone_change_reaches_cached_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX-only")
    texts = [f"2024-01-01 00:00:00.{n}00 INFO a: started {n}" for n in range(1, 5)]
    parser = LineParser(FakeClock(NOW))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        before = parser.parse_batch(_lines(texts[:3], "s"))
        monkeypatch.setenv("TZ", "America/New_York")
        time.tzset()
        [after] = parser.parse_batch(_lines(texts[3:], "s"))
        [fresh] = LineParser(FakeClock(NOW), cache_size=0).parse_batch(_lines(texts[3:], "s"))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert before[0].timestamp == pytest.approx(1704067200.1)
    assert after.timestamp == fresh.timestamp == pytest.approx(1704067200.4 + 5 * 3600)


def test_long_lines_are_parsed_in_full_and_never_kept() -> None:
    parser = LineParser(FakeClock(NOW))
    long_text = "2024-01-01 00:00:00,123 INFO a.B: " + "payload 7 " * 200  # ~2 KiB
    short_text = "2024-01-01 00:00:00,123 INFO a.B: payload 7"
    lines = _lines([long_text, long_text, long_text, short_text, short_text], "s")
    records = parser.parse_batch(lines)
    assert len(parser._shapes) + len(parser._shapes_old) == 1  # the short line's shape
    assert len(parser._seen) + len(parser._seen_old) == 1  # and its first sighting
    assert records == LineParser(FakeClock(NOW), cache_size=0).parse_batch(lines)
    assert records[0].message.startswith("payload 7 payload 7")


def test_fractions_of_a_second_reuse_the_whole_second() -> None:
    # Android and HealthApp stamps end in milliseconds: a new value each line. The
    # whole second is parsed once; each line's fraction is added to it.
    texts = [f"03-17 16:13:38.{n:03d}  1702  2395 D WindowManager: x {n}" for n in range(100)]
    texts += [f"20171223-22:15:29:{n}|Step_LSC|30002312|y {n}" for n in range(100, 200)]
    parser = LineParser(FakeClock(NOW))
    records = parser.parse_batch(_lines(texts, "s"))
    assert records == LineParser(FakeClock(NOW), cache_size=0).parse_batch(_lines(texts, "s"))
    calls = parser._seconds_read
    assert 0 < calls <= 6, calls  # the verdicts of two places, then a second each
    assert records[7].timestamp == pytest.approx(records[0].timestamp + 0.007)


def test_digits_that_are_not_a_fraction_are_never_taken_for_one() -> None:
    # A zone's minutes and a clock's seconds follow ":" too; adding them as a
    # fraction would be wrong, and the verdict says so.
    texts = ["2024-01-01T00:00:00+02:00 INFO x: y", "2024-01-01T00:00:00+05:30 INFO x: y"]
    texts += ["Jan  1 00:00:00 host app: y", "Jan  1 00:00:59 host app: y"]
    parser = LineParser(FakeClock(NOW))
    records = parser.parse_batch(_lines(texts, "s"))
    assert records == LineParser(FakeClock(NOW), cache_size=0).parse_batch(_lines(texts, "s"))
    assert parser._fractions
    assert not any(parser._fractions.values())


def test_a_shape_is_kept_from_its_second_line_and_the_first_sightings_are_bounded() -> None:
    # A shape seen once (a line with a one-off hex id or number width) would only
    # push useful shapes out: the first sighting is noted, the second kept.
    parser = LineParser(FakeClock(NOW), cache_size=4)
    parser.parse_batch(_lines(["2024-01-01 00:00:00,123 INFO a.B: took 7 ms"], "s"))
    assert not parser._shapes
    parser.parse_batch(_lines(["2024-01-01 00:00:01,456 INFO a.B: took 8 ms"], "s"))
    assert len(parser._shapes) == 1
    once = [f"2024-01-01 00:00:00,123 INFO a.B: id {'x' * n} 7" for n in range(20)]
    parser.parse_batch(_lines(once, "s"))
    assert len(parser._seen) <= 4
    assert len(parser._seen_old) <= 4


ANDROID = "  1702  2395 D WindowManager: x"


def _both(now: float) -> tuple[LineParser, LineParser]:
    return LineParser(FakeClock(now)), LineParser(FakeClock(now), cache_size=0)


@pytest.mark.parametrize(
    ("now", "texts"),
    [
        # A date without a year takes the latest year that puts it at most a day
        # after now: here 22:13:21.500 is past that limit and 22:13:20.500 is not
        # (within the same whole second's neighbourhood the fraction decides).
        (1_700_000_000.0, [f"11-15 22:13:21.500{ANDROID}"] * 2 + [f"11-15 22:13:20.500{ANDROID}"]),
        (1_700_000_000.0, [f"11-15 22:13:20.{n:03d}{ANDROID}" for n in range(0, 1000, 97)]),
        # Feb 29 at the limit: this year's is past it, and last year had none.
        (
            calendar.timegm((2024, 2, 28, 12, 0, 0)),
            [f"02-29 11:00:00.500{ANDROID}"] * 2 + [f"02-29 12:00:00.500{ANDROID}"],
        ),
    ],
)
def test_a_fraction_that_decides_a_years_choice_is_not_added_to_a_cached_second(
    now: float, texts: list[str]
) -> None:
    cached, plain = _both(now)
    assert cached.parse_batch(_lines(texts, "s")) == plain.parse_batch(_lines(texts, "s"))


@pytest.mark.parametrize("text", [f"01-02 12:00:00.100{ANDROID}", "Jan  2 12:00:00 host app: x"])
def test_year_less_stamps_follow_the_clock_into_a_new_year(text: str) -> None:
    parsers = _both(calendar.timegm((2024, 12, 31, 12, 0, 0)))
    for parser in parsers:
        parser.parse_batch(_lines([text] * 3 + ["Jan  3 12:00:00 host app: other shape"], "s"))
        cast(FakeClock, parser.clock).set(calendar.timegm((2025, 1, 1, 13, 0, 0)))
    cached, plain = (parser.parse_batch(_lines([text], "s"))[0] for parser in parsers)
    assert cached == plain
    assert time.gmtime(cached.timestamp).tm_year == 2025  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01 00:00:00 INFO a: started 1",
        "081109 203615 148 INFO dfs.DataNode: started 1",
        "17/06/09 20:10:40 INFO executor.Executor: started 1",
        "Jan  1 00:00:00 host app[12]: started 1",
    ],
)
def test_a_time_zone_change_reaches_stamps_without_a_fraction(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX-only")
    parsers = _both(NOW)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        for parser in parsers:
            parser.parse_batch(_lines([text] * 3, "s"))
        monkeypatch.setenv("TZ", "Asia/Kolkata")
        time.tzset()
        cached, plain = (parser.parse_batch(_lines([text], "s"))[0] for parser in parsers)
        fresh = LineParser(FakeClock(NOW), cache_size=0).parse_batch(_lines([text], "s"))[0]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert cached == plain == fresh

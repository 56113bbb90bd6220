"""Timestamp text -> epoch seconds: ISO-8601 with zones, syslog dates and the year rule.

Naive timestamps are local time, so these tests pin the process's zone (``TZ``)
and restore it afterwards: results do not depend on the host.
"""

from __future__ import annotations

import calendar
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmonitor.parse.timestamps import (
    parse_clf,
    parse_clock,
    parse_compact,
    parse_epoch,
    parse_iso,
    parse_month_name,
    parse_numeric,
)

DAY = 86_400.0
# Central European time with its DST rules, as a POSIX TZ string (no tz database needed).
CET = "CET-1CEST,M3.5.0,M10.5.0/3"


@contextmanager
def zone(tz: str) -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.fixture(autouse=True, scope="module")
def utc() -> Iterator[None]:
    with zone("UTC"):
        yield


def utc_epoch(*fields: int) -> float:
    return float(calendar.timegm((*fields, *(0,) * (6 - len(fields)), 0, 0, 0)))


# ---------------------------------------------------------------- ISO-8601


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", 1_704_067_200.0),
        ("2024-01-01T00:00:00.5Z", 1_704_067_200.5),
        ("2024-01-01 00:00:00,123", 1_704_067_200.123),
        ("2024-01-01T02:00:00+02:00", 1_704_067_200.0),
        ("2024-01-01T02:00:00+0200", 1_704_067_200.0),
        ("2023-12-31T19:00:00-05:00", 1_704_067_200.0),
        ("2024-01-01 00:00:00 +01:00", 1_704_063_600.0),
        ("2005-06-03-15.42.50.675872", utc_epoch(2005, 6, 3, 15, 42, 50) + 0.675872),
        ("2024-01-01T00:00:00.123456789Z", 1_704_067_200.123456789),
    ],
)
def test_parse_iso(text: str, expected: float) -> None:
    assert parse_iso(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2024-1-1T00:00:00", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00",
     "2023-02-29 00:00:00", "2024-01-01T25:00:00Z", "2024-01-01T00:61:00+01:00"],
)  # fmt: skip
def test_parse_iso_rejects_what_is_not_a_date(text: str) -> None:
    assert parse_iso(text) is None


def test_naive_iso_is_local_time() -> None:
    with zone(CET):
        assert parse_iso("2024-01-01 01:00:00") == 1_704_067_200.0  # CET = UTC+1
        assert parse_iso("2024-07-01 02:00:00") == utc_epoch(2024, 7, 1)  # CEST = UTC+2
        assert parse_iso("2024-07-01T02:00:00Z") == utc_epoch(2024, 7, 1, 2)  # zone wins


def _offset(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


def _zone_text(tz: timezone, dt: datetime, style: int) -> str:
    offset = tz.utcoffset(dt)
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0 and style == 0:
        return "Z"
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return f"{sign}{hh:02d}:{mm:02d}" if style < 2 else f"{sign}{hh:02d}{mm:02d}"


@settings(derandomize=True, deadline=None)  # same examples every run; no timing
@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 12, 31)),
    st.one_of(st.just(timezone.utc), st.integers(-14 * 60, 14 * 60).map(_offset)),
    st.sampled_from("T "),
    st.integers(0, 2),
    st.booleans(),
)
def test_iso_round_trip_with_zones(
    naive: datetime, tz: timezone, sep: str, style: int, fraction: bool
) -> None:
    dt = naive.replace(tzinfo=tz)
    if not fraction:
        dt = dt.replace(microsecond=0)
    text = dt.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if fraction:
        text += f".{dt.microsecond:06d}"
    text += _zone_text(tz, dt, style)
    assert parse_iso(text) == pytest.approx(dt.timestamp(), abs=1e-6)


@settings(derandomize=True, deadline=None)  # same examples every run; no timing
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 12, 31)))
def test_naive_iso_round_trip(naive: datetime) -> None:
    text = naive.strftime("%Y-%m-%d %H:%M:%S") + f",{naive.microsecond // 1000:03d}"
    expected = naive.replace(tzinfo=timezone.utc, microsecond=0).timestamp()
    assert parse_iso(text) == pytest.approx(expected + naive.microsecond // 1000 / 1000)


# ---------------------------------------------------------------- syslog dates


def test_syslog_date_takes_the_clock_year() -> None:
    now = utc_epoch(2024, 6, 1)
    assert parse_month_name("Jan  2 03:04:05", now) == utc_epoch(2024, 1, 2, 3, 4, 5)
    assert parse_month_name("Jun  1 12:00:00", now) == utc_epoch(2024, 6, 1, 12)


def test_december_line_read_on_new_years_day_is_last_year() -> None:
    now = utc_epoch(2024, 1, 1, 0, 5)
    assert parse_month_name("Dec 31 23:59:59", now) == utc_epoch(2023, 12, 31, 23, 59, 59)
    assert parse_month_name("Dec  1 00:00:00", now) == utc_epoch(2023, 12, 1)


def test_up_to_a_day_ahead_stays_this_year() -> None:
    # A slightly fast writer clock is not a year-old line.
    now = utc_epoch(2024, 3, 1, 12)
    assert parse_month_name("Mar  2 11:00:00", now) == utc_epoch(2024, 3, 2, 11)
    assert parse_month_name("Mar  2 13:00:00", now) == utc_epoch(2023, 3, 2, 13)


def test_february_29th_of_last_year() -> None:
    # Read in January 2025 (not a leap year), Feb 29 can only be 2024's.
    now = utc_epoch(2025, 1, 10)
    assert parse_month_name("Feb 29 10:00:00", now) == utc_epoch(2024, 2, 29, 10)


@pytest.mark.parametrize(
    "text", ["", "Jan", "Foo 12 00:00:00", "Feb 30 00:00:00", "Jan 2 03:04", "Jan xx 00:00:00",
             "Jan 2 25:00:00"],
)  # fmt: skip
def test_syslog_date_rejects_what_is_not_a_date(text: str) -> None:
    assert parse_month_name(text, utc_epoch(2024, 6, 1)) is None


def test_month_name_with_explicit_year() -> None:
    # Apache's header carries its year: the clock plays no part.
    assert parse_month_name("Dec 04 04:47:44", utc_epoch(2024, 1, 1), year=2005) == utc_epoch(
        2005, 12, 4, 4, 47, 44
    )


@settings(derandomize=True, deadline=None)  # same examples every run; no timing
@given(
    st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2090, 12, 31)),
    st.floats(min_value=0.0, max_value=300 * DAY),
)
def test_syslog_round_trip_with_year_inference(dt: datetime, later: float) -> None:
    """A line read up to 300 days after it was written gets its year back."""
    dt = dt.replace(microsecond=0)
    text = f"{dt:%b} {dt.day:>2} {dt:%H:%M:%S}"
    stamp = dt.replace(tzinfo=timezone.utc).timestamp()
    assert parse_month_name(text, now=stamp + later) == stamp


# ---------------------------------------------------------------- numeric dates


def test_numeric_orders() -> None:
    now = utc_epoch(2024, 6, 1)
    assert parse_numeric("081109", "20:36:15", "yymmdd", now) == utc_epoch(2008, 11, 9, 20, 36, 15)
    assert parse_numeric("17/06/09", "20:10:40", "ymd", now) == utc_epoch(2017, 6, 9, 20, 10, 40)
    assert parse_numeric("03-17", "16:13:38.811", "md", now) == pytest.approx(
        utc_epoch(2024, 3, 17, 16, 13, 38) + 0.811
    )
    assert parse_compact("20171223-22:15:29:606", now) == pytest.approx(
        utc_epoch(2017, 12, 23, 22, 15, 29) + 0.606
    )


def test_month_day_without_year_uses_the_syslog_rule() -> None:
    # Android's "12-31" read on New Year's Day is last year's, like syslog's.
    now = utc_epoch(2024, 1, 1, 0, 5)
    assert parse_numeric("12-31", "23:59:59.000", "md", now) == utc_epoch(2023, 12, 31, 23, 59, 59)


@pytest.mark.parametrize(
    ("date", "clock", "order"),
    [("081332", "00:00:00", "yymmdd"), ("17/02/30", "00:00:00", "ymd"),
     ("13-01", "00:00:00", "md"), ("03-17", "16", "md"), ("x", "00:00:00", "ymd")],
)  # fmt: skip
def test_numeric_rejects_what_is_not_a_date(date: str, clock: str, order: str) -> None:
    assert parse_numeric(date, clock, order, utc_epoch(2024, 6, 1)) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1117838570", 1_117_838_570.0), ("1704067200123", 1_704_067_200.123),
     ("1.5", 1.5), ("abc", None), ("", None)],
)  # fmt: skip
def test_parse_epoch(text: str, expected: float | None) -> None:
    assert parse_epoch(text) == (pytest.approx(expected) if expected is not None else None)


@settings(derandomize=True, deadline=None)  # same examples every run; no timing
@given(st.text())
def test_parsers_never_raise(text: str) -> None:
    now = utc_epoch(2024, 6, 1)
    parse_iso(text)
    parse_month_name(text, now)
    parse_compact(text, now)
    parse_epoch(text)
    for order in ("ymd", "md", "yymmdd", "yyyymmdd"):
        parse_numeric(text, text, order, now)


# ---------------------------------------------------------------- CLF and time of day


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10/Oct/2000:13:55:36 -0700", 971_211_336.0), ("01/Jan/2024:00:00:00 +0000", 1_704_067_200.0),
     ("01/Jan/2024:01:30:00 +0130", 1_704_067_200.0), ("31/Feb/2024:00:00:00 +0000", None),
     ("01/Foo/2024:00:00:00 +0000", None), ("01/Jan/2024:00:00:00", None),
     ("01/Jan/2024:24:00:00 +0000", None), ("garbage", None)],
)  # fmt: skip
def test_parse_clf(text: str, expected: float | None) -> None:
    # The zone is in the text: the host's does not matter.
    with zone(CET):
        assert parse_clf(text) == expected


def test_parse_clock_is_today_in_local_time() -> None:
    with zone(CET):
        now = datetime(2024, 7, 1, 15, 0).timestamp()
        assert parse_clock("12:00:00.250", now) == datetime(2024, 7, 1, 12).timestamp() + 0.25
        assert parse_clock("12:00:00,250", now) == datetime(2024, 7, 1, 12).timestamp() + 0.25
        # Within the hour ahead: still today (clocks of writer and reader differ a bit).
        assert parse_clock("15:30:00.000", now) == datetime(2024, 7, 1, 15, 30).timestamp()


def test_parse_clock_late_evening_read_after_midnight_is_yesterday() -> None:
    with zone(CET):
        now = datetime(2024, 7, 2, 0, 10).timestamp()
        assert parse_clock("23:59:59.000", now) == datetime(2024, 7, 1, 23, 59, 59).timestamp()


@pytest.mark.parametrize("text", ["25:00:00.000", "12:60:00.000", "12:00", "noon", ""])
def test_parse_clock_rejects_impossible_times(text: str) -> None:
    assert parse_clock(text, 1_700_000_000.0) is None


@settings(derandomize=True, deadline=None)
@given(st.text(max_size=40))
def test_parse_clf_and_clock_never_raise(text: str) -> None:
    assert parse_clf(text) is None or isinstance(parse_clf(text), float)
    assert parse_clock(text, 1_700_000_000.0) is None or isinstance(
        parse_clock(text, 1_700_000_000.0), float
    )


@settings(derandomize=True, deadline=None)
@given(
    st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2100, 1, 1)),
    st.sampled_from([" ", "T", "-"]),
    st.sampled_from(["", ".", ",", ".5", ",123", ".123456789", ".1234567890", "Z", "²", ".٣"]),
)
def test_parse_iso_cached_seconds_agree_with_the_full_parse(
    when: datetime, sep: str, tail: str
) -> None:
    from logmonitor.parse.timestamps import _parse_iso

    text = when.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + tail
    with zone(CET):
        assert parse_iso(text) == _parse_iso(text)

"""Turn the timestamp text of a log header into epoch seconds.

Naive timestamps are read in the host's local time zone, as the writing process
most likely did. Formats without a year (syslog's ``Jan  2 03:04:05``) take the
year of the injected clock, and the previous year when that would put them more
than a day in the future (a December line read in January).
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime
from functools import lru_cache

__all__ = [
    "MONTHS",
    "parse_clf",
    "parse_clock",
    "parse_compact",
    "parse_epoch",
    "parse_iso",
    "parse_month_name",
    "parse_numeric",
]

MONTHS = {
    name: index
    for index, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
_DAY = 86_400.0
_DATE_SEP = re.compile(r"[-/.]")
_CLOCK_SEP = re.compile(r"[:.]")
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T -](\d{2})[:.](\d{2})[:.](\d{2})"
    r"(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?"
)


# Lines come in runs from the same hour, so the calendar work (validating the date,
# applying the zone's DST rules) is done once per hour and cached. The zone is part
# of the key: a process may change TZ (time.tzset), and then the answers change.
@lru_cache(maxsize=4096)
def _hour_start(year: int, month: int, day: int, hh: int, zone: int) -> float:
    datetime(year, month, day, hh)  # raises ValueError for a date the calendar lacks
    # time.mktime applies the local zone and its DST rules, like the writer did.
    return time.mktime((year, month, day, hh, 0, 0, 0, 0, -1))


@lru_cache(maxsize=256)
def _year_of(hour: int, zone: int) -> int:
    return datetime.fromtimestamp(hour * 3600.0).year


def _local(year: int, month: int, day: int, hh: int, mm: int, ss: int, frac: float) -> float:
    """Local wall-clock time to epoch seconds; ValueError for an impossible time."""
    if not (0 <= mm < 60 and 0 <= ss < 60):
        raise ValueError(f"no time {hh:02d}:{mm:02d}:{ss:02d}")
    return _hour_start(year, month, day, hh, time.timezone) + mm * 60 + ss + frac


def _recent(month: int, day: int, hh: int, mm: int, ss: int, frac: float, now: float) -> float:
    """A date without a year: this year's, or last year's when this year's would be
    more than a day after ``now``. Raises ValueError for a date neither year has."""
    this_year = _year_of(int(now // 3600), time.timezone)
    for year in (this_year, this_year - 1):
        try:
            stamp = _local(year, month, day, hh, mm, ss, frac)
        except ValueError:
            continue  # Feb 29 is only valid in leap years
        if stamp <= now + _DAY:
            return stamp
    raise ValueError(f"no recent date {month:02d}-{day:02d}")


def _fraction(digits: str | None) -> float:
    return int(digits) / 10 ** len(digits) if digits else 0.0


def parse_iso(text: str) -> float | None:
    """``2024-05-01 12:00:00,123``, ``2024-05-01T12:00:00.5Z``, ``...+02:00``,
    BGL's ``2005-06-03-15.42.50.675872``.

    >>> parse_iso("2024-01-01T00:00:00Z")
    1704067200.0
    """
    # The usual case, a naive stamp with or without a fraction: the whole second is
    # cached (lines come in runs from the same second), the fraction added to it.
    size = len(text)
    if size == 19 or (21 <= size <= 29 and text[19] in ".," and text[20:].isdecimal()):
        second = _naive_second(text[:19], time.timezone)
        if second is None or size == 19:
            return second
        return second + _fraction(text[20:])
    return _parse_iso(text)


@lru_cache(maxsize=1024)
def _naive_second(text: str, zone: int) -> float | None:
    """A naive ``YYYY-MM-DD HH:MM:SS``; ``zone`` keys the cache (see _hour_start)."""
    return _parse_iso(text)


def _parse_iso(text: str) -> float | None:
    m = _ISO.match(text)
    if m is None:
        return None
    year, month, day, hh, mm, ss = (int(g) for g in m.groups()[:6])
    frac = _fraction(m.group(7))
    zone = m.group(8)
    try:
        if zone is None:
            return _local(year, month, day, hh, mm, ss, frac)
        datetime(year, month, day, hh, mm, ss)  # validates: timegm would roll over
        base = float(calendar.timegm((year, month, day, hh, mm, ss, 0, 0, 0))) + frac
        if zone == "Z":
            return base
        sign = -1 if zone[0] == "+" else 1
        digits = zone[1:].replace(":", "")
        return base + sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    except (OverflowError, ValueError):
        return None


def parse_month_name(text: str, now: float, year: int | None = None) -> float | None:
    """``Jan  2 03:04:05`` (syslog, no year) or, with ``year``, Apache's ``Sun Dec 04 ...``.

    >>> import time
    >>> parse_month_name("Feb 30 00:00:00", time.time()) is None
    True
    """
    parts = text.split()
    if len(parts) < 3:
        return None
    month = MONTHS.get(parts[0][:3])
    clock = parts[2].split(".")[0].split(":")
    if month is None or len(clock) != 3:
        return None
    try:
        day = int(parts[1])
        hh, mm, ss = (int(c) for c in clock)
        if year is None:
            return _recent(month, day, hh, mm, ss, 0.0, now)
        return _local(year, month, day, hh, mm, ss, 0.0)
    except (OverflowError, ValueError):
        return None


def parse_numeric(date: str, clock: str, order: str, now: float) -> float | None:
    """Dates made of numbers only: ``order`` names the fields of ``date``.

    ``ymd`` for ``17/06/09`` (Spark), ``md`` for ``03-17`` (Android, no year: the
    year is chosen as for syslog dates),
    ``yymmdd`` for ``081109`` (HDFS), ``yyyymmdd`` for ``20171223`` (HealthApp).
    """
    try:
        if order == "yymmdd":
            year, month, day = 2000 + int(date[0:2]), int(date[2:4]), int(date[4:6])
        elif order == "yyyymmdd":
            year, month, day = int(date[0:4]), int(date[4:6]), int(date[6:8])
        else:
            fields = [int(f) for f in _DATE_SEP.split(date)]
            if order == "ymd":
                year, month, day = (
                    fields[0] + (2000 if fields[0] < 100 else 0),
                    fields[1],
                    fields[2],
                )
            else:  # "md": no year
                year, month, day = 0, fields[0], fields[1]
        pieces = _CLOCK_SEP.split(clock)
        hh, mm, ss = int(pieces[0]), int(pieces[1]), int(pieces[2])
        frac = _fraction(pieces[3]) if len(pieces) > 3 else 0.0
        if order == "md":
            return _recent(month, day, hh, mm, ss, frac, now)
        return _local(year, month, day, hh, mm, ss, frac)
    except (IndexError, OverflowError, ValueError):
        return None


def parse_compact(text: str, now: float) -> float | None:
    """``20171223-22:15:29:606`` (HealthApp)."""
    date, _, clock = text.partition("-")
    return parse_numeric(date, clock, "yyyymmdd", now)


def parse_epoch(text: str) -> float | None:
    """Seconds (10 digits) or milliseconds (13 digits) since the epoch."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value / 1000.0 if value > 1e11 else value


def parse_clf(text: str) -> float | None:
    """``10/Oct/2000:13:55:36 -0700``: the Common Log Format (Apache and nginx access
    logs), which always carries its zone.

    >>> parse_clf("10/Oct/2000:13:55:36 -0700")
    971211336.0
    """
    try:
        day, month_name, rest = text.split("/", 2)
        year, hh, mm, ss_zone = rest.split(":", 3)
        ss, _, zone = ss_zone.partition(" ")
        month = MONTHS.get(month_name)
        if month is None or len(zone) != 5 or zone[0] not in "+-":
            return None
        fields = (int(year), month, int(day), int(hh), int(mm), int(ss))
        datetime(*fields)  # validates: timegm would roll over
        offset = int(zone[1:3]) * 3600 + int(zone[3:5]) * 60
        base = float(calendar.timegm((*fields, 0, 0, 0)))
        return base - offset if zone[0] == "+" else base + offset
    except (OverflowError, ValueError):
        return None


def parse_clock(clock: str, now: float) -> float | None:
    """A time of day without a date (logback's default ``12:00:00.123``): today's,
    in local time, or yesterday's when today's would be more than an hour after
    ``now`` (a line written just before midnight, read just after).
    """
    pieces = _CLOCK_SEP.split(clock.replace(",", "."))
    try:
        hh, mm, ss = int(pieces[0]), int(pieces[1]), int(pieces[2])
        frac = _fraction(pieces[3]) if len(pieces) > 3 else 0.0
        for day in (datetime.fromtimestamp(now), datetime.fromtimestamp(now - _DAY)):
            stamp = _local(day.year, day.month, day.day, hh, mm, ss, frac)
            if stamp <= now + 3600:
                return stamp
    except (IndexError, OverflowError, ValueError):
        return None
    return None

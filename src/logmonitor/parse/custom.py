"""Header layouts a user adds in the config, tried before the built-in ones.

No layout needs to be written for the formats :mod:`.formats` knows, but an
in-house format may still be described in ``logmonitor.toml``::

    [[formats]]
    name = "billing"                       # shown as the record's format
    regex = '^(?P<ts>\\S+ \\S+) \\[(?P<level>\\w+)\\] (?P<comp>[\\w.]+): (?P<msg>.*)$'
    time_format = "%Y-%m-%d %H:%M:%S"      # optional, strptime; else guessed

The regex must have a ``msg`` group; ``ts`` (the timestamp), ``level`` and ``comp``
(component or process) are optional, and no other named group is allowed. A line
is matched from its start. Without ``time_format`` the timestamp is read as
ISO-8601, epoch seconds or milliseconds, a syslog date (``Jan  2 03:04:05``) or a
common-log date, first that fits. A format without a year takes the most recent
such date, as syslog's does; one without a zone is local time. A timestamp that
does not parse leaves the record's time to the clock, as for any line.

Lines of a file that match no user layout go on to the built-in ones, so one
layout for one file does not affect the others.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..clock import Clock
from ..errors import ConfigError
from .formats import LAYOUTS, Layout, LineParser, StampFn
from .timestamps import parse_clf, parse_epoch, parse_iso, parse_month_name

__all__ = ["check_formats", "custom_layouts", "parser_for"]

_GROUPS = frozenset({"msg", "ts", "level", "comp"})
_KEYS = frozenset({"name", "regex", "time_format"})


def check_formats(tables: Sequence[Mapping[str, Any]], origin: str = "the config") -> None:
    """Raise :class:`ConfigError` naming the table and the fix for a bad ``[[formats]]``."""
    custom_layouts(tables, origin)


def custom_layouts(
    tables: Sequence[Mapping[str, Any]], origin: str = "the config"
) -> tuple[Layout, ...]:
    """The :class:`~.formats.Layout` of each ``[[formats]]`` table, in order."""
    layouts = []
    names: set[str] = set()
    for i, table in enumerate(tables):
        where = f"formats[{i}]"

        def fail(problem: str, where: str = where) -> ConfigError:
            return ConfigError(f"{where} {problem}; fix 'formats' in {origin}")

        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise fail(f"has unknown keys {unknown} (the keys are name, regex, time_format)")
        name, pattern = table.get("name"), table.get("regex")
        if not isinstance(name, str) or not name.strip():
            raise fail("needs a name (a non-empty string)")
        if name in names:
            raise fail(f"repeats the name {name!r}")
        names.add(name)
        if not isinstance(pattern, str) or not pattern:
            raise fail("needs a regex (a string with a (?P<msg>...) group)")
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise fail(f"regex is not a valid regular expression ({exc})") from None
        groups = set(regex.groupindex)
        if "msg" not in groups:
            raise fail("regex needs a (?P<msg>...) group: the message")
        if groups - _GROUPS:
            raise fail(
                f"regex has groups {sorted(groups - _GROUPS)}; "
                "the named groups are msg, ts, level and comp"
            )
        time_format = table.get("time_format")
        if time_format is not None:
            if not isinstance(time_format, str) or "%" not in time_format:
                raise fail("time_format must be a strptime format such as '%Y-%m-%d %H:%M:%S'")
            if "ts" not in groups:
                raise fail("has a time_format but its regex has no (?P<ts>...) group")
        stamp = _strptime(time_format) if time_format else _guess
        layouts.append(Layout(name, regex, stamp))
    return tuple(layouts)


def parser_for(tables: Sequence[Mapping[str, Any]], clock: Clock) -> LineParser:
    """A parser trying the ``[[formats]]`` layouts, then the built-in ones. (The
    parser's line-shape cache works only with built-in layouts: a user's regex may
    tell digits apart, so with user layouts every line is parsed in full.)"""
    if not tables:
        return LineParser(clock)
    return LineParser(clock, layouts=(*custom_layouts(tables), *LAYOUTS))


def _guess(m: re.Match[str], now: float) -> float | None:
    text = (m.groupdict().get("ts") or "").strip()
    if not text:
        return None
    for parse in (parse_iso, parse_epoch, parse_clf):
        value = parse(text)
        if value is not None:
            return value
    return parse_month_name(text, now)


def _strptime(time_format: str) -> StampFn:
    has_year = any(d in time_format for d in ("%Y", "%y", "%G", "%s"))

    def stamp(m: re.Match[str], now: float) -> float | None:
        text = m.groupdict().get("ts") or ""
        try:
            parsed = datetime.strptime(text.strip(), time_format)
        except ValueError:
            return None
        if parsed.tzinfo is not None:
            return parsed.timestamp()
        if not has_year:  # the most recent such date, as for syslog
            year = time.localtime(now).tm_year
            for candidate in (year, year - 1):
                try:
                    value = parsed.replace(year=candidate).timestamp()
                except ValueError:  # Feb 29 of a year that has none
                    continue
                if value <= now + 86_400:
                    return value
            return None
        return parsed.timestamp()

    return stamp

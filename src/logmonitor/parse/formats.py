"""Split a log line's header (timestamp, level, component) from its message.

No regex per file is needed from the user: each line is tried against the known
layouts below, starting with the one that matched the previous line of the same
source (files keep one layout, so this is nearly always the first try). Known:
syslog (RFC 3164 and 5424), journald's short-iso, ISO-8601-prefixed lines (with a
level word, a ``[thread]`` and a ``logger:`` cut off; Windows CBS columns), log4j /
logback / Spring Boot / Python logging / Monolog defaults, Apache and nginx error
and access logs, JSON lines, logfmt, and the Loghub-2k systems. A line
that fits none keeps the whole text as its message. Lines without a level field
get one inferred from words such as ``error``, ``failed`` or ``warning``, so that
syslog-style files still feed the error summary.
"""

from __future__ import annotations

import json
import re
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from ..clock import Clock
from ..collector import pausing
from ..records import Level, LogLine, Record, slot_constructor
from ..shapes import DIGIT_FOLD, rotate
from .timestamps import (
    parse_clf,
    parse_clock,
    parse_compact,
    parse_epoch,
    parse_iso,
    parse_month_name,
    parse_numeric,
)

__all__ = ["LAYOUTS", "Layout", "LineParser", "error_type_of", "normalize_level"]

_LEVELS: dict[str, Level] = {}
for _names, _level in (
    ("TRACE DEBUG FINE FINER FINEST VERBOSE DBG DBUG V D", "debug"),
    ("INFO INFORMATION INF I", "info"),
    ("NOTICE", "notice"),
    ("WARN WARNING W", "warning"),
    ("ERROR ERR EROR E SEVERE FAILURE", "error"),
    ("CRIT CRITICAL FATAL F ALERT EMERG EMERGENCY PANIC", "critical"),
):
    for _name in _names.split():
        _LEVELS[_name] = _level  # type: ignore[assignment]


def normalize_level(word: str) -> Level | None:
    """Map a level word of any common spelling to one of :data:`records.LEVELS`."""
    return _LEVELS.get(word.upper())


_WORD_LEVELS = (
    "TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|CRIT|CRITICAL|FATAL|ALERT|EMERG|"
    "Trace|Debug|Info|Notice|Warn|Warning|Error|Severe|Critical|Fatal"
)
# A level token among the first few tokens of the text after the timestamp.
_LEVEL_NEAR_START = re.compile(
    rf"^(?:[^\s\[]+\s+){{0,3}}?[\[(<]?(?P<level>{_WORD_LEVELS}|[a-z]+(?=\]))[\])>:]?(?:\s+|$)"
)
# Whole words only: not inside names such as ``libgpg-error-dev``, ``on_failure``,
# ``/var/log/error.log`` or ``--fail-fast``.
_LEVEL_AT_START = re.compile(rf"^[\[(<]?(?P<level>{_WORD_LEVELS})[\])>:]?(?:\s|$)")
# A thread or request context in brackets (one level of nesting, as in
# ``[QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774]``), a dash, then a
# dotted logger name with a colon (``org.apache.hadoop.mapred.Task:``).
# Written unrolled (runs of plain characters, then a nested bracket and another run):
# the same matches as "\[(?:[^\[\]]|\[[^\[\]]*\])*\]" at a quarter of the cost, and
# still linear when there is no closing bracket.
_CONTEXT = re.compile(r"^\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\]\s*(?:-\s+)?")
# After a level padded to a column, a component padded to the next one.
_ALIGNED = re.compile(r"([A-Za-z][\w.$-]*) {2,}(?=\S)")
_LOGGER = re.compile(r"^(?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*(?:@\d+)?:\s+")
_INFER_ERROR = re.compile(
    r"(?<![\w./-])(?:error|errors|fail|failed|failure|fatal|panic|critical|segfault|exception"
    r"|denied)(?![\w/-])",
    re.IGNORECASE,
)
_INFER_WARNING = re.compile(r"(?<![\w./-])warn(?:ing)?(?![\w/-])", re.IGNORECASE)
_EXCEPTION = re.compile(r"\b((?:[a-z_][\w$]*\.)*[A-Z][\w$]*(?:Exception|Error|Fault))\b")
_SYSLOG_SEVERITY: tuple[Level, ...] = (
    "critical", "critical", "critical", "error", "warning", "notice", "info", "debug",
)  # fmt: skip


def _strip_decorations(message: str) -> str:
    """``[main] org.apache.Foo: Created x`` -> ``Created x``; a message that would be
    left empty is kept whole."""
    rest = message
    if rest.startswith("[") and (context := _CONTEXT.match(rest)) is not None:
        rest = rest[context.end() :]
    if (logger := _LOGGER.match(rest)) is not None:
        rest = rest[logger.end() :]
    return rest if rest else message


def error_type_of(message: str) -> str | None:
    """The exception class named in a message, if any.

    >>> error_type_of("failed: java.io.IOException: Broken pipe")
    'java.io.IOException'
    >>> error_type_of("all good") is None
    True
    """
    if "Error" not in message and "Exception" not in message and "Fault" not in message:
        return None
    m = _EXCEPTION.search(message)
    return m.group(1) if m else None


StampFn = Callable[["re.Match[str]", float], "float | None"]
# A layout whose message is not one regex group (access logs, logfmt) builds it
# itself: ``(message, timestamp, level, component)``, or None for "not this layout
# after all", and the next layout is tried.
Fields = tuple[str, "float | None", "Level | None", "str | None"]
BuildFn = Callable[["re.Match[str]", float], "Fields | None"]


@dataclass(frozen=True, slots=True)
class Layout:
    """A header layout: a regex with groups ``msg`` and optionally ``ts``, ``level``,
    ``comp``; ``stamp`` turns the match into epoch seconds."""

    name: str
    regex: re.Pattern[str]
    stamp: StampFn
    # Where the level is when the header has no level field: "strip" - among the
    # first tokens after the timestamp (``name - ERROR - msg``), cut off with them;
    # "peek" - a level word the message starts with, which stays in the message
    # (``ALERT exited abnormally``); "no" - nowhere.
    level_in_message: Literal["no", "peek", "strip"] = "no"
    # After the level, Java-style headers carry ``[thread]`` and ``logger.Class:``
    # (Hadoop, ZooKeeper, OpenStack's request context): strip them off the message.
    decorated: bool = False
    # Characters a matching line can start with ("" = any): lets a line skip the
    # layouts it cannot match without running their regexes.
    first: str = ""
    build: BuildFn | None = None


def _g(m: re.Match[str], name: str) -> str:
    return m.group(name) or ""


_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


def _access_fields(m: re.Match[str], now: float) -> Fields:
    """Apache/nginx access logs have no level or message: the message is the request
    line and the status (``GET /index.html HTTP/1.1 404``), so that one template
    covers each endpoint and outcome; the level follows the status class (5xx error,
    4xx warning, else info)."""
    status = m.group("status")
    level: Level = "error" if status[0] == "5" else "warning" if status[0] == "4" else "info"
    return f"{m.group('msg')} {status}", parse_clf(m.group("ts")), level, None


# key=value pairs, values bare or double-quoted with backslash escapes.
_LOGFMT_PAIR = re.compile(r'([A-Za-z_@][\w.@/-]*)=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))(?:\s+|$)')
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_LOGFMT_KEYS = frozenset(
    ("msg", "message", "level", "lvl", "severity", "ts", "time", "timestamp", "err", "error")
)


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda e: _ESCAPES.get(e.group(1), e.group(1)), value)


def _stamp_of(value: object) -> float | None:
    """A timestamp field of a structured line: epoch seconds or ms, or ISO-8601 text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return parse_epoch(str(value))
    if isinstance(value, str):
        if value.replace(".", "", 1).isdecimal():
            return parse_epoch(value)
        return parse_iso(value)
    return None


def _logfmt_fields(m: re.Match[str], now: float) -> Fields | None:
    """``ts=... level=info msg="hello world" user=bob`` (Go's logfmt, Heroku, Loki).

    The whole line must be pairs, with at least one of the usual keys, else it is
    prose that happens to start with ``word=``. Other keys are dropped: a record
    has no field map."""
    text = m.string
    pairs: dict[str, str] = {}
    pos, end = 0, len(text)
    while pos < end:
        pair = _LOGFMT_PAIR.match(text, pos)
        if pair is None:
            return None
        quoted = pair.group(2)
        pairs.setdefault(pair.group(1), _unescape(quoted) if quoted is not None else pair.group(3))
        pos = pair.end()
    if _LOGFMT_KEYS.isdisjoint(pairs):
        return None
    message = next((pairs[k] for k in ("msg", "message") if k in pairs), text)
    word = next((pairs[k] for k in ("level", "lvl", "severity") if k in pairs), "")
    stamp_text = next((pairs[k] for k in ("ts", "time", "timestamp") if k in pairs), None)
    stamp = _stamp_of(stamp_text) if stamp_text else None
    component = next((pairs[k] for k in ("logger", "component", "module") if k in pairs), None)
    return message, stamp, normalize_level(word), component


def _hdfs_stamp(date: str, clock: str, now: float) -> float | None:
    """HDFS's ``081109 203615``: the clock is six digits (the layout's ``\\d{6}``)."""
    return parse_numeric(date, f"{clock[0:2]}:{clock[2:4]}:{clock[4:6]}", "yymmdd", now)


def _stamp_iso(m: re.Match[str], now: float) -> float | None:
    """The stamp of the ``ts`` group as ISO-8601."""
    return parse_iso(_g(m, "ts"))


_ISO_TS = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"

_ISO_DATE_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
_LEVEL_WORD = rf"(?:{_WORD_LEVELS})"

# Specific layouts come before the general ones they overlap (the Java, Python and
# journald ISO-prefixed layouts before "iso"), and the loop skips a layout whose
# ``first`` characters exclude the line. The source's last layout is always tried
# first, so the order only matters for a source's first line and for misses.
LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "syslog-rfc5424",
        re.compile(
            r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) \S+ (?P<comp>\S+) \S+ \S+ (?:-|(?:\[.*?\])+) ?"
            r"(?P<msg>.*)$"
        ),
        _stamp_iso,
        first="<",
    ),
    Layout(
        "syslog",
        # The program name may be two words (macOS's "Microsoft Word[14463]:",
        # "syslogd 1.4.1:") and be followed by a parenthesised detail
        # ("launchd[1] (com.apple...):").
        re.compile(
            r"^(?:<(?P<pri>\d{1,3})>)?(?P<ts>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) \S+ "
            r"(?P<comp>[^\s:\[]+(?: [^\s:\[]+)?)(?:\[\d+\])?(?: \([^)]*\))?: ?(?P<msg>.*)$"
        ),
        lambda m, now: parse_month_name(_g(m, "ts"), now),
        level_in_message="peek",
        first="<" + _UPPER,
    ),
    Layout(
        "loghub-bgl",
        re.compile(
            r"^\S+ \d{10} \d{4}\.\d{2}\.\d{2} \S+ "
            r"(?P<ts>\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d+) \S+ (?P<comp>\S+ \S+) "
            r"(?P<level>[A-Z]+) (?P<msg>.*)$"
        ),
        _stamp_iso,
    ),
    Layout(
        "loghub-thunderbird",
        # The program is whatever precedes the first ": " (Loghub's own split), so
        # it may hold spaces or colons: "audit(1131538222.234:0): initialized".
        re.compile(
            r"^\S+ (?P<ts>\d{10}) \d{4}\.\d{2}\.\d{2} \S+ [A-Z][a-z]{2} [ \d]?\d \d{2}:\d{2}:\d{2}"
            r" \S+ (?:(?P<comp>[^\s:\[][^\[]*?)(?:\[\d+\])?:(?: |$))?(?P<msg>.*)$"
        ),
        lambda m, now: parse_epoch(_g(m, "ts")),
        level_in_message="peek",
    ),
    Layout(
        "loghub-openstack",
        re.compile(
            r"^\S+\.log\S* (?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+) \d+ (?P<level>[A-Z]+)"
            r" (?P<comp>\S+) (?P<msg>.*)$"
        ),
        _stamp_iso,
        decorated=True,
    ),
    Layout(
        "log4j",
        # log4j/logback's common pattern "%d [%t] %-5p %c - %m".
        re.compile(
            rf"^(?P<ts>{_ISO_DATE_TIME}) \[[^\]]*\] (?P<level>{_LEVEL_WORD})\s+(?P<comp>\S+)"
            r" - (?P<msg>.*)$"
        ),
        _stamp_iso,
        first=_DIGITS,
    ),
    Layout(
        "spring-boot",
        # Spring Boot's console/file default: "ts  LEVEL pid --- [app] [thread] logger : msg"
        # (the "[app]" part since Boot 3.2).
        re.compile(
            rf"^(?P<ts>{_ISO_TS})\s+(?P<level>{_LEVEL_WORD}) \d+ --- (?:\[[^\]]*\] )?"
            r"\[[^\]]*\] (?P<comp>\S+)\s+: (?P<msg>.*)$"
        ),
        _stamp_iso,
        first=_DIGITS,
    ),
    Layout(
        "python-asctime",
        # logging's "%(asctime)s - %(name)s - %(levelname)s - %(message)s".
        re.compile(
            rf"^(?P<ts>{_ISO_DATE_TIME}) - (?P<comp>\S+) - (?P<level>[A-Z]+) - (?P<msg>.*)$"
        ),
        _stamp_iso,
        first=_DIGITS,
    ),
    Layout(
        "journald",
        # journalctl -o short-iso (and rsyslog's high-precision format): a zoned
        # ISO stamp, the host, then syslog's "program[pid]: ". The host is not a
        # level word, which would be an "iso" line ("...Z INFO main: started").
        re.compile(
            rf"^(?P<ts>\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}(?:[.,]\d{{1,9}})?"
            rf"(?:Z|[+-]\d{{2}}:?\d{{2}})) (?!{_LEVEL_WORD}\b)[^\s\[]+ "
            r"(?P<comp>[^\s:\[]+)(?:\[\d+\])?: ?(?P<msg>.*)$"
        ),
        _stamp_iso,
        level_in_message="peek",
        first=_DIGITS,
    ),
    Layout(
        "monolog",
        # PHP's Monolog/Laravel: "[2024-01-01 12:00:00] production.ERROR: message".
        re.compile(rf"^\[(?P<ts>{_ISO_TS})\] (?P<comp>[\w.-]+)\.(?P<level>[A-Z]+): (?P<msg>.*)$"),
        _stamp_iso,
        first="[",
    ),
    Layout(
        "iso",
        re.compile(rf"^\[?(?P<ts>{_ISO_TS})\]?[\s,|-]*(?P<msg>.*)$"),
        _stamp_iso,
        level_in_message="strip",
        decorated=True,
        first="[" + _DIGITS,
    ),
    Layout(
        "python-logging",
        re.compile(r"^(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?P<comp>[^:]*):(?P<msg>.*)$"),
        lambda m, now: None,
        first="DIWEC",
    ),
    Layout(
        "apache-error",
        re.compile(
            r"^\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\]"
            r" \[(?:\w+:)?(?P<level>\w+)\] ?(?P<msg>.*)$"
        ),
        lambda m, now: parse_month_name(_g(m, "ts")[4:-5], now, year=int(_g(m, "ts")[-4:])),
        first="[",
    ),
    Layout(
        "loghub-hdfs",
        re.compile(
            r"^(?P<date>\d{6}) (?P<clock>\d{6}) \d+ (?P<level>[A-Z]+) (?P<comp>[^:]+): (?P<msg>.*)$"
        ),
        lambda m, now: _hdfs_stamp(_g(m, "date"), _g(m, "clock"), now),
        first=_DIGITS,
    ),
    Layout(
        "loghub-spark",
        re.compile(
            r"^(?P<date>\d{2}/\d{2}/\d{2}) (?P<clock>\d{2}:\d{2}:\d{2}) (?P<level>[A-Z]+)"
            r" (?P<comp>[^:]+): (?P<msg>.*)$"
        ),
        lambda m, now: parse_numeric(_g(m, "date"), _g(m, "clock"), "ymd", now),
        first=_DIGITS,
    ),
    Layout(
        "nginx-error",
        # "2024/01/01 12:00:00 [error] 1234#5678: *1 open() ... failed": pid#tid and
        # the connection number "*N" are header.
        re.compile(
            r"^(?P<date>\d{4}/\d{2}/\d{2}) (?P<clock>\d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\]"
            r" \d+#\d+: (?:\*\d+ )?(?P<msg>.*)$"
        ),
        lambda m, now: parse_numeric(_g(m, "date"), _g(m, "clock"), "ymd", now),
        first=_DIGITS,
    ),
    Layout(
        "android",
        re.compile(
            r"^(?P<date>\d{2}-\d{2}) (?P<clock>\d{2}:\d{2}:\d{2}\.\d{3})\s+\d+\s+\d+ "
            r"(?P<level>[VDIWEF]) (?P<comp>[^:]*?)\s*: ?(?P<msg>.*)$"
        ),
        lambda m, now: parse_numeric(_g(m, "date"), _g(m, "clock"), "md", now),
        first=_DIGITS,
    ),
    Layout(
        "logback-time",
        # logback's default "%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg":
        # no date, so the day is the clock's.
        re.compile(
            rf"^(?P<clock>\d{{2}}:\d{{2}}:\d{{2}}[.,]\d{{3}}) \[[^\]]*\] (?P<level>{_LEVEL_WORD})"
            r"\s+(?P<comp>\S+) - (?P<msg>.*)$"
        ),
        lambda m, now: parse_clock(_g(m, "clock"), now),
        first=_DIGITS,
    ),
    Layout(
        "loghub-healthapp",
        re.compile(
            r"^(?P<ts>\d{8}-\d{1,2}:\d{1,2}:\d{1,2}:\d{1,3})\|(?P<comp>[^|]*)\|\d+\|(?P<msg>.*)$"
        ),
        lambda m, now: parse_compact(_g(m, "ts"), now),
        first=_DIGITS,
    ),
    Layout(
        "loghub-proxifier",
        re.compile(
            r"^\[(?P<date>\d{2}\.\d{2}) (?P<clock>\d{2}:\d{2}:\d{2})\] (?P<comp>\S+(?: \*\d+)?) - "
            r"(?P<msg>.*)$"
        ),
        lambda m, now: parse_numeric(_g(m, "date"), _g(m, "clock"), "md", now),
        level_in_message="peek",
        first="[",
    ),
    Layout(
        "loghub-hpc",
        re.compile(r"^\d+ \S+ (?P<comp>\S+) \S+ (?P<ts>\d{10}) -?\d+ (?P<msg>.*)$"),
        lambda m, now: parse_epoch(_g(m, "ts")),
        level_in_message="peek",
        first=_DIGITS,
    ),
    Layout(
        "access",
        # Common/combined log format (Apache, nginx): host ident user [time]
        # "request" status size ["referer" "user-agent"].
        re.compile(
            r"^\S+ \S+ \S+ \[(?P<ts>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "
            r'"(?P<msg>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?:\d+|-)'
        ),
        lambda m, now: parse_clf(_g(m, "ts")),
        build=_access_fields,
    ),
    Layout(
        "logfmt",
        re.compile(r"^[A-Za-z_@][\w.@/-]*="),
        lambda m, now: None,
        first=_UPPER + _LOWER + "_@",
        build=_logfmt_fields,
    ),
)


class _Plan:
    """What the parser needs to know of a layout's regex, looked up once."""

    __slots__ = ("comp", "layout", "level", "pri", "regex", "stamp_groups")

    def __init__(self, layout: Layout) -> None:
        names = layout.regex.groupindex
        self.layout = layout
        self.regex = layout.regex
        self.pri = "pri" in names
        self.level = "level" in names
        self.comp = "comp" in names
        # The groups the timestamp is read from; empty when it also depends on the
        # clock's date (a time of day alone), which a cache by text would get wrong.
        self.stamp_groups: tuple[str, ...] = (
            ("ts",) if "ts" in names else ("date", "clock") if "date" in names else ()
        )


_record: Callable[..., Record] = slot_constructor(Record)


# The line-shape cache of LineParser.parse_batch: a line's text with its ASCII digits
# folded to "0" (bytes.translate keeps every offset) is the key. Every regex the
# built-in layouts and the level/exception finders run treats all ten digits alike
# (tests/parse/test_shape_cache.py checks each pattern), so two lines with one key
# split at the same offsets: one full parse of a shape gives, for every later line of
# it, where the message and the component start and end, the level, and where the
# exception name is. What does depend on the digits is read again from each line: the
# timestamp (through the per-layout stamp cache, as a full parse does), and lines
# whose fields are not slices of the text (a syslog priority, access-log status,
# logfmt, JSON) are never cached, nor lines starting with "<" (RFC 5424's version
# digit is the one digit a layout looks at; its lines all start with "<").
# A shape is kept only for lines up to this many bytes: the cache's worst case is
# then 2 x cache_size x (1 KiB of key + its entry and slot, ~0.6 KiB), about 26 MiB
# at the default size, plus ~2 MiB of first-sighting hashes; not 2 x 8192 lines of
# 16 KiB. Longer lines are rare (a long query, a payload) and parse in full.
_MAX_SHAPE_BYTES = 1024
# (first layout tried, layout index or -1 for raw, message start, level, layout name,
# component start, end, exception start, end, the stamp's span from its first group's
# start to its last group's end, where its fraction of a second starts and 10 ** its
# digits), -1 for "none". A plain tuple of ints and strings: the cycle collector
# untracks such a tuple the first time it sees it, so the entries cost a full
# collection no more than packed bytes would, and a hit needs no unpacking.
Shape = tuple[int, int, int, "Level | None", str, int, int, int, int, int, int, int, int]
# What _record knows of a cacheable line besides the Record: message start, component
# span, the spans of the stamp groups.
_Spans = tuple[int, tuple[int, int], tuple[tuple[int, int], ...]]
_NO_SPAN = (-1, -1)
_MISS = object()  # no stamp to cache: the layout did not match, or see _whole_second


class LineParser:
    """Parse batches of :class:`LogLine` into :class:`Record`.

    Keeps, per source, the index of the layout that matched last (a bounded map:
    past ``max_sources`` it is cleared and relearned, which only costs a few retries).
    :meth:`parse_batch` also keeps a bounded cache of line shapes (the text with its
    digits folded, see ``shapes.DIGIT_FOLD``): two generations of at most ``cache_size``
    entries, as the miner's. A shape is kept from the second line of its key; the
    hashes of keys seen once are kept in two generations of ``cache_size`` too. The
    cache is only used with the built-in layouts, whose regexes are known not to tell
    digits apart; a record is the same with or without it.

    >>> from logmonitor.clock import FakeClock
    >>> from logmonitor.records import LogLine
    >>> line = LogLine("a.log", "a.log", "2024-01-01 00:00:00,000 ERROR boom: ValueError: x",
    ...                0, 10, 1, 0.0)
    >>> record = LineParser(FakeClock()).parse_batch([line])[0]
    >>> record.level, record.error_type
    ('error', 'ValueError')
    """

    def __init__(
        self,
        clock: Clock,
        layouts: Sequence[Layout] = LAYOUTS,
        max_sources: int = 4096,
        cache_size: int = 8192,
    ):
        self.clock = clock
        self.layouts = tuple(layouts)
        self.max_sources = max_sources
        self.cache_size = cache_size
        self._last: dict[str, int] = {}
        self._plans = tuple(_Plan(layout) for layout in self.layouts)
        # The per-layout stamp caches below hold for one `now` and one local time
        # zone: a stamp without a year (syslog, Android) takes its year from `now`,
        # and a process may change TZ (time.tzset) while it runs. They are emptied
        # when either changes (_stamps_for), at most once a batch.
        self._stamp_state: tuple[object, ...] = ()
        # The last timestamp text of each layout and what it parsed to.
        self._stamps: list[tuple[object, float | None]] = []
        # The shape cache's own, by the stamp's text from its first group to its last:
        # the last stamp of each layout, and the last whole second of each layout
        # whose stamps end in a fraction (see _fraction), parsed.
        self._shape_stamps: list[tuple[object, float | None]] = []
        self._seconds: list[tuple[object, float | None]] = []
        self._stamps_for(0.0)
        # First character -> the layouts a line starting with it can match (bounded:
        # only ASCII characters are kept, the rest are rare and computed each time).
        self._by_first: dict[str, tuple[int, ...]] = {}
        # Folded line -> Shape; young and old generation.
        self._shapes: dict[bytes, Shape] = {}
        self._shapes_old: dict[bytes, Shape] = {}
        # Hashes of keys seen once (see _parse_new); young and old generation.
        self._seen: dict[int, bool] = {}
        self._seen_old: dict[int, bool] = {}
        # (layout, two stamp groups?, fraction's offset in its group, digits) -> whether
        # a stamp's trailing digits there are a fraction of a second: see _fraction.
        self._fractions: dict[tuple[int, bool, int, int], bool] = {}
        known = {id(layout) for layout in LAYOUTS}
        self._use_shapes = cache_size > 0 and all(id(layout) in known for layout in self.layouts)
        # How often the cache could not answer (a full parse of a line, a new whole
        # second read): for the tests, which cannot wrap the methods of a compiled
        # class (see logmonitor.compiled).
        self._full_parses = 0
        self._seconds_read = 0

    @pausing
    def parse_batch(self, lines: Sequence[LogLine]) -> list[Record]:
        now = self.clock.now()
        self._stamps_for(now)
        if not self._use_shapes:
            parse = self._parse_full
            return [parse(line, now, False)[0] for line in lines]
        out: list[Record] = []
        append = out.append
        get = self._shapes.get
        last = self._last.get
        stamps = self._shape_stamps
        seconds = self._seconds
        fold = DIGIT_FOLD
        make = _record
        for line in lines:
            text = line.text
            try:
                key = text.encode().translate(fold)
            except UnicodeEncodeError:  # a lone surrogate
                append(self.parse(line, now))
                continue
            entry = get(key)
            if entry is None or entry[0] != last(line.source, 0):
                entry = self._old_shape(line, key)
                if entry is None:
                    append(self._parse_new(line, key, now))
                    continue
            _, index, start, level, name, c0, c1, e0, e1, a, z, f, scale = entry
            if f >= 0:
                # A stamp ending in a fraction of a second, which the layout's own
                # parse adds to the whole second (see _fraction): the whole second
                # is cached per layout, the fraction added to it.
                second = text[a:f]
                known = seconds[index]
                if known[0] == second:
                    base = known[1]
                else:
                    whole = self._whole_second(index, text, f, z, now)
                    if whole is _MISS:  # the second a year-less date's year turns on
                        append(self.parse(line, now))
                        continue
                    base = cast("float | None", whole)
                    seconds[index] = (second, base)
                stamp = None if base is None else base + int(text[f:z]) / scale
            elif a < 0:
                stamp = None
            else:
                stamp_key = text[a:z]
                cached = stamps[index]
                if cached[0] == stamp_key:
                    stamp = cached[1]
                else:
                    fresh = self._stamp_of_shape(index, text, stamp_key, now)
                    if fresh is _MISS:  # cannot happen with digit-blind layouts
                        append(self.parse(line, now))
                        continue
                    stamp = cast("float | None", fresh)
            append(
                make(
                    line,
                    text[start:] if start else text,
                    stamp,
                    level,
                    None if c0 < 0 else text[c0:c1],
                    None if e0 < 0 else text[e0:e1],
                    name,
                )
            )
        return out

    def _old_shape(self, line: LogLine, key: bytes) -> Shape | None:
        """The old generation's entry for ``key``, moved to the young one, if it was
        made with the layout the source is now on."""
        entry = self._shapes_old.get(key)
        if entry is None or entry[0] != self._last.get(line.source, 0):
            return None
        self._keep(key, entry)
        return entry

    def _stamps_for(self, now: float) -> None:
        """Empty the per-layout stamp caches if ``now`` or the local time zone changed
        since they were filled."""
        state = (now, _time.timezone, _time.altzone, _time.tzname)
        if state != self._stamp_state:
            self._stamp_state = state
            self._stamps = [(None, None)] * len(self.layouts)
            self._shape_stamps = [(None, None)] * len(self.layouts)
            self._seconds = [(None, None)] * len(self.layouts)

    def _stamp_of(self, index: int, text: str, now: float) -> object:
        """The stamp layout ``index`` reads from ``text``; _MISS if it does not match."""
        m = self._plans[index].regex.match(text)
        return _MISS if m is None else self.layouts[index].stamp(m, now)

    def _zeroed(self, index: int, text: str, f: int, end: int, now: float) -> object:
        """The stamp of ``text`` with its fraction digits ``text[f:end]`` zeroed."""
        return self._stamp_of(index, f"{text[:f]}{'0' * (end - f)}{text[end:]}", now)

    def _whole_second(self, index: int, text: str, f: int, end: int, now: float) -> object:
        """The whole second every stamp of ``text[:f]`` adds its fraction to; _MISS
        when the fraction itself can change the stamp's date: a stamp without a year
        takes the latest year that puts it no more than a day after ``now``, so within
        a second of that limit the fraction decides. Such a second parses the same
        with ``now`` a second earlier only when it is clear of the limit."""
        self._seconds_read += 1
        whole = self._zeroed(index, text, f, end, now)
        if whole is _MISS or whole != self._zeroed(index, text, f, end, now - 1.0):
            return _MISS
        return whole

    def _fraction(self, shape: Shape, text: str, last: tuple[int, int], now: float) -> Shape:
        """``shape`` with the place of its stamp's fraction of a second (``f``, ``scale``)
        when the stamp's last group ends in one that the layout's parse adds to the
        whole second: ``stamp == whole + int(digits) / 10 ** len(digits)``.

        Which digits are a fraction is not read off the layout: the trailing digits
        of the stamp after ``.``, ``,`` or ``:`` are tried once per layout and place,
        with those digits zeroed and all nines (a time zone's minutes or a clock's
        seconds fail: they do not add as a fraction), and the verdict is kept.
        ``last`` is the span of the stamp's last group."""
        index = shape[1]
        lo, end = last
        f = end
        while f > lo and "0" <= text[f - 1] <= "9":
            f -= 1
        n = end - f
        if not 0 < n <= 9 or f - 1 <= lo or text[f - 1] not in ".,:":
            return shape
        scale = 10**n
        place = (index, shape[9] != lo, f - lo, n)
        verdict = self._fractions.get(place)
        if verdict is None:
            nines = self._stamp_of(index, f"{text[:f]}{'9' * n}{text[end:]}", now)
            whole = self._zeroed(index, text, f, end, now)
            verdict = isinstance(whole, float) and nines == whole + (scale - 1) / scale
            if len(self._fractions) >= 1024:  # bounded: layouts x stamp places
                self._fractions.clear()
            self._fractions[place] = verdict
        return (*shape[:11], f, scale) if verdict else shape

    def _stamp_of_shape(self, index: int, text: str, key: object, now: float) -> object:
        stamp = self._stamp_of(index, text, now)
        if stamp is not _MISS:
            self._shape_stamps[index] = (key, cast("float | None", stamp))
        return stamp

    def _keep(self, key: bytes, entry: Shape) -> None:
        if len(self._shapes) >= self.cache_size:
            rotate(self._shapes, self._shapes_old)
        self._shapes[key] = entry

    def _parse_new(self, line: LogLine, key: bytes, now: float) -> Record:
        """A full parse; the line's shape is kept when its fields are slices of it."""
        self._full_parses += 1
        if len(key) > _MAX_SHAPE_BYTES:
            return self._parse_full(line, now, False)[0]
        # A shape is kept from its second line: most keys that miss are one-offs (a
        # hex id, a number of a new width), and keeping them would push out the
        # shapes that do repeat. First sightings are noted by hash (a collision only
        # keeps a shape one line early).
        seen = hash(key)
        if seen not in self._seen and seen not in self._seen_old:
            if len(self._seen) >= self.cache_size:
                rotate(self._seen, self._seen_old)
            self._seen[seen] = True
            return self._parse_full(line, now, False)[0]
        record, shape = self._parse_full(line, now, True)
        if shape is not None:
            self._keep(key, shape)
        return record

    def parse(self, line: LogLine, now: float) -> Record:
        """Parse one line (no shape cache)."""
        self._stamps_for(now)
        return self._parse_full(line, now, False)[0]

    def _parse_full(self, line: LogLine, now: float, shape: bool) -> tuple[Record, Shape | None]:
        """The record, and its shape when the line may be cached: it matched the
        layout its source was on (or none), and its fields are slices of its text."""
        text = line.text
        if text.startswith("{"):
            # Never cached: whether JSON parses can depend on digits ("01").
            record = self._parse_json(line)
            if record is not None:
                return record, None
            record, _ = self._parse_layouts(line, text, now, False)
            return record, None
        if text.startswith("<"):
            # Never cached: RFC 5424 tells "<34>1 " (its version) from "<34>2 ".
            return self._parse_layouts(line, text, now, False)[0], None
        return self._parse_layouts(line, text, now, shape)

    def _parse_layouts(
        self, line: LogLine, text: str, now: float, shape: bool
    ) -> tuple[Record, Shape | None]:
        """The record; with ``shape``, also its cache entry when it may have one."""
        first = self._last.get(line.source, 0)
        m = self._plans[first].regex.match(text)
        if m is not None:  # the usual case: the layout of the source's last line
            made = self._record(line, first, m, now, shape)
            if made is not None:
                record, spans = made
                if spans is None:
                    return record, None
                made_shape = _shape(first, first, text, record, spans)
                if made_shape is None or record.timestamp is None or not spans[2]:
                    return record, made_shape
                return record, self._fraction(made_shape, text, spans[2][-1], now)
        for index in self._candidates(text[:1]):
            if index == first or (m := self._plans[index].regex.match(text)) is None:
                continue
            made = self._record(line, index, m, now, False)
            if made is None:
                continue
            if len(self._last) >= self.max_sources:
                self._last.clear()
            self._last[line.source] = index
            return made[0], None
        record = self._finish(line, text, None, None, None, "raw")
        if not shape:
            return record, None
        return record, _shape(first, -1, text, record, (0, _NO_SPAN, ()))

    def _candidates(self, char: str) -> tuple[int, ...]:
        found = self._by_first.get(char)
        if found is None:
            found = tuple(
                i
                for i, layout in enumerate(self.layouts)
                if not layout.first or char in layout.first
            )
            if char.isascii():
                self._by_first[char] = found
        return found

    def _record(
        self, line: LogLine, index: int, m: re.Match[str], now: float, spans: bool
    ) -> tuple[Record, _Spans | None] | None:
        """The record of a line ``m`` matched, and with ``spans``, where its fields are
        in the text when they are all slices of it; None when the layout's builder
        declines."""
        plan = self._plans[index]
        layout = plan.layout
        if layout.build is not None:
            built = layout.build(m, now)
            if built is None:
                return None
            return self._finish(line, *built, layout.name), None
        message = m.group("msg") or ""
        start = m.start("msg")  # where message starts in the text
        cacheable = start >= 0 and bool(plan.stamp_groups)
        level: Level | None = None
        # The level word was padded to a column (three spaces or more: log4j's "%-5p"
        # leaves at most two, and "INFO  Starting  server" has no component).
        padded = False
        if plan.pri and (pri := m.group("pri")):
            # The syslog priority is facility * 8 + severity: the sender's own level.
            level = _SYSLOG_SEVERITY[int(pri) % 8]
            cacheable = False  # the level depends on the digits
        elif plan.level:
            level = normalize_level(m.group("level") or "")
        elif layout.level_in_message == "strip":
            found = _LEVEL_NEAR_START.match(message)
            if found is not None and (level := normalize_level(found.group("level"))) is not None:
                padded = message.startswith("   ", found.end("level"))
                rest = message[found.end() :]
                message = rest.lstrip(" -:|")
                start += found.end() + len(rest) - len(message)
        elif layout.level_in_message == "peek":
            found = _LEVEL_AT_START.match(message)
            if found is not None:
                level = normalize_level(found.group("level"))
        component = m.group("comp") if plan.comp else None
        comp_span = _NO_SPAN if component is None else m.span("comp")
        if layout.decorated and level is not None:
            if padded and component is None and (aligned := _ALIGNED.match(message)) is not None:
                # "Info                  CBS    Loaded ...": a column-aligned
                # component after a padded level (Windows CBS.log).
                component, message = aligned.group(1), message[aligned.end() :]
                comp_span = (start + aligned.start(1), start + aligned.end(1))
                start += aligned.end()
            stripped = _strip_decorations(message)
            start += len(message) - len(stripped)
            message = stripped
        # Consecutive lines mostly share their second: remember the last timestamp
        # text of each layout and what it parsed to.
        if plan.stamp_groups:
            groups = plan.stamp_groups
            key: object = m.group(groups[0]) if len(groups) == 1 else m.group(*groups)
            cached = self._stamps[index]
            if cached[0] == key:
                stamp = cached[1]
            else:
                stamp = layout.stamp(m, now)
                self._stamps[index] = (key, stamp)
        else:  # a stamp that depends on more than its text (the clock's date)
            stamp = layout.stamp(m, now)
        record = self._finish(line, message, stamp, level, component, layout.name)
        if not (spans and cacheable):
            return record, None
        return record, (start, comp_span, tuple(m.span(g) for g in plan.stamp_groups))

    def _parse_json(self, line: LogLine) -> Record | None:
        try:
            data = json.loads(line.text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        message = next(
            (str(data[k]) for k in ("message", "msg", "MESSAGE", "log", "event") if k in data),
            line.text,
        )
        word = next(
            (str(data[k]) for k in ("level", "severity", "lvl", "levelname") if k in data), ""
        )
        stamp_value = next(
            (data[k] for k in ("timestamp", "time", "ts", "@timestamp", "asctime") if k in data),
            None,
        )
        stamp = _stamp_of(stamp_value)
        component = next((str(data[k]) for k in ("logger", "name", "component") if k in data), None)
        return self._finish(line, message, stamp, normalize_level(word), component, "json")

    @staticmethod
    def _finish(
        line: LogLine,
        message: str,
        stamp: float | None,
        level: Level | None,
        component: str | None,
        layout: str,
    ) -> Record:
        if level is None:
            if layout == "raw" and (found := _LEVEL_NEAR_START.match(message)) is not None:
                level = normalize_level(found.group("level"))
            if level is None:
                # Substring tests first (one per word _INFER_ERROR knows; casefolded,
                # as IGNORECASE matches U+017F for "s"): most lines hold none of the
                # words, and a regex search with lookarounds costs ~5x more.
                folded = message.casefold()
                if (
                    "err" in folded
                    or "fail" in folded
                    or "fatal" in folded
                    or "panic" in folded
                    or "critical" in folded
                    or "segfault" in folded
                    or "exception" in folded
                    or "denied" in folded
                ) and _INFER_ERROR.search(message):
                    level = "error"
                elif "warn" in folded and _INFER_WARNING.search(message):
                    level = "warning"
        return _record(line, message, stamp, level, component, error_type_of(message), layout)


def _shape(first: int, index: int, text: str, record: Record, spans: _Spans) -> Shape | None:
    """The cache entry of a line parsed with layout ``index`` (-1: none) while its
    source was on layout ``first``; None when a field is not where ``spans`` say."""
    start, (c0, c1), stamp_spans = spans
    message = record.message
    if text[start:] != message:
        return None
    if (c0 >= 0 or record.component is not None) and text[c0:c1] != record.component:
        return None
    e0 = e1 = -1
    if record.error_type is not None:
        found = _EXCEPTION.search(message)
        if found is None or found.group(1) != record.error_type:
            return None
        e0, e1 = start + found.start(1), start + found.end(1)
    if len(stamp_spans) > 2 or any(x < 0 for span in stamp_spans for x in span):
        return None
    # The stamp's key: from its first group's start to its last group's end (the
    # text between two groups holds no digit field a stamp depends on; a change
    # there only misses the stamp cache).
    a, z = (stamp_spans[0][0], stamp_spans[-1][1]) if stamp_spans else _NO_SPAN
    return (first, index, start, record.level, record.format, c0, c1, e0, e1, a, z, -1, -1)

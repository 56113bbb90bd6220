"""Split a log line's header (timestamp, level, component) from its message.

No regex per file is needed from the user: each line is tried against the known
layouts below, starting with the one that matched the previous line of the same
source (files keep one layout, so this is nearly always the first try). A line
that fits none keeps the whole text as its message. Lines without a level field
get one inferred from words such as ``error``, ``failed`` or ``warning``, so that
syslog-style files still feed the error summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..clock import Clock
from ..records import Level, LogLine, Record
from .timestamps import (
    parse_compact,
    parse_epoch,
    parse_iso,
    parse_month_name,
    parse_numeric,
)

__all__ = ["LAYOUTS", "Layout", "LineParser", "error_type_of", "normalize_level"]

_LEVELS: dict[str, Level] = {}
for _names, _level in (
    ("TRACE DEBUG FINE FINER FINEST VERBOSE DBG V D", "debug"),
    ("INFO INFORMATION INF I", "info"),
    ("NOTICE", "notice"),
    ("WARN WARNING W", "warning"),
    ("ERROR ERR E SEVERE FAILURE", "error"),
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
_CONTEXT = re.compile(r"^\[(?:[^\[\]]|\[[^\[\]]*\])*\]\s*(?:-\s+)?")
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
    if rest.startswith("["):
        rest = _CONTEXT.sub("", rest, count=1)
    rest = _LOGGER.sub("", rest, count=1)
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


def _g(m: re.Match[str], name: str) -> str:
    return m.group(name) or ""


_ISO_TS = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"

LAYOUTS: tuple[Layout, ...] = (
    Layout(
        "syslog-rfc5424",
        re.compile(
            r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) \S+ (?P<comp>\S+) \S+ \S+ (?:-|(?:\[.*?\])+) ?"
            r"(?P<msg>.*)$"
        ),
        lambda m, now: parse_iso(_g(m, "ts")),
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
    ),
    Layout(
        "loghub-bgl",
        re.compile(
            r"^\S+ \d{10} \d{4}\.\d{2}\.\d{2} \S+ "
            r"(?P<ts>\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d+) \S+ (?P<comp>\S+ \S+) "
            r"(?P<level>[A-Z]+) (?P<msg>.*)$"
        ),
        lambda m, now: parse_iso(_g(m, "ts")),
    ),
    Layout(
        "loghub-thunderbird",
        re.compile(
            r"^\S+ (?P<ts>\d{10}) \d{4}\.\d{2}\.\d{2} \S+ [A-Z][a-z]{2} [ \d]?\d \d{2}:\d{2}:\d{2}"
            r" \S+ (?P<comp>[^\s:\[]+)(?:\[\d+\])?: ?(?P<msg>.*)$"
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
        lambda m, now: parse_iso(_g(m, "ts")),
        decorated=True,
    ),
    Layout(
        "iso",
        re.compile(rf"^\[?(?P<ts>{_ISO_TS})\]?[\s,|-]*(?P<msg>.*)$"),
        lambda m, now: parse_iso(_g(m, "ts")),
        level_in_message="strip",
        decorated=True,
    ),
    Layout(
        "python-logging",
        re.compile(r"^(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?P<comp>[^:]*):(?P<msg>.*)$"),
        lambda m, now: None,
    ),
    Layout(
        "apache-error",
        re.compile(
            r"^\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\]"
            r" \[(?:\w+:)?(?P<level>\w+)\] ?(?P<msg>.*)$"
        ),
        lambda m, now: parse_month_name(_g(m, "ts")[4:-5], now, year=int(_g(m, "ts")[-4:])),
    ),
    Layout(
        "loghub-hdfs",
        re.compile(
            r"^(?P<date>\d{6}) (?P<clock>\d{6}) \d+ (?P<level>[A-Z]+) (?P<comp>[^:]+): (?P<msg>.*)$"
        ),
        lambda m, now: parse_numeric(
            _g(m, "date"), ":".join(re.findall("..", _g(m, "clock"))), "yymmdd", now
        ),
    ),
    Layout(
        "loghub-spark",
        re.compile(
            r"^(?P<date>\d{2}/\d{2}/\d{2}) (?P<clock>\d{2}:\d{2}:\d{2}) (?P<level>[A-Z]+)"
            r" (?P<comp>[^:]+): (?P<msg>.*)$"
        ),
        lambda m, now: parse_numeric(_g(m, "date"), _g(m, "clock"), "ymd", now),
    ),
    Layout(
        "android",
        re.compile(
            r"^(?P<date>\d{2}-\d{2}) (?P<clock>\d{2}:\d{2}:\d{2}\.\d{3})\s+\d+\s+\d+ "
            r"(?P<level>[VDIWEF]) (?P<comp>[^:]*?)\s*: ?(?P<msg>.*)$"
        ),
        lambda m, now: parse_numeric(_g(m, "date"), _g(m, "clock"), "md", now),
    ),
    Layout(
        "loghub-healthapp",
        re.compile(
            r"^(?P<ts>\d{8}-\d{1,2}:\d{1,2}:\d{1,2}:\d{1,3})\|(?P<comp>[^|]*)\|\d+\|(?P<msg>.*)$"
        ),
        lambda m, now: parse_compact(_g(m, "ts"), now),
    ),
    Layout(
        "loghub-proxifier",
        re.compile(
            r"^\[(?P<date>\d{2}\.\d{2}) (?P<clock>\d{2}:\d{2}:\d{2})\] (?P<comp>\S+(?: \*\d+)?) - "
            r"(?P<msg>.*)$"
        ),
        lambda m, now: parse_numeric(_g(m, "date"), _g(m, "clock"), "md", now),
        level_in_message="peek",
    ),
    Layout(
        "loghub-hpc",
        re.compile(r"^\d+ \S+ (?P<comp>\S+) \S+ (?P<ts>\d{10}) -?\d+ (?P<msg>.*)$"),
        lambda m, now: parse_epoch(_g(m, "ts")),
        level_in_message="peek",
    ),
)
# Android's month-day dates are in the "md" order of parse_numeric; Proxifier's too.


class LineParser:
    """Parse batches of :class:`LogLine` into :class:`Record`.

    Keeps, per source, the index of the layout that matched last (a bounded map:
    past ``max_sources`` it is cleared and relearned, which only costs a few retries).

    >>> from logmonitor.clock import FakeClock
    >>> from logmonitor.records import LogLine
    >>> line = LogLine("a.log", "a.log", "2024-01-01 00:00:00,000 ERROR boom: ValueError: x",
    ...                0, 10, 1, 0.0)
    >>> record = LineParser(FakeClock()).parse_batch([line])[0]
    >>> record.level, record.error_type
    ('error', 'ValueError')
    """

    def __init__(self, clock: Clock, layouts: Sequence[Layout] = LAYOUTS, max_sources: int = 4096):
        self.clock = clock
        self.layouts = tuple(layouts)
        self.max_sources = max_sources
        self._last: dict[str, int] = {}
        self._stamps: dict[str, tuple[object, float | None]] = {}  # one entry per layout

    def parse_batch(self, lines: Sequence[LogLine]) -> list[Record]:
        now = self.clock.now()
        return [self.parse(line, now) for line in lines]

    def parse(self, line: LogLine, now: float) -> Record:
        text = line.text
        if text.startswith("{"):
            record = self._parse_json(line)
            if record is not None:
                return record
        first = self._last.get(line.source, 0)
        layout = self.layouts[first]
        m = layout.regex.match(text)
        if m is not None:  # the usual case: the layout of the source's last line
            return self._record(line, layout, m, now)
        for index, layout in enumerate(self.layouts):
            if index == first or (m := layout.regex.match(text)) is None:
                continue
            if len(self._last) >= self.max_sources:
                self._last.clear()
            self._last[line.source] = index
            return self._record(line, layout, m, now)
        return self._finish(line, text, None, None, None, "raw")

    def _record(self, line: LogLine, layout: Layout, m: re.Match[str], now: float) -> Record:
        groups = m.groupdict()
        message = groups["msg"] or ""
        level: Level | None = None
        if groups.get("pri"):
            # The syslog priority is facility * 8 + severity: the sender's own level.
            level = _SYSLOG_SEVERITY[int(groups["pri"]) % 8]
        elif groups.get("level"):
            level = normalize_level(groups["level"])
        elif layout.level_in_message == "strip":
            found = _LEVEL_NEAR_START.match(message)
            if found is not None and (level := normalize_level(found.group("level"))) is not None:
                message = message[found.end() :].lstrip(" -:|")
        elif layout.level_in_message == "peek":
            found = _LEVEL_AT_START.match(message)
            if found is not None:
                level = normalize_level(found.group("level"))
        if layout.decorated and level is not None:
            message = _strip_decorations(message)
        # Consecutive lines mostly share their second: remember the last timestamp
        # text of each layout and what it parsed to.
        key = groups.get("ts") or (groups.get("date"), groups.get("clock"))
        cached = self._stamps.get(layout.name)
        if cached is not None and cached[0] == key:
            stamp = cached[1]
        else:
            stamp = layout.stamp(m, now)
            self._stamps[layout.name] = (key, stamp)
        return self._finish(line, message, stamp, level, groups.get("comp"), layout.name)

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
        stamp: float | None = None
        if isinstance(stamp_value, (int, float)) and not isinstance(stamp_value, bool):
            stamp = parse_epoch(str(stamp_value))
        elif isinstance(stamp_value, str):
            stamp = parse_iso(stamp_value)
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
                if _INFER_ERROR.search(message):
                    level = "error"
                elif _INFER_WARNING.search(message):
                    level = "warning"
        return Record(
            line=line,
            message=message,
            timestamp=stamp,
            level=level,
            component=component,
            error_type=error_type_of(message),
            format=layout,
        )

"""Join the lines of one multi-line entry (stack traces, indented detail) into one record.

A Python traceback, a Java stack trace or a Go panic is one event written over
many lines. Counted line by line it would flood the pattern miner with frame
lines and lose the exception class, which sits on a line of its own. This stage
sits right after the header parser and joins such lines into the record they
belong to.

Rules, per source (sources interleave within a batch):

- A record whose line has a parsed header (``format != "raw"`` or a timestamp)
  always starts a new entry.
- A raw line joins the pending entry when it looks like a continuation: it
  starts with whitespace; it is a Java ``at ...(...)``, ``Caused by:``,
  ``Suppressed:`` or ``... N more`` line; a Go ``goroutine N [...]:`` line;
  in a stack, a blank line, a Python chaining message, a Go ``pkg.func(...)``,
  ``created by`` or ``[signal ...]`` line, and (Python and Java stacks only) a
  bare ``pkg.ExcName: msg`` or ``SomeError`` line directly after a frame line.
  A headered entry with nothing joined yet also takes a ``Traceback (most
  recent call last):`` line or a bare exception line (``logger.exception`` and
  logback write the exception under their header).
  ``Traceback``, ``panic:``, ``fatal error:`` and ``Exception in thread``
  otherwise start a new entry (a stack of its own). A line read from another
  ``path`` than the entry's first line (a rotation) starts a new entry, so
  that the joined record's offsets refer to one file.
- An entry is complete once a following line of its source starts a new one,
  or it has had no new line for ``timeout`` seconds (:meth:`flush_due`).

The error type of a joined record is, first found wins: for Python, the last
exception line after a traceback's frames (with chained exceptions, the one
raised last, which is the one that escaped); for Java, the first bare exception
line (the outermost exception, the one the code failed with; a ``Caused by:`` is
only used when no other class is named); for Go, ``runtime.Error`` for a
``panic: runtime error: ...``, else the class named in the panic message, else
``panic`` (``fatal error`` for a runtime fatal error); otherwise the first line's
own error type. A joined record with a stack error type and no level gets level
``error``. A record nothing joined is passed on unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ..records import LogLine, Record
from .formats import error_type_of

__all__ = ["MultilineJoiner"]

_Kind = Literal["python", "java", "go"]

_TRACEBACK = "Traceback (most recent call last):"
_PY_CHAIN = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
_JAVA_AT = re.compile(r"^at [\w$.<>/:-]+\(")
_JAVA_MORE = re.compile(r"^\.\.\. \d+ (?:more|common frames omitted)")
_JAVA_CAUSE = re.compile(r"^(?:Caused by|Suppressed): (?P<cls>[\w$.]+)")
_JAVA_START = re.compile(r'^Exception in thread "[^"]*" (?P<cls>[\w$.]+)')
_GO_GOROUTINE = re.compile(r"^goroutine \d+ \[[^\]]*\]:$")
_GO_FUNC = re.compile(r"^[^\s(]+\(.*\)(?: \S+)?$")
_EXC_LINE = re.compile(r"^(?P<cls>(?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*)(?::(?: .*)?)?$")
_EXC_NAME = re.compile(r"(?:Error|Exception|Throwable|Fault|Warning|Exit|Interrupt|Iteration)$")


def _looks_like_exception(cls: str) -> bool:
    """``ValueError``, ``java.io.IOException``, ``com.acme.Boom``; not ``done``."""
    last = cls.rsplit(".", 1)[-1]
    return bool(_EXC_NAME.search(last)) or ("." in cls and last[:1].isupper())


def _go_error_type(text: str) -> str:
    if text.startswith("fatal error:"):
        return "fatal error"
    message = text[len("panic:") :].strip()
    if message.startswith("runtime error:"):
        return "runtime.Error"
    return error_type_of(message) or "panic"


@dataclass(slots=True)
class _Pending:
    """The entry being assembled for one source."""

    first: Record
    headered: bool
    last: LogLine
    last_at: float
    kind: _Kind | None = None
    texts: list[str] = field(default_factory=list)
    size: int = -1  # bytes of the joined text so far; computed at the first join
    dropped: int = 0
    truncated: bool = False
    after_frame: bool = False  # the last joined line was a stack frame
    chained: bool = False  # a Python chaining message was seen: a Traceback may follow
    py_exc: str | None = None
    first_exc: str | None = None
    cause_exc: str | None = None
    go_type: str | None = None


class MultilineJoiner:
    """Join continuation lines into the record they belong to; see the module docstring.

    Bounds: at most ``max_lines`` continuation lines and ``max_bytes`` bytes (UTF-8,
    first line and ``"\\n"`` separators included) of joined text per record. A
    continuation line past either bound is dropped from the text, counted in
    :attr:`dropped_lines` and marks the record's line ``truncated``; once one line is
    dropped, so are all later lines of that record (the text stays a prefix of the
    entry). Dropped lines still advance ``end_offset`` and still count for the error
    type, so the Python exception line at the end of a huge traceback still names
    it. The first line is always kept whole. At most ``max_sources`` sources may
    have an entry pending; a new source past that completes the entry of the source
    that was fed least recently.

    The joined record keeps the first line's identity (``source``, ``path``,
    ``offset``, ``line_number``, ``read_at``); its ``text`` is the kept lines joined
    with ``"\\n"`` and its ``end_offset`` is the last consumed line's, the position
    to checkpoint once the record has been processed. Lines still pending are not
    yet returned, so a checkpoint never passes them.

    >>> from logmonitor.records import LogLine, Record
    >>> def rec(n, text):
    ...     return Record(LogLine("a", "a", text, n * 10, n * 10 + 10, n + 1, 0.0), text)
    >>> joiner = MultilineJoiner()
    >>> lines = [_TRACEBACK, '  File "x.py", line 1, in <module>', "ValueError: bad", "next"]
    >>> out = joiner.feed([rec(i, t) for i, t in enumerate(lines)], now=0.0)
    >>> out[0].error_type, out[0].line.end_offset, len(joiner.flush_all())
    ('ValueError', 30, 1)
    """

    def __init__(
        self,
        timeout: float = 1.0,
        max_lines: int = 500,
        max_bytes: int = 64 * 1024,
        max_sources: int = 1024,
    ) -> None:
        self.timeout = timeout
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.max_sources = max_sources
        self.dropped_lines = 0
        self.released_lines = 0  # lines of every completed record, joined or dropped
        self._pending: dict[str, _Pending] = {}  # least recently fed first

    @property
    def pending_sources(self) -> int:
        """How many sources have an entry waiting for its next line."""
        return len(self._pending)

    def pending_start(self, source: str) -> LogLine | None:
        """The first line of ``source``'s pending entry: where a checkpoint must stop."""
        entry = self._pending.get(source)
        return None if entry is None else entry.first.line

    def due(self, now: float) -> list[str]:
        """Sources whose pending entry has had no new line for ``timeout`` seconds."""
        return [s for s, e in self._pending.items() if now - e.last_at >= self.timeout]

    def flush_source(self, source: str, settled: bool = False) -> list[Record]:
        """Complete ``source``'s pending entry now (all of it, or with ``settled``
        only when it is not inside a stack trace, whose next lines may still come)."""
        entry = self._pending.get(source)
        if entry is None or (settled and entry.kind is not None):
            return []
        del self._pending[source]
        return [self._complete(entry)]

    def feed(self, records: Sequence[Record], now: float) -> list[Record]:
        """Consume a batch; return the records completed by it, in completion order."""
        out: list[Record] = []
        pending = self._pending
        for record in records:
            line = record.line
            source = line.source
            entry = pending.get(source)
            headered = record.format != "raw" or record.timestamp is not None
            if (
                entry is not None
                and not headered
                and line.path == entry.last.path
                and self._joins(entry, line.text)
            ):
                self._append(entry, line)
                entry.last_at = now
                del pending[source]  # re-insert: keep least-recently-fed order
                pending[source] = entry
                continue
            if entry is not None:
                del pending[source]
                out.append(self._complete(entry))
            elif len(pending) >= self.max_sources:
                oldest = next(iter(pending))
                out.append(self._complete(pending.pop(oldest)))
            pending[source] = self._start(record, headered, now)
        return out

    def flush_due(self, now: float) -> list[Record]:
        """Complete the entries that have had no new line for ``timeout`` seconds."""
        return [self._complete(self._pending.pop(source)) for source in self.due(now)]

    def flush_all(self) -> list[Record]:
        """Complete every pending entry (at shutdown, or at the end of a replay)."""
        out = [self._complete(entry) for entry in self._pending.values()]
        self._pending.clear()
        return out

    @staticmethod
    def _start(record: Record, headered: bool, now: float) -> _Pending:
        entry = _Pending(record, headered, record.line, now)
        if headered:
            return entry
        text = record.line.text
        if text.startswith(_TRACEBACK):
            entry.kind = "python"
        elif text.startswith(("panic:", "fatal error:")):
            entry.kind = "go"
            entry.go_type = _go_error_type(text)
        elif (m := _JAVA_START.match(text)) is not None:
            entry.kind = "java"
            entry.first_exc = m.group("cls")
        return entry

    @staticmethod
    def _joins(entry: _Pending, text: str) -> bool:
        """Whether ``text`` continues ``entry``; updates the entry's stack state if so."""
        first = text[:1]
        if first in (" ", "\t"):
            if not text.strip():
                return entry.kind is not None
            body = text.lstrip()
            if body.startswith('File "'):
                entry.kind = entry.kind or "python"
            elif body.startswith("at ") or _JAVA_MORE.match(body):
                entry.kind = entry.kind or "java"
            elif (m := _JAVA_CAUSE.match(body)) is not None:
                entry.kind = entry.kind or "java"
                entry.cause_exc = entry.cause_exc or m.group("cls")
            entry.after_frame = True
            return True
        if not text:
            return entry.kind is not None
        fresh_header = entry.headered and not entry.texts and entry.dropped == 0
        if text.startswith(_TRACEBACK):
            if entry.chained or fresh_header:
                entry.kind, entry.chained, entry.after_frame = "python", False, False
                return True
            return False
        if _JAVA_AT.match(text) or _JAVA_MORE.match(text):
            entry.kind = entry.kind or "java"
            entry.after_frame = True
            return True
        if (m := _JAVA_CAUSE.match(text)) is not None:
            entry.kind = entry.kind or "java"
            entry.cause_exc = entry.cause_exc or m.group("cls")
            entry.after_frame = False
            return True
        if _GO_GOROUTINE.match(text):
            entry.kind = entry.kind or "go"
            entry.after_frame = True
            return True
        if entry.kind is not None:
            if text in _PY_CHAIN:
                entry.chained, entry.after_frame = True, False
                return True
            if entry.kind == "go" and (
                text.startswith(("created by ", "[signal ")) or _GO_FUNC.match(text)
            ):
                entry.after_frame = True
                return True
        m = _EXC_LINE.match(text)
        if m is None:
            return False
        cls = m.group("cls")
        # ``ValueError: x`` or a bare ``KeyboardInterrupt``; not a stray ``Done``.
        named = len(text) > len(cls) or _looks_like_exception(cls)
        if entry.kind in ("python", "java") and entry.after_frame and named:
            if entry.kind == "python":
                entry.py_exc = cls
            else:
                entry.first_exc = entry.first_exc or cls
            entry.after_frame = False
            return True
        if fresh_header and _looks_like_exception(cls):
            entry.kind = entry.kind or "java"
            entry.first_exc = cls
            return True
        return False

    def _append(self, entry: _Pending, line: LogLine) -> None:
        entry.last = line
        entry.truncated = entry.truncated or line.truncated
        if entry.dropped == 0 and len(entry.texts) < self.max_lines:
            if entry.size < 0:
                entry.size = len(entry.first.line.text.encode("utf-8", "replace"))
            size = entry.size + 1 + len(line.text.encode("utf-8", "replace"))
            if size <= self.max_bytes:
                entry.texts.append(line.text)
                entry.size = size
                return
        entry.dropped += 1
        self.dropped_lines += 1

    def _complete(self, entry: _Pending) -> Record:
        self.released_lines += 1 + len(entry.texts) + entry.dropped
        record = entry.first
        if not entry.texts and entry.dropped == 0:
            return record
        first = record.line
        tail = "\n".join(entry.texts)
        stack_type = entry.py_exc or entry.first_exc or entry.go_type
        error_type = stack_type or record.error_type or entry.cause_exc
        level = record.level
        if level is None and (stack_type is not None or entry.cause_exc is not None):
            level = "error"
        joined = LogLine(
            source=first.source,
            path=first.path,
            text=f"{first.text}\n{tail}" if entry.texts else first.text,
            offset=first.offset,
            end_offset=entry.last.end_offset,
            line_number=first.line_number,
            read_at=first.read_at,
            truncated=first.truncated or entry.truncated or entry.dropped > 0,
        )
        return replace(
            record,
            line=joined,
            message=f"{record.message}\n{tail}" if entry.texts else record.message,
            error_type=error_type,
            level=level,
        )

"""Count templates into session windows: one window per identifier (a block, a request).

A session is every line whose message (else whole line) holds the same first match
of ``key_pattern`` (``blk_-?\\d+`` for HDFS blocks, a request or trace id elsewhere),
per source. Lines without a match belong to no session and are not counted here.

A session closes when it has been inactive for ``timeout`` seconds, when it has
spanned ``max_seconds`` from its first line, or when it holds ``max_lines`` lines.
Time is the stream's own: the latest line timestamp seen (a line without one
takes the injected ``now``), so a replayed or backlogged file is cut as it was
written; and a session whose stream has gone quiet closes once the injected
``now`` is ``timeout`` past its last line's arrival.
The next line with its key then starts a new session. Bound: at most
``max_open`` sessions are open; a new one past that closes the least recently
active session early (its window is emitted as usual, so nothing is lost, only
cut).

Samples: the first line of each template of the session, up to ``max_samples``
templates (errors and first sightings replace ordinary lines past that), so the
explanation of an alert can quote the line of the template that caused it.

Windows carry the session in ``source`` as ``"<source>#<key>"`` and span the
first to the last line of the session (``end`` is the last line's time, so a
one-line session has ``start == end``). Same call shape as
:class:`~logmonitor.features.windows.WindowCounter`, so the pipeline can use
either: ``add``, ``due``, ``close_due``, ``close_all``, ``open_windows``.
The sessions each batch touched or closed save to plain JSON (``take_changes``,
one row each, with the commit of that batch; ``restore``), so a restart goes on
counting them instead of cutting every session in two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, StateError
from ..records import Match, Record, Sample, Window
from .windows import samples_from_state, samples_to_state

__all__ = ["SessionWindows", "session_of"]

_FUTURE_SLACK = 300.0
_STATE_VERSION = 1


def session_of(window: Window) -> tuple[str, str]:
    """Split a session window's ``source`` into ``(source, key)``; key is ``""`` for a
    time window.

    >>> session_of(Window("hdfs.log#blk_1", 0.0, 1.0, (), 1, 0))
    ('hdfs.log', 'blk_1')
    """
    source, _, key = window.source.rpartition("#")
    return (source, key) if source else (key, "")


@dataclass(slots=True)
class _Session:
    name: str  # "<source>#<key>"
    start: float
    last: float  # time of the latest line (record time)
    last_arrival: float  # injected now when the latest line arrived
    counts: dict[int, int] = field(default_factory=dict)
    lines: int = 0
    errors: int = 0
    new_templates: list[int] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    notable: list[bool] = field(default_factory=list)
    touched: int = 0  # the table's touch count at its latest line: activity order

    def close(self) -> Window:
        counts = tuple(sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return Window(
            source=self.name,
            start=self.start,
            end=self.last,
            counts=counts,
            lines=self.lines,
            errors=self.errors,
            new_templates=tuple(self.new_templates),
            samples=tuple(self.samples),
        )


class SessionWindows:
    """Session windows keyed by an identifier regex; see the module docstring.

    >>> from logmonitor.records import LogLine, Match, Record
    >>> sessions = SessionWindows(r"req=\\w+", timeout=10)
    >>> def rec(t, text):
    ...     return Record(LogLine("a", "a", text, 0, 0, 1, t), message=text, timestamp=t)
    >>> m = Match(1, "x", "unchanged")
    >>> sessions.add([rec(0.0, "req=a go"), rec(1.0, "req=b go")], [m, m], now=1.0)
    []
    >>> [w.source for w in sessions.add([rec(20.0, "req=a done")], [m], now=20.0)]
    ['a#req=a', 'a#req=b']
    """

    def __init__(
        self,
        key_pattern: str | re.Pattern[str],
        timeout: float = 1800.0,
        max_seconds: float = 3600.0,
        max_lines: int = 10_000,
        max_open: int = 100_000,
        max_samples: int = 16,
    ) -> None:
        try:
            self.key_pattern = re.compile(key_pattern)
        except re.error as exc:
            raise ConfigError(
                f"session key pattern {key_pattern!r} is not a valid regular expression "
                f"({exc}); fix 'session_id', e.g. 'blk_-?\\d+'"
            ) from None
        for name, value in (("timeout", timeout), ("max_seconds", max_seconds)):
            if not value > 0:
                raise ConfigError(f"{name} must be a positive number of seconds, got {value}")
        for name, count in (("max_lines", max_lines), ("max_open", max_open)):
            if count < 1:
                raise ConfigError(f"{name} must be at least 1, got {count}")
        if max_samples < 0:
            raise ConfigError(f"max_samples must be 0 or more, got {max_samples}")
        self.timeout = float(timeout)
        self.max_seconds = float(max_seconds)
        self.max_lines = max_lines
        self.max_open = max_open
        self.max_samples = max_samples
        # Least recently active first: a line moves its session to the end, so the
        # first entry is the one to close when the table is full.
        self._open: dict[str, _Session] = {}
        self.unkeyed_lines = 0  # lines with no session key (not counted in any window)
        self.evicted = 0  # sessions closed early because max_open was reached
        self._touches = 0  # lines counted into sessions, so far
        self._latest = float("-inf")  # the latest line time seen (the stream's clock)
        # Sessions touched or closed since take_changes(); kept only once someone
        # takes them (the monitor does, per commit; a replay does not).
        self._dirty: set[str] = set()
        self.track_changes = False

    def add(self, records: Sequence[Record], matches: Sequence[Match], now: float) -> list[Window]:
        """Count a batch; return the sessions it closed (timed out, full or evicted)."""
        closed: list[Window] = []
        search = self.key_pattern.search
        limit = now + _FUTURE_SLACK
        sessions = self._open
        for record, match in zip(records, matches, strict=True):
            found = search(record.message) or search(record.line.text)
            if found is None:
                self.unkeyed_lines += 1
                continue
            stamp = record.timestamp
            t = stamp if stamp is not None and stamp <= limit else now
            self._latest = max(self._latest, t)
            name = f"{record.line.source}#{found.group(0)}"
            if self.track_changes:
                self._dirty.add(name)
            session = sessions.pop(name, None)
            if session is not None and (
                t - session.last >= self.timeout or t - session.start >= self.max_seconds
            ):
                closed.append(session.close())
                session = None
            if session is None:
                if len(sessions) >= self.max_open:
                    oldest = next(iter(sessions))
                    closed.append(sessions.pop(oldest).close())
                    self.evicted += 1
                session = _Session(name, t, t, now)
            sessions[name] = session
            self._touches += 1
            session.touched = self._touches
            session.counts[match.template_id] = session.counts.get(match.template_id, 0) + 1
            session.lines += 1
            session.last = max(session.last, t)
            session.last_arrival = now
            is_error = record.is_error
            if is_error:
                session.errors += 1
            if match.change == "created":
                session.new_templates.append(match.template_id)
            self._sample(session, record, match, is_error)
            if session.lines >= self.max_lines:
                closed.append(sessions.pop(name).close())
        closed.extend(self._expire(self._clock(now), now))
        if self.track_changes:
            self._dirty.update(w.source for w in closed)
        return closed

    def _clock(self, now: float) -> float:
        # Stream time: the latest line time seen. A replayed or backlogged file is
        # cut on its own timestamps, not on the wall clock it is read at.
        return self._latest if self._latest > float("-inf") else now

    def _expired(self, session: _Session, clock: float, now: float) -> bool:
        return (
            clock - session.last >= self.timeout
            or clock - session.start >= self.max_seconds
            or now - session.last_arrival >= self.timeout  # the stream went quiet
        )

    def _expire(self, clock: float, now: float) -> list[Window]:
        # Activity order is the dict order, so the timed-out sessions are a prefix:
        # stop at the first live one. A session cut by max_seconds further in is
        # closed by its next line, or by close_due.
        closed: list[Window] = []
        for name in list(self._open):
            if not self._expired(self._open[name], clock, now):
                break
            closed.append(self._open.pop(name).close())
        return closed

    def _sample(self, session: _Session, record: Record, match: Match, is_error: bool) -> None:
        # One sample per template (its first line), so an explanation can show a
        # line of whichever template turns out to be the cause. Past max_samples,
        # errors and first sightings replace ordinary samples, as in WindowCounter.
        if self.max_samples == 0:
            return
        template = match.template_id
        if any(s.template_id == template for s in session.samples):
            return
        notable = is_error or match.change == "created"
        if len(session.samples) >= self.max_samples:
            if not notable or all(session.notable):
                return
            index = session.notable.index(False)
            del session.samples[index], session.notable[index]
        line = record.line
        session.samples.append(Sample(line.path, line.line_number, line.text[:2000], template))
        session.notable.append(notable)

    def due(self, now: float) -> list[str]:
        """Sources that have a session to close by time (for the pipeline's loop)."""
        clock = self._clock(now)
        sources = {
            name.rpartition("#")[0]
            for name, session in self._open.items()
            if self._expired(session, clock, now)
        }
        return sorted(sources)

    def close_due(self, source: str, now: float) -> list[Window]:
        """Close ``source``'s sessions that timed out or grew too long by ``now``."""
        clock = self._clock(now)
        prefix = f"{source}#"
        names = [
            name
            for name, session in self._open.items()
            if name.startswith(prefix) and self._expired(session, clock, now)
        ]
        if self.track_changes:
            self._dirty.update(names)
        return [self._open.pop(name).close() for name in names]

    def close_all(self) -> list[Window]:
        """Close every open session (at shutdown, or at the end of a replay)."""
        closed = [s.close() for s in self._open.values()]
        if self.track_changes:
            self._dirty.update(self._open)
        self._open.clear()
        return closed

    def open_windows(self) -> int:
        return len(self._open)

    # -- state -----------------------------------------------------------------------

    def take_changes(self) -> tuple[dict[str, Any], dict[str, dict[str, Any] | None]]:
        """What changed since the last call, to save with the commit that holds its
        lines: the table's scalars, and per touched session its state (None: it
        closed). A restart then resumes every open session exactly."""
        self.track_changes = True
        changes = {name: self._session_state(self._open.get(name)) for name in self._dirty}
        self._dirty = set()
        meta = {
            "version": _STATE_VERSION, "key_pattern": self.key_pattern.pattern,
            "latest": self._latest if self._latest > float("-inf") else None,
            "unkeyed_lines": self.unkeyed_lines, "evicted": self.evicted,
            "touches": self._touches,
        }  # fmt: skip
        return meta, changes

    @staticmethod
    def _session_state(x: _Session | None) -> dict[str, Any] | None:
        if x is None:
            return None
        return {
            "name": x.name, "start": x.start, "last": x.last, "last_arrival": x.last_arrival,
            "counts": [[t, c] for t, c in x.counts.items()], "lines": x.lines,
            "errors": x.errors, "new_templates": list(x.new_templates),
            "samples": samples_to_state(x.samples, x.notable), "touched": x.touched,
        }  # fmt: skip

    def restore(self, meta: dict[str, Any] | None, sessions: Iterable[dict[str, Any]]) -> None:
        """Reopen what :meth:`take_changes` saved (sessions of another key pattern
        are left out: they were keyed by something else)."""
        if not meta or meta.get("key_pattern") != self.key_pattern.pattern:
            return
        if meta.get("version") != _STATE_VERSION:
            raise StateError(f"saved sessions have version {meta.get('version')!r}")
        try:
            latest = meta["latest"]
            self._latest = float("-inf") if latest is None else float(latest)
            self.unkeyed_lines = int(meta["unkeyed_lines"])
            self.evicted = int(meta["evicted"])
            self._touches = int(meta.get("touches", 0))
            # Activity order (the eviction order): lines of one batch share their
            # arrival time, so the touch count decides.
            rows = sorted(
                sessions, key=lambda r: (int(r.get("touched", 0)), float(r["last_arrival"]))
            )
            for saved in rows:
                session = _session_from(saved)
                self._open[session.name] = session
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"saved sessions are malformed ({exc!r})") from None


def _session_from(saved: dict[str, Any]) -> _Session:
    """A session from what :meth:`SessionWindows._session_state` saved."""
    session = _Session(
        str(saved["name"]), float(saved["start"]), float(saved["last"]),
        float(saved["last_arrival"]), {int(t): int(c) for t, c in saved["counts"]},
        int(saved["lines"]), int(saved["errors"]), [int(t) for t in saved["new_templates"]],
    )  # fmt: skip
    session.samples, session.notable = samples_from_state(saved["samples"])
    session.touched = int(saved.get("touched", 0))
    return session

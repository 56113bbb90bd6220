"""Count templates into tumbling time windows, one stream per source.

A line's time is its parsed timestamp. A line without one (or with an
implausible one: more than five minutes in the future, as with a wrong time
zone) joins the open window of its source while timestamped lines keep arriving
(within ``seconds`` of the last), else it takes the time it was read. Windows
are aligned on multiples of ``seconds``.

A window closes when a line of a later window arrives, or once the clock is past
its end by ``grace`` seconds and the source has been quiet for ``grace`` seconds
(so a replayed backlog is not cut at a read boundary). Lines older than the open
window are counted into it: windows never reopen. One window is open per source
(at most ``max_sources``; past that the stalest source's window is closed early).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import StateError
from ..records import Match, Record, Sample, Window

__all__ = ["WindowCounter", "resolve_ids", "samples_from_state", "samples_to_state"]

_FUTURE_SLACK = 300.0
_STATE_VERSION = 1


@dataclass(slots=True)
class _Open:
    source: str
    start: float
    end: float
    counts: dict[int, int] = field(default_factory=dict)
    lines: int = 0
    errors: int = 0
    new_templates: list[int] = field(default_factory=list)
    error_templates: set[int] = field(default_factory=set)
    samples: list[Sample] = field(default_factory=list)
    notable: list[bool] = field(default_factory=list)
    last_arrival: float = 0.0
    last_timed: float | None = None  # when a line with its own timestamp last arrived

    def close(self) -> Window:
        counts = tuple(sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return Window(
            source=self.source,
            start=self.start,
            end=self.end,
            counts=counts,
            lines=self.lines,
            errors=self.errors,
            new_templates=tuple(self.new_templates),
            samples=tuple(self.samples),
            error_templates=tuple(sorted(self.error_templates)),
        )


def resolve_ids(window: Window, resolve: Callable[[int], int]) -> Window:
    """``window`` with each template id mapped through ``resolve`` (the miner's: an
    id merged into an older template since its lines were counted becomes the
    survivor's), counts of ids that now mean one template added up.

    >>> w = Window("a", 0.0, 60.0, ((2, 3), (1, 1)), 4, 0, new_templates=(2,))
    >>> resolve_ids(w, lambda t: {2: 1}.get(t, t)).counts
    ((1, 4),)
    """
    if all(resolve(t) == t for t, _ in window.counts):
        return window
    counts: dict[int, int] = {}
    for template_id, n in window.counts:
        survivor = resolve(template_id)
        counts[survivor] = counts.get(survivor, 0) + n
    return replace(
        window,
        counts=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        new_templates=tuple(dict.fromkeys(resolve(t) for t in window.new_templates)),
        error_templates=tuple(sorted({resolve(t) for t in window.error_templates})),
        samples=tuple(replace(s, template_id=resolve(s.template_id)) for s in window.samples),
    )


def samples_to_state(samples: Sequence[Sample], notable: Sequence[bool]) -> list[list[Any]]:
    """A window's (or session's) sample lines, and whether each is notable, as JSON."""
    return [
        [s.path, s.line_number, s.text, s.template_id, n]
        for s, n in zip(samples, notable, strict=True)
    ]


def samples_from_state(saved: Iterable[Sequence[Any]]) -> tuple[list[Sample], list[bool]]:
    """The inverse of :func:`samples_to_state`."""
    samples: list[Sample] = []
    notable: list[bool] = []
    for path, number, text, template, flag in saved:
        samples.append(Sample(str(path), int(number), str(text), int(template)))
        notable.append(bool(flag))
    return samples, notable


class WindowCounter:
    """Per-source tumbling windows.

    >>> from logmonitor.records import LogLine, Match, Record
    >>> counter = WindowCounter(seconds=60)
    >>> def rec(t):
    ...     return Record(LogLine("a", "a", "x", 0, 0, 1, t), message="x", timestamp=t)
    >>> m = Match(1, "x", "unchanged")
    >>> counter.add([rec(0.0), rec(30.0)], [m, m], now=30.0)
    []
    >>> [w.lines for w in counter.add([rec(61.0)], [m], now=61.0)]
    [2]
    """

    def __init__(
        self, seconds: float = 60.0, grace: float = 2.0, max_samples: int = 5,
        max_sources: int = 10_000,
    ) -> None:  # fmt: skip
        self.seconds = seconds
        self.grace = grace
        self.max_samples = max_samples
        self.max_sources = max_sources
        self._open: dict[str, _Open] = {}

    def add(self, records: Sequence[Record], matches: Sequence[Match], now: float) -> list[Window]:
        """Count a batch (all of one source or mixed); return the windows it closed."""
        closed: list[Window] = []
        seconds = self.seconds
        limit = now + _FUTURE_SLACK
        for record, match in zip(records, matches, strict=True):
            line = record.line
            stamp = record.timestamp
            timed = stamp is not None and stamp <= limit
            current = self._open.get(line.source)
            if stamp is not None and timed:
                t = stamp
            else:
                # A line without a usable timestamp (a continuation, a header-less
                # line) belongs with its timestamped neighbours: it joins their
                # window while they keep coming. Taking the read time instead
                # would pin a replayed backlog to the wall clock.
                joined = (
                    current is not None
                    and current.last_timed is not None
                    and now - current.last_timed <= seconds
                )
                t = current.start if joined and current is not None else line.read_at
            if current is None or t >= current.end:
                if current is not None:
                    # Out of the table first: _admit must neither count it towards
                    # max_sources nor evict (and so close) it a second time.
                    del self._open[line.source]
                    closed.append(current.close())
                start = (t // seconds) * seconds
                current = _Open(line.source, start, start + seconds)
                self._admit(current, closed)
            current.counts[match.template_id] = current.counts.get(match.template_id, 0) + 1
            current.lines += 1
            current.last_arrival = now
            if timed:
                current.last_timed = now
            is_error = record.is_error
            if is_error:
                current.errors += 1
                current.error_templates.add(match.template_id)
            if match.change == "created":
                current.new_templates.append(match.template_id)
            self._sample(current, record, match, is_error)
        return closed

    def _admit(self, window: _Open, closed: list[Window]) -> None:
        if len(self._open) >= self.max_sources:
            stalest = min(self._open.values(), key=lambda w: w.last_arrival)
            closed.append(self._open.pop(stalest.source).close())
        self._open[window.source] = window

    def _sample(self, window: _Open, record: Record, match: Match, is_error: bool) -> None:
        # Errors and first sightings of a template are better evidence than the
        # first lines of a window: they replace ordinary samples once it is full.
        notable = is_error or match.change == "created"
        if len(window.samples) >= self.max_samples:
            if not notable or all(window.notable):
                return
            index = window.notable.index(False)
            del window.samples[index], window.notable[index]
        line = record.line
        window.samples.append(
            Sample(line.path, line.line_number, line.text[:2000], match.template_id)
        )
        window.notable.append(notable)

    def due(self, now: float) -> list[str]:
        """Sources whose open window may close by time."""
        return [
            w.source
            for w in self._open.values()
            if now >= w.end + self.grace and now - w.last_arrival >= self.grace
        ]

    def close_due(self, source: str, now: float) -> list[Window]:
        window = self._open.get(source)
        if (
            window is None
            or now < window.end + self.grace
            or now - window.last_arrival < self.grace
        ):
            return []
        del self._open[source]
        return [window.close()]

    def close_all(self) -> list[Window]:
        closed = [w.close() for w in self._open.values()]
        self._open.clear()
        return closed

    def open_windows(self) -> int:
        return len(self._open)

    # -- state: one open window per source, saved with that source's commits --------

    def open_state(self, source: str) -> dict[str, Any] | None:
        """The open window of ``source`` as JSON-able data (None: none is open)."""
        w = self._open.get(source)
        if w is None:
            return None
        return {
            "version": _STATE_VERSION, "source": w.source, "start": w.start, "end": w.end,
            "counts": [[t, c] for t, c in w.counts.items()], "lines": w.lines,
            "errors": w.errors, "new_templates": list(w.new_templates),
            "error_templates": sorted(w.error_templates),
            "samples": samples_to_state(w.samples, w.notable),
            "last_arrival": w.last_arrival, "last_timed": w.last_timed,
        }  # fmt: skip

    def restore(self, states: Iterable[Mapping[str, Any] | None]) -> None:
        """Reopen the windows :meth:`open_state` saved (a restart keeps counting
        into them instead of scoring a window that lost its first part). Raises
        :class:`~logmonitor.errors.StateError` for data it cannot read."""
        for state in states:
            if state is None:
                continue
            if state.get("version") != _STATE_VERSION:
                raise StateError(f"saved window has version {state.get('version')!r}")
            try:
                w = _Open(str(state["source"]), float(state["start"]), float(state["end"]))
                w.counts = {int(t): int(c) for t, c in state["counts"]}
                w.lines, w.errors = int(state["lines"]), int(state["errors"])
                w.new_templates = [int(t) for t in state["new_templates"]]
                w.error_templates = {int(t) for t in state.get("error_templates", ())}
                w.samples, w.notable = samples_from_state(state["samples"])
                w.last_arrival = float(state["last_arrival"])
                timed = state["last_timed"]
                w.last_timed = None if timed is None else float(timed)
            except (KeyError, TypeError, ValueError) as exc:
                raise StateError(f"saved window is malformed ({exc!r})") from None
            self._open[w.source] = w

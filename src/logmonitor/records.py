"""Frozen records passed between the stages, in batches.

A line flows as ``LogLine`` (sources) -> ``Record`` (parse) -> ``Match`` (patterns)
-> ``Window`` (features) -> ``Score`` (detect) -> ``Alert`` (alerts). Records are
immutable so a stage can never change what another stage sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from types import MemberDescriptorType
from typing import Any, Literal, TypeVar

__all__ = [
    "ERROR_LEVELS",
    "LEVELS",
    "Alert",
    "Level",
    "LogLine",
    "Match",
    "Record",
    "Sample",
    "Score",
    "Window",
    "slot_constructor",
]

T = TypeVar("T")

Level = Literal["debug", "info", "notice", "warning", "error", "critical"]
LEVELS: tuple[Level, ...] = ("debug", "info", "notice", "warning", "error", "critical")
ERROR_LEVELS: frozenset[str] = frozenset({"error", "critical"})


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line as read from a file.

    ``source`` is the path the stream is known by (it stays the same after the
    file is rotated away); ``path`` is where the bytes were read. ``end_offset``
    is the byte position just after the line's newline: the read position to
    checkpoint once this line has been processed.
    """

    source: str
    path: str
    text: str
    offset: int
    end_offset: int
    line_number: int
    read_at: float
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Record:
    """A parsed line: header fields split from the message."""

    line: LogLine
    message: str
    timestamp: float | None = None
    level: Level | None = None
    component: str | None = None
    error_type: str | None = None
    format: str = "raw"

    @property
    def is_error(self) -> bool:
        return self.level in ERROR_LEVELS


@dataclass(frozen=True, slots=True)
class Match:
    """The template a record was assigned to."""

    template_id: int
    template: str
    change: Literal["created", "updated", "unchanged"]
    params: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sample:
    """A line kept as evidence for a window or an alert."""

    path: str
    line_number: int
    text: str
    template_id: int


@dataclass(frozen=True, slots=True)
class Window:
    """The template counts of one source over ``[start, end)``."""

    source: str
    start: float
    end: float
    counts: tuple[tuple[int, int], ...]
    lines: int
    errors: int
    new_templates: tuple[int, ...] = ()
    samples: tuple[Sample, ...] = ()
    error_templates: tuple[int, ...] = ()  # templates with an error-level line here

    def count_map(self) -> dict[int, int]:
        return dict(self.counts)


@dataclass(frozen=True, slots=True)
class Score:
    """A window's anomaly score in [0, 1]; higher is more anomalous."""

    window: Window
    score: float
    detector: str


@dataclass(frozen=True, slots=True)
class Alert:
    """An anomalous window. Unpacks as ``(filename, score)`` like the original API.

    >>> alert = Alert(filename="/var/log/app.log", score=0.71, time=0.0)
    >>> filename, score = alert
    >>> filename, round(score, 2)
    ('/var/log/app.log', 0.71)
    """

    filename: str
    score: float
    time: float
    id: int | None = None
    threshold: float = 0.5
    window_start: float = 0.0
    window_end: float = 0.0
    template_ids: tuple[int, ...] = ()
    templates: tuple[str, ...] = ()
    sample_lines: tuple[Sample, ...] = ()
    detector: str = "iforest"
    lines: int = 0
    errors: int = 0
    # The lifecycle (alerts.policy): one alert per condition, updated while it lasts.
    fingerprint: str = ""
    severity: str = "warning"  # "warning" | "critical"
    status: str = "firing"  # "firing" | "resolved"
    first_seen: float = 0.0
    last_seen: float = 0.0
    occurrences: int = 1
    explanation: Mapping[str, Any] | None = None
    counts: tuple[tuple[int, int], ...] = ()  # the first window's template counts
    acked_at: float | None = None
    feedback: str | None = None  # "true-positive" | "false-positive"
    acked_by: str | None = None
    feedback_note: str | None = None
    feedback_at: float | None = None

    def __iter__(self) -> Iterator[object]:
        return iter((self.filename, self.score))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> object:
        return (self.filename, self.score)[index]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (the CLI's ``--json`` and the state store use it)."""
        return {
            "id": self.id,
            "filename": self.filename,
            "score": round(self.score, 6),
            "threshold": self.threshold,
            "time": self.time,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "detector": self.detector,
            "lines": self.lines,
            "errors": self.errors,
            "template_ids": list(self.template_ids),
            "templates": list(self.templates),
            "fingerprint": self.fingerprint,
            "severity": self.severity,
            "status": self.status,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "occurrences": self.occurrences,
            "explanation": dict(self.explanation) if self.explanation is not None else None,
            "acked_at": self.acked_at,
            "acked_by": self.acked_by,
            "feedback": self.feedback,
            "feedback_note": self.feedback_note,
            "feedback_at": self.feedback_at,
            "sample_lines": [
                {
                    "path": s.path,
                    "line_number": s.line_number,
                    "text": s.text,
                    "template_id": s.template_id,
                }
                for s in self.sample_lines
            ],
        }


def slot_constructor(cls: type[T]) -> Callable[..., T]:
    """A faster positional constructor for one of these frozen records: every field,
    in order, no defaults. The object is the same as ``cls(...)`` builds.

    The per-line budget is a few microseconds, and a frozen dataclass's
    ``__init__`` spends about one of them in ``object.__setattr__`` calls. The
    object is built as an instance of a plain twin class with the same slots (plain
    attribute stores, a few nanoseconds each), then given its real class: the
    layouts are the same, so the result is an ordinary, frozen ``cls``. Falls back to
    setting the slots through their descriptors when the twin cannot stand in, and to
    ``cls`` itself when the class has a ``__post_init__`` or a field that is not a
    plain slot (tests compare all ways).

    >>> make = slot_constructor(Sample)
    >>> make("a.log", 3, "x", 1) == Sample("a.log", 3, "x", 1)
    True
    >>> type(make("a.log", 3, "x", 1)) is Sample
    True
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    slots: list[Any] = [getattr(cls, name, None) for name in names]
    if hasattr(cls, "__post_init__") or not all(isinstance(s, MemberDescriptorType) for s in slots):
        return cls
    space: dict[str, Any] = {"new": object.__new__, "cls": cls}
    args = ", ".join(names)
    twin = _twin(cls, names)
    if twin is not None:
        space["twin"] = twin
        body = "".join(f"    made.{name} = {name}\n" for name in names)
        source = f"def make({args}):\n    made = new(twin)\n{body}    made.__class__ = cls\n"
    else:
        for i, slot in enumerate(slots):
            space[f"set_{i}"] = slot.__set__
        body = "".join(f"    set_{i}(made, {name})\n" for i, name in enumerate(names))
        source = f"def make({args}):\n    made = new(cls)\n{body}"
    exec(source + "    return made\n", space)
    made: Callable[..., T] = space["make"]
    made.__name__ = f"make_{cls.__name__}"
    return made


def _twin(cls: type, names: tuple[str, ...]) -> type | None:
    """A plain class with ``cls``'s slots, whose instances may become ``cls``
    instances by ``__class__`` assignment; None if ``cls`` is not such a class."""
    if cls.__bases__ != (object,) or tuple(getattr(cls, "__slots__", ())) != names:
        return None
    twin = type(f"_{cls.__name__}Twin", (), {"__slots__": names})
    try:  # the interpreter checks that the layouts agree
        probe: Any = object.__new__(twin)
        for name in names:
            setattr(probe, name, None)
        probe.__class__ = cls
    except TypeError:
        return None
    return twin

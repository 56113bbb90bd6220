"""The error summary: how often each type of error happened, and where.

An error type is the exception class named in a record (``java.io.IOException``,
``ValueError``) when there is one, else the template of an error-level record.
At most ``max_types`` types are kept; later new types are counted under
:data:`OTHER` so that a flood of unique messages cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..records import Match, Record

__all__ = ["MAX_TYPE_CHARS", "OTHER", "ErrorStat", "ErrorSummary"]

OTHER = "(other error types)"
MAX_TYPE_CHARS = 300


@dataclass(slots=True)
class ErrorStat:
    """Counts of one error type (also the delta of one batch, for the store)."""

    error_type: str
    count: int
    first_seen: float
    last_seen: float
    example: str
    source: str


class ErrorSummary:
    """Error counts by type, bounded.

    >>> from logmonitor.records import LogLine, Match, Record
    >>> line = LogLine("a.log", "a.log", "x", 0, 0, 1, 5.0)
    >>> summary = ErrorSummary()
    >>> _ = summary.update([Record(line, "boom", level="error")], [Match(1, "boom", "created")])
    >>> summary.counts()
    {'boom': 1}
    """

    def __init__(self, max_types: int = 10_000) -> None:
        self.max_types = max_types
        self._stats: dict[str, ErrorStat] = {}

    def update(self, records: Sequence[Record], matches: Sequence[Match]) -> list[ErrorStat]:
        """Count a batch; return this batch's increments by type."""
        deltas: dict[str, ErrorStat] = {}
        added = 0  # types new in this batch: they count towards max_types at once
        for record, match in zip(records, matches, strict=True):
            kind = record.error_type
            if kind is None:
                if not record.is_error:
                    continue
                kind = match.template
                if len(kind) > MAX_TYPE_CHARS:
                    # A template of a huge line (a package list, a dump) names its type
                    # by its start; the example keeps the whole line.
                    kind = kind[: MAX_TYPE_CHARS - 1] + "…"
            if kind not in self._stats and kind not in deltas:
                if len(self._stats) + added >= self.max_types:
                    kind = OTHER
                else:
                    added += 1
            t = record.timestamp if record.timestamp is not None else record.line.read_at
            delta = deltas.get(kind)
            if delta is None:
                deltas[kind] = ErrorStat(kind, 1, t, t, record.line.text[:2000], record.line.source)
            else:
                delta.count += 1
                delta.last_seen = max(delta.last_seen, t)
        for delta in deltas.values():
            self._merge(delta)
        return list(deltas.values())

    def _merge(self, delta: ErrorStat) -> None:
        known = self._stats.get(delta.error_type)
        if known is None:
            self._stats[delta.error_type] = ErrorStat(
                delta.error_type, delta.count, delta.first_seen, delta.last_seen,
                delta.example, delta.source,
            )  # fmt: skip
        else:
            known.count += delta.count
            known.first_seen = min(known.first_seen, delta.first_seen)
            known.last_seen = max(known.last_seen, delta.last_seen)
            known.example, known.source = delta.example, delta.source

    def load(self, stats: Iterable[ErrorStat]) -> None:
        """Restore counts saved by an earlier run."""
        for stat in stats:
            self._merge(stat)

    def counts(self) -> dict[str, int]:
        return {kind: stat.count for kind, stat in self._stats.items()}

    def top(self, n: int = 10) -> list[ErrorStat]:
        return sorted(self._stats.values(), key=lambda s: (-s.count, s.error_type))[:n]

    def __len__(self) -> int:
        return len(self._stats)

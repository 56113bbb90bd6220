"""The error summary: how often each type of error happened, and where.

An error type is the exception class named in a record (``java.io.IOException``,
``ValueError``) when there is one, else the template of an error-level record.
At most ``max_types`` types are kept; later new types are counted under
:data:`OTHER` so that a flood of unique messages cannot exhaust memory.

Besides the counts (which the state file keeps across restarts), each type
remembers the files it was seen in (the ``max_files`` most recent) and a trend:
its count in each of the last ``trend_buckets`` buckets of ``bucket_seconds``,
ending with the bucket of the newest error seen (so a replayed old log has a
trend too). Those two live in memory only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..records import Match, Record

__all__ = ["MAX_TYPE_CHARS", "OTHER", "ErrorStat", "ErrorSummary", "ErrorTypeSummary"]

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


@dataclass(frozen=True, slots=True)
class ErrorTypeSummary:
    """One line of :meth:`LogMonitor.summary`: an error type and its story."""

    error_type: str
    count: int
    first_seen: float
    last_seen: float
    files: tuple[str, ...]
    example: str
    trend: tuple[int, ...]  # counts per bucket, oldest first, the newest bucket last

    def to_dict(self) -> dict[str, object]:
        return {
            "error_type": self.error_type,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "files": list(self.files),
            "example": self.example,
            "trend": list(self.trend),
        }


@dataclass(slots=True)
class _Recent:
    files: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    buckets: dict[int, int] = field(default_factory=dict)


class ErrorSummary:
    """Error counts by type, bounded.

    >>> from logmonitor.records import LogLine, Match, Record
    >>> line = LogLine("a.log", "a.log", "x", 0, 0, 1, 5.0)
    >>> summary = ErrorSummary()
    >>> _ = summary.update([Record(line, "boom", level="error")], [Match(1, "boom", "created")])
    >>> summary.counts()
    {'boom': 1}
    """

    def __init__(
        self,
        max_types: int = 10_000,
        bucket_seconds: float = 60.0,
        trend_buckets: int = 10,
        max_files: int = 10,
    ) -> None:
        self.max_types = max_types
        self.bucket_seconds = bucket_seconds
        self.trend_buckets = trend_buckets
        self.max_files = max_files
        self._stats: dict[str, ErrorStat] = {}
        self._recent: dict[str, _Recent] = {}
        self._newest = 0  # the bucket of the newest error seen

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
            self._remember(kind, record.line.source, t)
            delta = deltas.get(kind)
            if delta is None:
                deltas[kind] = ErrorStat(kind, 1, t, t, record.line.text[:2000], record.line.source)
            else:
                delta.count += 1
                delta.last_seen = max(delta.last_seen, t)
        for delta in deltas.values():
            self._merge(delta)
        return list(deltas.values())

    def _remember(self, kind: str, source: str, t: float) -> None:
        recent = self._recent.get(kind)
        if recent is None:
            recent = self._recent[kind] = _Recent()
        files = recent.files
        if source in files:
            del files[source]  # move to the end: the most recent
        elif len(files) >= self.max_files:
            del files[next(iter(files))]
        files[source] = None
        bucket = int(t // self.bucket_seconds)
        recent.buckets[bucket] = recent.buckets.get(bucket, 0) + 1
        self._newest = max(self._newest, bucket)
        oldest = self._newest - self.trend_buckets + 1
        if len(recent.buckets) > self.trend_buckets:
            for old in [b for b in recent.buckets if b < oldest]:
                del recent.buckets[old]

    def report(self, n: int | None = None) -> list[ErrorTypeSummary]:
        """The ``n`` most frequent types (all by default), with files and trend."""
        oldest = self._newest - self.trend_buckets + 1
        out = []
        for stat in self.top(len(self._stats) if n is None else n):
            recent = self._recent.get(stat.error_type, _Recent())
            files = tuple(reversed(recent.files)) or (stat.source,)
            trend = tuple(recent.buckets.get(b, 0) for b in range(oldest, self._newest + 1))
            out.append(
                ErrorTypeSummary(
                    error_type=stat.error_type,
                    count=stat.count,
                    first_seen=stat.first_seen,
                    last_seen=stat.last_seen,
                    files=files,
                    example=stat.example,
                    trend=trend,
                )
            )
        return out

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

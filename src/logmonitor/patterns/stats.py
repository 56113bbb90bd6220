"""Per-template counts for the "what is in these logs" views (API, dashboard).

Counted from closed windows, which already hold each template's count: one dict
update per template per window instead of one per line. Bounded: at most
``max_templates`` rows; past that the least recently seen row is dropped (it
starts again from zero if its template comes back). Saves to plain JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import StateError
from ..records import Window

__all__ = ["TemplateStat", "TemplateStats"]

_STATE_VERSION = 1
_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class TemplateStat:
    """One template: how often and when it was seen, with example lines."""

    template_id: int
    template: str
    count: int
    first_seen: float
    last_seen: float
    examples: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "template_id": self.template_id, "template": self.template, "count": self.count,
            "first_seen": self.first_seen, "last_seen": self.last_seen,
            "examples": list(self.examples),
        }  # fmt: skip


class TemplateStats:
    """Counts, first and last seen, and a few examples per template id.

    >>> from logmonitor.records import Sample, Window
    >>> stats = TemplateStats()
    >>> stats.update([Window("a", 0.0, 60.0, ((1, 5),), 5, 0, samples=(Sample("a", 3, "x 1", 1),))])
    >>> [(s.template_id, s.count, s.examples) for s in stats.rows(10, lambda t: "x <*>")]
    [(1, 5, ('x 1',))]
    """

    def __init__(self, max_templates: int = 10_000) -> None:
        self.max_templates = max_templates
        # id -> [count, first seen, last seen, examples]; insertion order = recency
        self._rows: dict[int, list[Any]] = {}

    def update(self, windows: Iterable[Window]) -> None:
        rows = self._rows
        for window in windows:
            for template_id, count in window.counts:
                row = rows.pop(template_id, None)
                if row is None:
                    row = [0, window.start, window.end, []]
                row[0] += count
                row[1] = min(row[1], window.start)
                row[2] = max(row[2], window.end)
                rows[template_id] = row  # most recent last
            for sample in window.samples:
                row = rows.get(sample.template_id)
                if row is not None and len(row[3]) < _EXAMPLES and sample.text not in row[3]:
                    row[3].append(sample.text[:500])
        while len(rows) > self.max_templates:
            del rows[next(iter(rows))]

    def rows(self, limit: int, template_text: Callable[[int], str | None]) -> list[TemplateStat]:
        """The ``limit`` most frequent templates (merged ids resolved by the caller's
        ``template_text``; rows of templates the miner forgot are skipped)."""
        out = []
        for template_id, (count, first, last, examples) in self._rows.items():
            text = template_text(template_id)
            if text is not None:
                out.append(TemplateStat(template_id, text, count, first, last, tuple(examples)))
        out.sort(key=lambda s: (-s.count, s.template_id))
        return out[:limit]

    def __len__(self) -> int:
        return len(self._rows)

    def to_state(self) -> dict[str, Any]:
        return {"version": _STATE_VERSION, "rows": [[t, *row] for t, row in self._rows.items()]}

    def restore(self, state: Mapping[str, Any] | None) -> None:
        if state is None:
            return
        if state.get("version") != _STATE_VERSION:
            raise StateError(f"saved template counts have version {state.get('version')!r}")
        try:
            for template_id, count, first, last, examples in state["rows"]:
                self._rows[int(template_id)] = [
                    int(count),
                    float(first),
                    float(last),
                    [str(e) for e in examples],
                ]
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"saved template counts are malformed ({exc!r})") from None

"""What is in these logs: the templates of whole files, with counts and examples.

The quick look of ``logmonitor patterns FILE...`` (like lnav's, but from the
learned templates). Files are read with the same tailer, parser and miner as the
monitor, from their start, so what it shows is what the monitor would learn.

>>> import tempfile, os
>>> from logmonitor.patterns.miner import Drain3Miner
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = os.path.join(tmp, "app.log")
...     with open(path, "w") as f:
...         _ = f.write("took 12 ms\\ntook 15 ms\\ndisk full\\n")
...     inventory = Inventory(Drain3Miner())
...     inventory.add_file(path)
...     [(row.count, row.template) for row in inventory.rows()]
[(2, 'took <NUM> ms'), (1, 'disk full')]
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..clock import Clock, SystemClock
from ..parse.custom import parser_for
from ..parse.formats import LineParser
from ..parse.multiline import MultilineJoiner
from ..records import Record
from ..sources.tail import Tailer, TailSettings
from .miner import Miner

__all__ = ["Inventory", "PatternRow"]


@dataclass(frozen=True, slots=True)
class PatternRow:
    """One template of the inventory."""

    template_id: int
    template: str
    count: int
    example: str
    path: str
    line_number: int

    def to_dict(self) -> dict[str, object]:
        return {
            "template_id": self.template_id,
            "template": self.template,
            "count": self.count,
            "example": self.example,
            "path": self.path,
            "line_number": self.line_number,
        }


class Inventory:
    """Mines whole files and remembers each record's template.

    Memory: one 4-byte template id per record (for ``per_line``), plus the miner
    (bounded by its ``max_templates``).
    """

    def __init__(
        self,
        miner: Miner,
        clock: Clock | None = None,
        formats: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.miner = miner
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.parser: LineParser = parser_for(formats, self.clock)  # [[formats]] first
        self._counts: dict[int, int] = {}
        self._examples: dict[int, tuple[str, str, int]] = {}
        self._files: dict[str, tuple[array[int], array[int]]] = {}  # line numbers, ids

    def add_file(self, path: str, progress: Callable[[int], None] | None = None) -> int:
        """Read ``path`` from its start; return its number of records.

        ``progress`` is called with the bytes read after each chunk. Raises
        ``OSError`` when the file cannot be read.
        """
        path = os.path.abspath(path)
        with open(path, "rb"):  # fail early, with the OS's reason, on unreadable files
            pass
        tailer = Tailer(TailSettings(paths=(path,), from_beginning=True), self.clock)
        numbers: array[int] = array("q")
        ids: array[int] = array("q")
        self._files[path] = (numbers, ids)
        # Whole stack traces are one record; the bounds only guard memory against
        # a pathological file (a record's lines past them get no row).
        joiner = MultilineJoiner(max_lines=100_000, max_bytes=16 << 20)
        now = self.clock.now()
        try:
            tailer.scan()
            for source in tailer.sources():
                while (chunk := tailer.read(source)) is not None:
                    parsed = self.parser.parse_batch(chunk.lines)
                    self._mine(joiner.feed(parsed, now), numbers, ids)
                    if progress is not None:
                        progress(chunk.bytes_read)
            self._mine(joiner.flush_all(), numbers, ids)
        finally:
            tailer.close()
        return len(ids)

    def _mine(self, records: Sequence[Record], numbers: array[int], ids: array[int]) -> None:
        for record, match in zip(records, self.miner.add_batch(records), strict=True):
            tid = match.template_id
            self._counts[tid] = self._counts.get(tid, 0) + 1
            line = record.line
            if tid not in self._examples:
                self._examples[tid] = (line.text[:500], line.path, line.line_number)
            # A multi-line record (a stack trace) gives its template to each line.
            for offset in range(line.text.count("\n") + 1):
                numbers.append(line.line_number + offset)
                ids.append(tid)

    @property
    def files(self) -> list[str]:
        return list(self._files)

    def _resolve(self, template_id: int) -> int:
        resolve: Callable[[int], int] | None = getattr(self.miner, "resolve", None)
        return template_id if resolve is None else resolve(template_id)

    def _text(self, template_id: int) -> str:
        return self.miner.template(template_id) or f"<template {template_id}>"

    def rows(self) -> list[PatternRow]:
        """Templates by count, most frequent first (merged templates counted once)."""
        counts: dict[int, int] = {}
        first: dict[int, tuple[str, str, int]] = {}
        for tid, count in self._counts.items():
            final = self._resolve(tid)
            counts[final] = counts.get(final, 0) + count
            first.setdefault(final, self._examples[tid])
        return [
            PatternRow(tid, self._text(tid), count, *first[tid])
            for tid, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]

    def per_line(self, path: str) -> Iterator[tuple[int, int, str]]:
        """``(line_number, template_id, template)`` for each record of ``path``,
        with the template each id has at the end (after the whole input was seen)."""
        numbers, ids = self._files[os.path.abspath(path)]
        texts: dict[int, str] = {}
        for number, tid in zip(numbers, ids, strict=True):
            final = self._resolve(tid)
            text = texts.get(final)
            if text is None:
                text = texts[final] = self._text(final)
            yield number, final, text

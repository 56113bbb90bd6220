"""Tailer throughput: lines/s of ``logmonitor.sources.tail.Tailer`` against a plain
Python ``for line in f`` loop over the same file (the named peer).

Both read the generated file (see ``_data.py``) from the page cache, best of
``runs``, alternating peer and tailer so both see the same machine state. The
ratio tailer/plain is the number to watch: it is what following files by inode,
with checkpoints, byte offsets and a ``LogLine`` record per line, costs over the
cheapest way Python has to iterate over lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logmonitor.clock import SystemClock
from logmonitor.sources.tail import Tailer, TailSettings

from ._common import Options, format_table, progress
from ._data import ensure_dataset

__all__ = ["run", "table"]


def plain_lines(path: Path) -> int:
    """The peer: text mode, UTF-8, invalid bytes replaced, as the tailer decodes."""
    count = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for _line in handle:
            count += 1
    return count


def tailer_lines(directory: Path) -> int:
    """The tailer alone: one scan, then read every chunk of every stream."""
    tailer = Tailer(TailSettings(paths=(str(directory),), from_beginning=True), SystemClock())
    count = 0
    try:
        for source in sorted(tailer.scan()):
            while (chunk := tailer.read(source)) is not None:
                count += len(chunk.lines)
    finally:
        tailer.close()
    return count


def _warm(path: Path) -> None:
    with open(path, "rb") as handle:
        while handle.read(1 << 24):
            pass


def run(options: Options | None = None) -> dict[str, Any]:
    options = options or Options()
    data = ensure_dataset(options.lines, options.seed)
    _warm(data.path)  # from the page cache for both readers, so neither pays for the disk
    times: dict[str, list[float]] = {"plain": [], "tailer": []}
    counts: dict[str, int] = {}
    readers: dict[str, Callable[[], int]] = {
        "plain": lambda: plain_lines(data.path),
        "tailer": lambda: tailer_lines(data.directory),
    }
    for attempt in range(1, options.runs + 1):
        for name, read in readers.items():
            start = time.perf_counter()
            counts[name] = read()
            times[name].append(time.perf_counter() - start)
            progress(
                f"tail: {name} run {attempt}/{options.runs}: {times[name][-1]:.2f}s, "
                f"{counts[name]:,} lines"
            )
    results: dict[str, dict[str, Any]] = {}
    for name in readers:
        best = min(times[name])
        results[name] = {
            "lines": counts[name],
            "best_seconds": best,
            "all_seconds": times[name],
            "lines_per_second": counts[name] / best,
            "mb_per_second": data.bytes / best / 1e6,
        }
    return {
        "data": data.describe(),
        "runs": options.runs,
        "readers": results,
        "ratio_tailer_over_plain": results["tailer"]["lines_per_second"]
        / results["plain"]["lines_per_second"],
        "lines_match": counts["plain"] == counts["tailer"] == data.lines,
    }


def table(result: dict[str, Any]) -> str:
    data, readers = result["data"], result["readers"]
    labels = {
        "plain": "plain `for line in f` (peer)",
        "tailer": "logmonitor Tailer (scan + read)",
    }
    rows = [
        [
            labels[name],
            r["lines_per_second"],
            r["mb_per_second"],
            r["best_seconds"],
            "1.00" if name == "plain" else f"{result['ratio_tailer_over_plain']:.2f}",
        ]
        for name, r in readers.items()
    ]
    notes = [
        f"ratio tailer/plain: {result['ratio_tailer_over_plain']:.2f} "
        f"(1.00 = as fast as the peer); line counts agree: {result['lines_match']}"
    ]
    return format_table(
        f"tail: {data['lines']:,} lines, {data['bytes'] / 1e6:.0f} MB from {data['origin']}, "
        f"best of {result['runs']}",
        ["reader", "lines/s", "MB/s", "best s", "ratio"],
        rows,
        notes,
    )

"""What every benchmark shares: options, paths, timing, tables, machine info, JSON.

Benchmarks are not tests (STYLE.md, habit 11): they print a table, save JSON and
compare against a named peer measured in the same run; nothing here asserts on time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH_DIR",
    "REPO",
    "RESULTS_DIR",
    "WORK_DIR",
    "Options",
    "format_table",
    "machine_info",
    "percentile",
    "progress",
    "quiet_logmonitor",
    "save_result",
]

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"  # gitignored: generated logs, state files, profiles
RESULTS_DIR = BENCH_DIR / "results"  # results/*.json are gitignored

_STARTED = time.perf_counter()


@dataclass(frozen=True, slots=True)
class Options:
    """Knobs shared by the benchmarks (``python -m bench --help`` lists them)."""

    lines: int = 1_000_000  # size of the generated log file (tail, e2e)
    seed: int = 0  # the generator's seed: same seed, same file
    runs: int = 3  # best of N for the throughput benchmarks that repeat


def progress(message: str) -> None:
    """One line of progress on stderr, stamped with the seconds since start."""
    print(f"[bench {time.perf_counter() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def quiet_logmonitor() -> None:
    """Keep LogMonitor's per-alert warnings off stderr (a replay raises many)."""
    import logging

    logging.getLogger("logmonitor").setLevel(logging.ERROR)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (``q`` in [0, 100]) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))  # ceil(q/100 * n), at least 1
    return ordered[min(rank, len(ordered)) - 1]


def format_table(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], notes: Sequence[str] = ()
) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(len(row))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [title, line(cells[0]), rule, *(line(r) for r in cells[1:])]
    out.extend(notes)
    return "\n".join(out)


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for row in handle:
                if row.startswith("model name"):
                    return row.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """Where and when the numbers were taken, saved beside every result."""
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "git_commit": commit,
        "src_dirty": bool(dirty) if dirty is not None else None,
        "versions": {
            name: _version(name) for name in ("logmonitor", "drain3", "scikit-learn", "numpy")
        },
    }


def save_result(name: str, options: Options, result: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json``: the machine, the options and the result."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {
        "benchmark": name,
        "machine": machine_info(),
        "options": dataclasses.asdict(options),
        "result": result,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path

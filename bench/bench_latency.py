"""Latency: from a line's ``write()`` to the end of the ``process_log_file`` call
that processed it, with a running ``LogMonitor`` (its own background thread).

A writer appends ``lines`` lines at ``rate`` lines/s to a new file in an empty
temporary directory; each line carries its sequence number and its write time
(``bench seq=17 t=12345.678901``, ``time.perf_counter`` of this process). The
monitor is a subclass whose ``process_log_file`` calls ``super()`` first, then
reads ``status().lines``: every line counted since the previous call was
processed by this one, so its latency is now minus its write time (lines are
processed in order, and the writer's list gives each sequence number's time).

Two rows: inotify (the default) and the polling fallback (``inotify=False``,
``poll_interval=1.0``), which can only see new lines at each rescan. The lines
carry no timestamp and no window closes in a 10 s run, so this is the latency
of tail + parse + mine + commit, not of Isolation Forest scoring.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from logmonitor import LogMonitor

from ._common import WORK_DIR, Options, format_table, percentile, progress

__all__ = ["run", "table"]

LINES = 1000
RATE = 100.0  # lines per second
DRAIN_TIMEOUT = 15.0  # seconds to wait for the last lines after the writer is done


class _Probe(LogMonitor):
    """Records (first line, end line, perf_counter) after each processed batch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marks: list[tuple[int, int, float]] = []
        self.calls = 0
        self.done = threading.Event()
        self.expect = LINES
        self._seen = 0

    def process_log_file(self, filename: str) -> None:
        super().process_log_file(filename)
        now = time.perf_counter()
        self.calls += 1
        total = self.status().lines
        if total > self._seen:
            self.marks.append((self._seen, total, now))
            self._seen = total
            if total >= self.expect:
                self.done.set()


def _measure(mode: str, lines: int, rate: float, **settings: Any) -> dict[str, Any]:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="latency-") as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        monitor = _Probe([str(logs)], 0.5, state=str(Path(tmp) / "state.db"), **settings)
        monitor.expect = lines
        writes: list[float] = []
        with monitor:
            polling = monitor.status().polling
            progress(f"latency: {mode}: writing {lines:,} lines at {rate:g}/s")
            with open(logs / "latency.log", "a", encoding="utf-8") as handle:
                start = time.perf_counter()
                for seq in range(lines):
                    delay = start + seq / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    now = time.perf_counter()
                    handle.write(f"bench seq={seq} t={now:.6f}\n")
                    handle.flush()
                    writes.append(now)
            monitor.done.wait(DRAIN_TIMEOUT)
        latencies: list[float] = []
        for first, end, at in list(monitor.marks):
            latencies.extend((at - writes[seq]) * 1000 for seq in range(first, min(end, lines)))
    return {
        "mode": mode,
        "watcher": "polling" if polling else "inotify",
        "polling": polling,
        "settings": settings,
        "lines_written": lines,
        "lines_seen": len(latencies),
        "hook_calls": monitor.calls,
        "batches": len(monitor.marks),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else float("nan"),
        "mean_ms": sum(latencies) / len(latencies) if latencies else float("nan"),
    }


def run(options: Options | None = None) -> dict[str, Any]:
    del options  # the latency run has its own fixed size: LINES at RATE
    rows = [
        _measure("inotify (default)", LINES, RATE),
        _measure("polling (inotify=False, poll_interval=1.0)", LINES, RATE,
                 inotify=False, poll_interval=1.0),
    ]  # fmt: skip
    for row in rows:
        progress(f"latency: {row['mode']}: p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms")
    return {"lines": LINES, "rate_per_second": RATE, "modes": rows}


def table(result: dict[str, Any]) -> str:
    rows = [
        [
            m["mode"], m["watcher"], f"{m['lines_seen']:,}/{m['lines_written']:,}",
            m["p50_ms"], m["p99_ms"], m["max_ms"], m["batches"],
        ]
        for m in result["modes"]
    ]  # fmt: skip
    return format_table(
        f"latency: write() -> processed, {result['lines']:,} lines at "
        f"{result['rate_per_second']:g} lines/s",
        ["mode", "watcher used", "lines", "p50 ms", "p99 ms", "max ms", "batches"],
        rows,
        ["watcher used: monitor.status().polling while running"],
    )

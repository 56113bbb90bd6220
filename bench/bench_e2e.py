"""End-to-end throughput: ``LogMonitor.process_log_file`` over the generated file,
and where the time goes.

* **end-to-end**: ``LogMonitor([dir], 0.5, from_beginning=True, state=<temp sqlite>)``
  and one synchronous ``process_log_file(path)`` call (no thread): tail, parse,
  mine, window, score, alert and commit every chunk. It runs in a child process,
  so its peak RSS (``VmHWM``, or ``getrusage`` where there is no ``/proc``) is its
  own; the baseline is the child's peak after imports, before the monitor is built.
* **split**: in this process, the same lines read by a fresh ``Tailer``, then
  ``LineParser.parse_batch`` and ``TemplateMiner.add_batch`` on each chunk, each
  timed alone, so the table can say which stage the end-to-end time goes to.
  What the three do not cover (windows, error summary, Isolation Forest, SQLite
  commits, and the child's own noise) is shown by difference.

``python -m bench.bench_e2e --profile`` runs the end-to-end case under cProfile
instead, prints the top functions and saves ``bench/.work/e2e.prof``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._common import REPO, WORK_DIR, Options, format_table, progress, quiet_logmonitor
from ._data import ensure_dataset

__all__ = ["run", "table"]


def _peak_rss_mib() -> float:
    """This process's peak RSS so far.

    Linux's ``VmHWM`` is the high-water mark of this process's own memory map.
    ``getrusage``'s ``ru_maxrss`` is not: it survives ``execve``, so a child
    started by a big parent would report the parent's size. It is the fallback
    elsewhere (macOS reports it in bytes, Linux in KiB).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for row in handle:
                if row.startswith("VmHWM:"):
                    return int(row.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def _end_to_end(directory: str, path: str, state: str) -> dict[str, Any]:
    """The measured run; called in the child process."""
    quiet_logmonitor()
    from logmonitor import LogMonitor

    baseline = _peak_rss_mib()
    monitor = LogMonitor([directory], 0.5, from_beginning=True, state=state)
    start = time.perf_counter()
    monitor.process_log_file(path)
    seconds = time.perf_counter() - start
    status = monitor.status()
    peak = _peak_rss_mib()
    monitor.stop()
    return {
        "lines": status.lines,
        "seconds": seconds,
        "lines_per_second": status.lines / seconds,
        "peak_rss_mib": peak,
        "baseline_rss_mib": baseline,
        "templates": status.templates,
        "windows_learned": status.windows_learned,
        "windows_scored": status.windows_scored,
        "alerts": status.alerts,
        "model_ready": status.model_ready,
    }


def _child(directory: Path, path: Path) -> dict[str, Any]:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="e2e-state-") as tmp:
        done = subprocess.run(
            [
                sys.executable, "-m", "bench.bench_e2e", "--child",
                str(directory), str(path), str(Path(tmp) / "state.db"),
            ],
            cwd=REPO, capture_output=True, text=True, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the end-to-end child failed ({done.returncode}):\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _split(directory: Path) -> dict[str, Any]:
    """Tail, parse and mine the same lines, timing each stage alone."""
    from logmonitor.clock import SystemClock
    from logmonitor.parse.formats import LineParser
    from logmonitor.patterns.miner import TemplateMiner
    from logmonitor.sources.tail import Tailer, TailSettings

    clock = SystemClock()
    tailer = Tailer(TailSettings(paths=(str(directory),), from_beginning=True), clock)
    parser = LineParser(clock)
    miner = TemplateMiner()
    spent = {"tail": 0.0, "parse": 0.0, "mine": 0.0}
    lines = 0
    try:
        for source in sorted(tailer.scan()):
            while True:
                t0 = time.perf_counter()
                chunk = tailer.read(source)
                t1 = time.perf_counter()
                spent["tail"] += t1 - t0
                if chunk is None:
                    break
                records = parser.parse_batch(chunk.lines)
                t2 = time.perf_counter()
                miner.add_batch(records)
                t3 = time.perf_counter()
                spent["parse"] += t2 - t1
                spent["mine"] += t3 - t2
                lines += len(chunk.lines)
                if lines % 200_000 < len(chunk.lines):
                    progress(f"e2e: split pass at {lines:,} lines")
    finally:
        tailer.close()
    return {
        "lines": lines,
        "templates": len(miner),
        "stages": {
            name: {"seconds": s, "lines_per_second": lines / s if s else float("nan")}
            for name, s in spent.items()
        },
    }


def run(options: Options | None = None) -> dict[str, Any]:
    options = options or Options()
    data = ensure_dataset(options.lines, options.seed)
    progress(f"e2e: LogMonitor.process_log_file over {data.lines:,} lines (child process)")
    e2e = _child(data.directory, data.path)
    progress(f"e2e: {e2e['seconds']:.1f}s, {e2e['lines_per_second']:,.0f} lines/s")
    progress("e2e: split pass (Tailer.read, LineParser.parse_batch, TemplateMiner.add_batch)")
    split = _split(data.directory)
    covered = sum(s["seconds"] for s in split["stages"].values())
    return {
        "data": data.describe(),
        "end_to_end": e2e,
        "split": split,
        "other_seconds_by_difference": e2e["seconds"] - covered,
    }


def table(result: dict[str, Any]) -> str:
    data, e2e, split = result["data"], result["end_to_end"], result["split"]
    total = e2e["seconds"]
    labels = {
        "tail": "tail only (Tailer.read)",
        "parse": "parse only (LineParser.parse_batch)",
        "mine": "mine only (TemplateMiner.add_batch)",
    }
    rows: list[list[object]] = [
        ["end-to-end (process_log_file)", e2e["lines_per_second"], total, "100%"]
    ]
    for name, stage in split["stages"].items():
        rows.append(
            [labels[name], stage["lines_per_second"], stage["seconds"],
             f"{100 * stage['seconds'] / total:.0f}%"]
        )  # fmt: skip
    other = result["other_seconds_by_difference"]
    rows.append(
        ["other, by difference (windows, detect, store)", "", other, f"{100 * other / total:.0f}%"]
    )
    notes = [
        f"peak RSS of the end-to-end child: {e2e['peak_rss_mib']:.0f} MiB "
        f"(after imports: {e2e['baseline_rss_mib']:.0f} MiB, "
        f"so +{e2e['peak_rss_mib'] - e2e['baseline_rss_mib']:.0f} MiB for the run)",
        f"end-to-end state: {e2e['lines']:,} lines, {e2e['templates']:,} templates, "
        f"{e2e['windows_learned'] + e2e['windows_scored']:,} windows closed "
        f"({e2e['windows_scored']:,} scored), {e2e['alerts']:,} alerts",
    ]
    return format_table(
        f"e2e: {data['lines']:,} lines, {data['bytes'] / 1e6:.0f} MB from {data['origin']}, "
        "one run each",
        ["stage", "lines/s", "seconds", "share of e2e"],
        rows,
        notes,
    )


def _profile(options: Options, top: int) -> None:
    """cProfile of the end-to-end run, in this process."""
    import cProfile
    import pstats

    quiet_logmonitor()
    from logmonitor import LogMonitor

    data = ensure_dataset(options.lines, options.seed)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    out = WORK_DIR / "e2e.prof"
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="e2e-state-") as tmp:
        monitor = LogMonitor(
            [str(data.directory)], 0.5, from_beginning=True, state=str(Path(tmp) / "state.db")
        )
        progress(f"profiling process_log_file over {data.lines:,} lines")
        profiler = cProfile.Profile()
        profiler.enable()
        monitor.process_log_file(str(data.path))
        profiler.disable()
        monitor.stop()
    profiler.dump_stats(out)
    stats = pstats.Stats(str(out), stream=sys.stdout).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(f"saved {out}; explore with: python -m pstats {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_e2e", description=__doc__)
    parser.add_argument("--child", nargs=3, metavar=("DIR", "FILE", "STATE"), help="internal")
    parser.add_argument("--profile", action="store_true", help="run under cProfile")
    parser.add_argument("--lines", type=int, default=Options().lines)
    parser.add_argument("--seed", type=int, default=Options().seed)
    parser.add_argument("--top", type=int, default=15, help="functions to list (--profile)")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_end_to_end(*args.child)))
        return 0
    options = Options(lines=args.lines, seed=args.seed)
    if args.profile:
        _profile(options, args.top)
        return 0
    print(table(run(options)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m bench [name ...]``: run the benchmarks, print a table for each, save JSON.

With no names every benchmark runs, in the order of :data:`BENCHMARKS`. Progress
goes to stderr, the tables to stdout, the results to ``bench/results/<name>.json``
(with the machine: Python version, CPU count, date, commit).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from ._common import REPO, Options, progress, quiet_logmonitor, save_result

# name -> what it measures; the module is bench/bench_<name>.py
BENCHMARKS: dict[str, str] = {
    "tail": "Tailer lines/s against a plain `for line in f` loop (ratio)",
    "e2e": "LogMonitor.process_log_file lines/s, parse/mine split, peak RSS",
    "latency": "write -> processed latency, inotify and polling",
    "parsing": "GA / PA / FGA per loghub-2k system, LogMonitor's miner beside Drain3",
    "miner_speed": "parse + mine lines/s and peak RSS against Drain3 (ratio), growing templates",
    "detection": "P/R/F1/ROC-AUC on labeled HDFS sessions and BGL, LogMonitor beside loglizer's IF",
    "incidents": "detection delay per injected incident, false alerts/h, loglizer IF beside",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run LogMonitor's benchmarks; tables on stdout, JSON in bench/results/.",
        epilog="benchmarks: " + "; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()),
    )
    parser.add_argument("names", nargs="*", metavar="name", help="benchmarks to run (default all)")
    defaults = Options()
    parser.add_argument(
        "--lines", type=int, default=defaults.lines, help="lines in the generated file"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="the generator's seed")
    parser.add_argument(
        "--runs", type=int, default=defaults.runs, help="best of N where a benchmark repeats"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.lines < 1 or args.runs < 1:
        parser.error("--lines and --runs must be at least 1")
    options = Options(lines=args.lines, seed=args.seed, runs=args.runs)
    names = list(dict.fromkeys(args.names)) or list(BENCHMARKS)
    quiet_logmonitor()
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        progress(f"{name}: start")
        result = module.run(options)
        path = save_result(name, options, result)
        progress(f"{name}: saved {path.relative_to(REPO)}")
        print(module.table(result), end="\n\n", flush=True)
    progress(f"done in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

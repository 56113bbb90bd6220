"""Template-mining speed and memory: LogMonitor's parse + mine beside Drain3, same lines.

Two cases, each miner in its own child process so that its peak RSS (``VmHWM``, as in
``bench_e2e``) is its own; every child imports the same modules first and records its
RSS after imports as the baseline.

* **steady**: the generated file of ``_data.py`` (1,000,000 loghub-2k lines from 16
  systems by default, numbers, hex ids and IPv4 addresses redrawn on every line), read
  in chunks of 10,000 lines. LogMonitor: ``LineParser(SystemClock()).parse_batch``
  then ``add_batch`` of the miner from :func:`bench.bench_parsing.make_logmonitor_miner`
  (``TemplateMiner`` if ``logmonitor.patterns.miner`` has one, else ``Drain3Miner``),
  parse and mine timed separately in the same run. Drain3 (the named peer): default
  ``TemplateMinerConfig`` plus the masking of its ``examples/drain3.ini``
  (:data:`bench.bench_parsing.DRAIN3_EXAMPLE_MASKS`), fed the *message* of each line
  as LogMonitor's parser split it; that parse is done in the Drain3 child too but not
  timed, so Drain3 is timed on mining alone (its best case: it has no header
  detection of its own). Ratios: LogMonitor parse + mine / Drain3, and LogMonitor
  mine only / Drain3.
* **growing templates**: 200,000 lines, the first lines of the same file with every
  10th line replaced by a line of random words (a brand-new template each time:
  20,000 of them), same lines for both. The point is memory: LogMonitor's miner is
  capped (``max_templates``) and evicts, Drain3's default config has no cap
  (``max_clusters = None``). RSS is sampled every 50,000 lines.

One run each (a steady run takes tens of seconds); nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from ._common import REPO, Options, format_table, progress
from ._data import ensure_dataset

__all__ = ["run", "table"]

CHUNK = 10_000
GROWING_LINES = 200_000
GROWING_EVERY = 10  # every 10th line is a brand-new template
GROWING_SAMPLE = 50_000  # RSS sampled every this many lines
GROWING_SEED = 1
MIN_STEADY_LINES = 1_000_000  # the issue asks for at least a million lines


def _status_mib(field: str) -> float | None:
    """A ``/proc/self/status`` memory field (``VmHWM``, ``VmRSS``) in MiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for row in handle:
                if row.startswith(field + ":"):
                    return int(row.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mib() -> float:
    """Peak RSS of this process: ``VmHWM``, or ``getrusage`` where there is no /proc
    (see ``bench_e2e._peak_rss_mib`` for why ``ru_maxrss`` is only the fallback)."""
    peak = _status_mib("VmHWM")
    if peak is not None:
        return peak
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (1 << 20) if sys.platform == "darwin" else usage / 1024


def _rss_mib() -> float:
    rss = _status_mib("VmRSS")
    return rss if rss is not None else float("nan")


def _file_lines(path: str, limit: int) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for n, line in enumerate(handle):
            if n >= limit:
                return
            yield line.rstrip("\n")


def _growing_lines(path: str, total: int) -> Iterator[str]:
    """``total`` lines: the file's, with every ``GROWING_EVERY``-th replaced by random
    words.

    4-40 words of 3-10 lowercase letters: no two such lines share a template, and the
    spread of lengths keeps Drain's length-keyed tree from putting all of them in one
    leaf (which would measure its linear leaf scan, not memory).
    """
    rng = random.Random(GROWING_SEED)
    letters = string.ascii_lowercase
    base = _file_lines(path, total)
    for n in range(total):
        if n % GROWING_EVERY == GROWING_EVERY - 1:
            words = (
                "".join(rng.choices(letters, k=rng.randint(3, 10)))
                for _ in range(rng.randint(4, 40))
            )
            yield " ".join(words)
        else:
            yield next(base)


def _chunks(lines: Iterator[str], path: str) -> Iterator[list[Any]]:
    from logmonitor.records import LogLine

    chunk: list[Any] = []
    offset = 0
    for number, text in enumerate(lines, 1):
        end = offset + len(text) + 1
        chunk.append(LogLine(path, path, text, offset, end, number, 0.0))
        offset = end
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _child(kind: str, case: str, path: str, limit: int) -> dict[str, Any]:
    """The measured run, in a child process: ``kind`` logmonitor|logmonitor-gc|drain3,
    ``case`` steady|growing. ``logmonitor-gc`` is LogMonitor with its collector pause
    (``logmonitor.collector``) made a no-op: the collector runs as it would without it."""
    if kind == "logmonitor-gc":
        import gc

        gc.disable = lambda: None  # the pause's gc.disable(): the collector stays on
        kind = "logmonitor"
    pause_drain3 = kind == "drain3-paused"
    if pause_drain3:
        kind = "drain3"
    # Both children import both miners before the baseline, so baselines compare.
    import drain3  # noqa: F401

    import logmonitor.patterns.miner  # noqa: F401
    from logmonitor.clock import SystemClock
    from logmonitor.parse.formats import LineParser

    from ._common import quiet_logmonitor
    from .bench_parsing import make_drain3, make_logmonitor_miner

    quiet_logmonitor()
    baseline = _peak_rss_mib()
    parser = LineParser(SystemClock())
    lines = _file_lines(path, limit) if case == "steady" else _growing_lines(path, limit)
    spent = {"parse": 0.0, "mine": 0.0}
    samples: list[dict[str, float]] = []
    count = 0
    perf = time.perf_counter
    if kind == "logmonitor":
        miner = make_logmonitor_miner()
        label = type(miner).__name__
        cap = getattr(miner, "max_templates", None)
        size = miner.__len__
        for chunk in _chunks(lines, path):
            t0 = perf()
            records = parser.parse_batch(chunk)
            t1 = perf()
            miner.add_batch(records)
            t2 = perf()
            spent["parse"] += t1 - t0
            spent["mine"] += t2 - t1
            count += len(chunk)
            if case == "growing" and count % GROWING_SAMPLE == 0:
                samples.append({"lines": count, "rss_mib": _rss_mib(), "templates": size()})
    else:
        drain = make_drain3()
        label = "drain3.TemplateMiner"
        cap = drain.config.drain_max_clusters
        clusters = drain.drain.id_to_cluster

        def size() -> int:
            return len(clusters)

        add = drain.add_log_message
        from logmonitor.collector import paused

        for chunk in _chunks(lines, path):
            messages = [r.message for r in parser.parse_batch(chunk)]  # not timed
            t0 = perf()
            # drain3-paused: the pause LogMonitor's stages take, around the same work
            with paused() if pause_drain3 else nullcontext():
                for message in messages:
                    add(message)
            spent["mine"] += perf() - t0
            count += len(chunk)
            if case == "growing" and count % GROWING_SAMPLE == 0:
                samples.append({"lines": count, "rss_mib": _rss_mib(), "templates": size()})
    from logmonitor.compiled import compiled

    return {
        "kind": kind,
        "case": case,
        "compiled": list(compiled()),
        "miner": label,
        "cap": cap,
        "lines": count,
        "parse_seconds": spent["parse"] if kind == "logmonitor" else None,
        "mine_seconds": spent["mine"],
        "templates": size(),
        "peak_rss_mib": _peak_rss_mib(),
        "baseline_rss_mib": baseline,
        "rss_samples": samples,
    }


def _spawn(kind: str, case: str, path: Path, limit: int, pure: bool = False) -> dict[str, Any]:
    """One child run; ``pure`` runs LogMonitor's compiled modules from their Python
    source (``LOGMONITOR_PURE=1``, see ``logmonitor.compiled``)."""
    env = {k: v for k, v in os.environ.items() if k != "LOGMONITOR_PURE"}
    if pure:
        env["LOGMONITOR_PURE"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_miner_speed", "--child", kind, case, str(path),
         str(limit)],
        cwd=REPO, capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} {case} child failed ({done.returncode}):\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _timed(kind: str, case: str, path: Path, limit: int, pure: bool = False) -> dict[str, Any]:
    """A child run (:func:`_spawn`) with its rates: lines/s of parse + mine (mine only
    for Drain3, which has no parse), and of each part."""
    r = _spawn(kind, case, path, limit, pure)
    parse = r["parse_seconds"] or 0.0
    r["lines_per_second"] = r["lines"] / (parse + r["mine_seconds"])
    r["mine_lines_per_second"] = r["lines"] / r["mine_seconds"]
    r["parse_lines_per_second"] = r["lines"] / parse if parse else None
    return r


def run(options: Options | None = None) -> dict[str, Any]:
    options = options or Options()
    data = ensure_dataset(options.lines, options.seed)
    if data.lines < MIN_STEADY_LINES:
        progress(f"miner_speed: only {data.lines:,} lines (--lines); the issue asks for 1M+")
    results: dict[str, Any] = {"data": data.describe(), "chunk_lines": CHUNK}
    for kind in ("logmonitor", "drain3"):
        progress(f"miner_speed: steady, {kind}, {data.lines:,} lines (child process)")
        r = _timed(kind, "steady", data.path, data.lines)
        progress(f"miner_speed: {kind} {r['lines_per_second']:,.0f} lines/s")
        results[f"steady_{kind}"] = r
    lm, d3 = results["steady_logmonitor"], results["steady_drain3"]
    results["ratio_parse_mine_vs_drain3"] = lm["lines_per_second"] / d3["lines_per_second"]
    progress(f"miner_speed: steady, logmonitor as pure Python, {data.lines:,} lines")
    r = results["steady_logmonitor_pure"] = _timed(
        "logmonitor", "steady", data.path, data.lines, pure=True
    )
    results["ratio_pure_vs_drain3"] = r["lines_per_second"] / d3["lines_per_second"]
    progress(f"miner_speed: steady, logmonitor with the collector running, {data.lines:,} lines")
    results["steady_logmonitor_gc"] = _timed("logmonitor-gc", "steady", data.path, data.lines)
    progress(f"miner_speed: steady, drain3 with the collector paused, {data.lines:,} lines")
    r = results["steady_drain3_paused"] = _timed("drain3-paused", "steady", data.path, data.lines)
    results["ratio_parse_mine_vs_drain3_paused"] = lm["lines_per_second"] / r["lines_per_second"]
    results["ratio_mine_vs_drain3"] = lm["mine_lines_per_second"] / d3["lines_per_second"]
    growing_lines = min(GROWING_LINES, data.lines)
    for kind in ("logmonitor", "drain3"):
        progress(f"miner_speed: growing templates, {kind}, {growing_lines:,} lines (child)")
        results[f"growing_{kind}"] = _timed(kind, "growing", data.path, growing_lines)
    results["growing"] = {
        "lines": growing_lines,
        "every": GROWING_EVERY,
        "new_templates": growing_lines // GROWING_EVERY,
        "seed": GROWING_SEED,
    }
    return results


def table(result: dict[str, Any]) -> str:
    data = result["data"]
    lm, d3 = result["steady_logmonitor"], result["steady_drain3"]
    name = f"LogMonitor {lm['miner']}"

    def own(r: dict[str, Any]) -> float:
        return float(r["peak_rss_mib"] - r["baseline_rss_mib"])

    def row(label: str, r: dict[str, Any]) -> list[object]:
        seconds = (r["parse_seconds"] or 0.0) + r["mine_seconds"]
        return [label, r["lines_per_second"], seconds, r["peak_rss_mib"], own(r), r["templates"]]

    parse_s, mine_s = lm["parse_seconds"], lm["mine_seconds"]
    rows: list[list[object]] = [
        row(f"{name}: parse + mine", lm),
        [f"  of which mine only ({lm['miner']}.add_batch)", lm["mine_lines_per_second"],
         mine_s, "", "", ""],
        ["  of which parse only (LineParser.parse_batch)", lm["parse_lines_per_second"],
         parse_s, "", "", ""],
    ]  # fmt: skip
    for key, label in (
        ("steady_logmonitor_pure", f"{name}: parse + mine, as pure Python (LOGMONITOR_PURE=1)"),
        ("steady_logmonitor_gc", f"{name}: parse + mine, collector not paused"),
        ("steady_drain3", "Drain3 (peer): mine only, fed LineParser's messages"),
        ("steady_drain3_paused", "Drain3, its loop run with the collector paused"),
    ):
        if key in result:
            rows.append(row(label, result[key]))
    steady = format_table(
        f"miner_speed: {lm['lines']:,} lines, {data['bytes'] / 1e6:.0f} MB from "
        f"{data['origin']} (values redrawn), chunks of {result['chunk_lines']:,}, "
        "one run each, each in a child process",
        ["run", "lines/s", "seconds", "peak RSS MiB", "run's own MiB", "templates"],
        rows,
        [
            "LogMonitor's parser and miner modules compiled with mypyc (make does it "
            "when a C compiler is present): "
            + (", ".join(lm.get("compiled", [])) or "none, all ran as Python"),
            f"ratio {name} parse + mine / Drain3 mine: "
            f"{result['ratio_parse_mine_vs_drain3']:.2f}x (issue target: >= 5x); "
            f"mine only / Drain3: {result['ratio_mine_vs_drain3']:.2f}x; "
            f"parse alone / Drain3: {lm['parse_lines_per_second'] / d3['lines_per_second']:.2f}x "
            "(the ceiling of the first ratio with an instant miner)"
            + (
                f"; as pure Python: {result['ratio_pure_vs_drain3']:.2f}x"
                if "ratio_pure_vs_drain3" in result
                else ""
            ),
            "Drain3 = TemplateMinerConfig() defaults + examples/drain3.ini masking; its "
            "input is the message LogMonitor's LineParser split off, parsed untimed in "
            "its child",
            "LogMonitor pauses Python's cyclic collector while a batch is parsed or "
            "mined (logmonitor.collector); 'collector not paused' is the same code with "
            "the pause made a no-op, and Drain3's loop gets the same pause in the last "
            "row (ratio against it: "
            f"{result.get('ratio_parse_mine_vs_drain3_paused', float('nan')):.2f}x)",
            "run's own MiB = peak RSS minus the child's RSS after imports "
            f"(LogMonitor {lm['baseline_rss_mib']:.0f} MiB, Drain3 "
            f"{d3['baseline_rss_mib']:.0f} MiB)",
        ],
    )
    grow = result["growing"]
    samples_at = [s["lines"] for s in result["growing_logmonitor"]["rss_samples"]]
    rows = []
    for kind, label in (("logmonitor", name), ("drain3", "Drain3 (peer)")):
        r = result[f"growing_{kind}"]
        by_line = {s["lines"]: s["rss_mib"] for s in r["rss_samples"]}
        rows.append(
            [label, "none" if r["cap"] is None else r["cap"], r["templates"],
             r["peak_rss_mib"], own(r), *(by_line.get(n, float("nan")) for n in samples_at),
             r["lines_per_second"]]
        )  # fmt: skip
    growing = format_table(
        f"miner_speed, growing templates: {grow['lines']:,} lines, every "
        f"{grow['every']}th a new template of random words ({grow['new_templates']:,} new)",
        [
            "miner",
            "cap",
            "templates",
            "peak RSS MiB",
            "run's own MiB",
            *(f"RSS @{n // 1000}k" for n in samples_at),
            "lines/s",
        ],
        rows,
        [
            "cap = max_templates (LogMonitor) / drain_max_clusters (Drain3, None by default); "
            "RSS @N = the child's resident MiB after N lines"
        ],
    )
    return steady + "\n\n" + growing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_miner_speed", description=__doc__)
    parser.add_argument(
        "--child", nargs=4, metavar=("KIND", "CASE", "FILE", "LINES"), help="internal"
    )
    parser.add_argument("--lines", type=int, default=Options().lines)
    parser.add_argument("--seed", type=int, default=Options().seed)
    args = parser.parse_args(argv)
    if args.child:
        kind, case, path, limit = args.child
        print(json.dumps(_child(kind, case, path, int(limit))))
        return 0
    print(table(run(Options(lines=args.lines, seed=args.seed))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Anomaly detection quality on labeled logs: LogMonitor beside a loglizer baseline.

Data sets (``../shared/data``):

* **hdfs-sessions**: ``HDFS.log`` (427k lines) with ``anomaly_label.csv``, session
  windows keyed by ``blk_-?\\d+`` (the issue's F1 targets: >= 0.90 unsupervised,
  >= 0.95 with the first 30 % declared normal);
* **HDFS_20000**: the first 20,000 lines of Loghub HDFS_v1 with
  ``HDFS_100k.block_labels.csv`` (its sessions are mostly cut off by the end of
  the file, so many anomalies are not visible in it);
* **BGL_2k**: ``loghub-2k/BGL/BGL_2k.log``, 1-hour windows, a window anomalous when
  it holds an alert line (2,000 lines over seven months: a few lines per window).

Methods, each in this process on the same lines:

* **LogMonitor**: :func:`logmonitor.evaluate.evaluate` with the default ensemble,
  unsupervised and streaming (every window scored with what came before it);
* **LogMonitor 30% train**: the same with ``train_fraction=0.3`` (the first 30 % by
  time learned as normal, not scored);
* **loglizer IF** (the named peer): scikit-learn ``IsolationForest`` (default
  ``contamination``, seed 0) on raw event-count vectors per window, fitted on the
  first 50 % of the windows (by closing time, labels not used) and evaluated on
  the rest, as loglizer's IsolationForest demo does. Its event ids are LogMonitor's
  templates of the same run (loglizer uses Drain's), so only the detector differs.

Reported: precision, recall, F1 at ``alert_threshold`` 0.5 (the baseline: its own
``predict``), ROC-AUC, and LogMonitor's threshold sweep 0.4-0.7.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from logmonitor.evaluate import EvaluationResult, evaluate
from logmonitor.records import Window

from ._common import Options, format_table, progress
from ._data import LOGHUB

__all__ = ["DATASETS", "THRESHOLDS", "loglizer_baseline", "run", "table"]

SHARED = LOGHUB.parent  # ../shared/data
THRESHOLDS = (0.4, 0.5, 0.6, 0.7)
DATASETS: dict[str, dict[str, Any]] = {
    "hdfs-sessions": {
        "log": "hdfs-sessions/HDFS.log",
        "labels": "hdfs-sessions/anomaly_label.csv",
        "session_id": r"blk_-?\d+",
    },
    "HDFS_20000": {
        "log": "hdfs/HDFS_20000.log",
        "labels": "hdfs/HDFS_100k.block_labels.csv",
        "session_id": r"blk_-?\d+",
    },
    "BGL_2k": {"log": "loghub-2k/BGL/BGL_2k.log", "line_labels": True, "window_seconds": 3600.0},
}
TARGETS = {"hdfs-sessions": {"unsupervised": 0.90, "train30": 0.95}}


def _scores(result: EvaluationResult, threshold: float = 0.5) -> dict[str, Any]:
    at = result.at(threshold)
    return {
        "precision": at.precision,
        "recall": at.recall,
        "f1": at.f1,
        "roc_auc": result.roc_auc,
        "alerts_per_hour_normal": at.alerts_per_hour_normal,
        "windows": result.windows,
        "anomalies": result.anomalies,
        "sweep": [t.to_dict() for t in result.thresholds],
    }


def loglizer_baseline(
    windows: Sequence[Window], labels: Sequence[bool], seed: int = 0
) -> dict[str, Any]:
    """loglizer's IsolationForest: raw counts, first half to fit, second to test."""
    vocabulary = sorted({t for w in windows for t, _ in w.counts})
    column = {t: i for i, t in enumerate(vocabulary)}
    x = np.zeros((len(windows), len(vocabulary)))
    for row, window in enumerate(windows):
        for template, count in window.counts:
            x[row, column[template]] = count
    half = len(windows) // 2
    model = IsolationForest(random_state=seed).fit(x[:half])
    y = np.asarray(labels[half:], dtype=bool)
    predicted = model.predict(x[half:]) == -1
    tp = int(np.sum(predicted & y))
    fp = int(np.sum(predicted & ~y))
    fn = int(np.sum(~predicted & y))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = (
        float(roc_auc_score(y, -model.score_samples(x[half:])))
        if len(set(y.tolist())) == 2
        else None
    )
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": auc,
        "windows": len(y),
        "anomalies": int(y.sum()),
    }


def run(options: Options) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, spec in DATASETS.items():
        args = dict(spec)
        log = SHARED / args.pop("log")
        if "labels" in args:
            args["labels"] = SHARED / args["labels"]
        if not log.is_file():
            progress(f"detection: {log} missing, {name} not measured")
            continue
        progress(f"detection: {name} unsupervised")
        unsupervised = evaluate(log, thresholds=THRESHOLDS, keep_verdicts=True, **args)
        progress(f"detection: {name} 30% train")
        trained = evaluate(log, thresholds=THRESHOLDS, train_fraction=0.3, **args)
        windows = [v.verdict.window for v in unsupervised.verdicts]
        labels = [v.label for v in unsupervised.verdicts]
        entry = {
            "lines": unsupervised.lines,
            "templates": unsupervised.templates,
            "methods": {
                "LogMonitor": _scores(unsupervised),
                "LogMonitor 30% train": _scores(trained),
                "loglizer IF 50/50": loglizer_baseline(windows, labels, options.seed),
            },
        }
        if name in TARGETS:
            entry["targets"] = TARGETS[name]
        entry["explained"] = _example_explanation(unsupervised)
        results[name] = entry
    return results


def _example_explanation(result: EvaluationResult) -> dict[str, object] | None:
    """The explanation of the first true positive, as the JSON shows it."""
    for labeled in result.verdicts:
        if labeled.label and labeled.verdict.score >= 0.5:
            return labeled.verdict.explanation.to_dict()
    return None


def table(result: dict[str, Any]) -> str:
    rows = []
    sweep_rows = []
    for name, entry in result.items():
        for method, m in entry["methods"].items():
            rows.append(
                [name, method, m["windows"], m["anomalies"], m["precision"], m["recall"], m["f1"],
                 float("nan") if m["roc_auc"] is None else m["roc_auc"]]
            )  # fmt: skip
            for t in m.get("sweep", ()):
                sweep_rows.append(
                    [name, method, t["threshold"], t["precision"], t["recall"], t["f1"],
                     t["alerts_per_hour_normal"]]
                )  # fmt: skip
    notes = []
    hdfs = result.get("hdfs-sessions")
    if hdfs is not None:
        unsupervised = hdfs["methods"]["LogMonitor"]["f1"]
        trained = hdfs["methods"]["LogMonitor 30% train"]["f1"]
        baseline = hdfs["methods"]["loglizer IF 50/50"]["f1"]
        notes.append(
            f"hdfs-sessions F1: unsupervised {unsupervised:.3f} (target 0.90), 30% train "
            f"{trained:.3f} (target 0.95), loglizer IF {baseline:.3f}"
        )
    main = format_table(
        "Detection at alert_threshold 0.5 (loglizer: its own predict)",
        ["data set", "method", "windows", "anomalies", "P", "R", "F1", "ROC-AUC"],
        rows,
        notes,
    )
    sweep = format_table(
        "Threshold sweep (alerts/h: false alerts per hour of the scored span)",
        ["data set", "method", "threshold", "P", "R", "F1", "alerts/h"],
        sweep_rows,
    )
    return main + "\n\n" + sweep


if __name__ == "__main__":
    from ._common import quiet_logmonitor, save_result

    quiet_logmonitor()
    options = Options()
    outcome = run(options)
    progress(f"detection: saved {save_result('detection', options, outcome)}")
    print(table(outcome))

"""Measure detection on a labeled log: replay it through the streaming stages.

:func:`evaluate` reads a raw log in order and pushes it, in batches, through the
same stage classes the monitor uses: :class:`~logmonitor.parse.formats.LineParser`
-> :class:`~logmonitor.parse.multiline.MultilineJoiner` ->
:class:`~logmonitor.patterns.miner.TemplateMiner` ->
:class:`~logmonitor.features.sessions.SessionWindows` (session labels) or
:class:`~logmonitor.features.windows.WindowCounter` (line labels) ->
:class:`~logmonitor.detect.ensemble.Ensemble`, on a
:class:`~logmonitor.clock.FakeClock` that follows the records' timestamps. Each
window is scored when it closes, with only what was learned before, then learned
(no look-ahead; labels are never shown to a detector).

Labels:

* **sessions**: a Loghub-style ``anomaly_label.csv`` (``BlockId,Label`` with
  ``Normal``/``Anomaly``) and the regex that finds the session id in a line
  (``blk_-?\\d+``). Sessions without a label are not scored (counted in
  ``unlabeled``).
* **line labels** (BGL style): the first field of each line is ``-`` for a normal
  line, else an alert tag. Windows are tumbling time windows of
  ``window_seconds``; a window is anomalous when it holds an alert line. The
  parser does not see the tag as part of the message (the BGL layout splits it
  off), so it cannot become a template.

``train_fraction`` F declares the first F of the stream, by time, normal: windows
that close before ``start + F * (end - start)`` are learned unconditionally and not
scored (as DeepLog trains on the start of HDFS; the labels are still not used).
The time range comes from the first and last lines of the file.

Scores are computed once per window (the ensemble's learning policy uses
``alert_threshold``); each threshold in ``thresholds`` then gives precision,
recall, F1 and false alerts per hour of the scored span, so raising the threshold
can only remove alerts: recall never rises with it. ROC-AUC is threshold-free.
Windows closing during the warm-up (no detector ready) score 0.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sklearn.metrics import roc_auc_score

from .clock import FakeClock
from .detect.ensemble import Ensemble, Verdict, default_ensemble
from .errors import ConfigError
from .features.sessions import SessionWindows, session_of
from .features.windows import WindowCounter, resolve_ids
from .parse.formats import LineParser
from .parse.multiline import MultilineJoiner
from .patterns.miner import TemplateMiner
from .records import LogLine, Record, Window

__all__ = [
    "EvaluationResult",
    "LabeledVerdict",
    "ThresholdResult",
    "evaluate",
    "load_session_labels",
]

Progress = Callable[[int, int], None]  # (bytes done, bytes in total)

_BATCH = 5000
_EDGE_LINES = 2000  # lines read at each end of the file for its time range
_LABEL_WORDS = {"anomaly": True, "abnormal": True, "1": True, "normal": False, "0": False}


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """Detection quality at one alert threshold."""

    threshold: float
    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    alerts_per_hour_normal: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            "threshold": self.threshold,
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "f1": round(self.f1, 6),
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
            "tn": self.true_negatives,
            "alerts_per_hour_normal": round(self.alerts_per_hour_normal, 6),
        }


@dataclass(frozen=True, slots=True)
class LabeledVerdict:
    """A scored window with its label (kept when ``keep_verdicts`` is set)."""

    label: bool
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """What :func:`evaluate` measured; ``to_dict`` is the CLI's ``--json``."""

    log: str
    mode: Literal["session", "time"]
    train_fraction: float
    lines: int
    templates: int
    windows: int  # scored windows
    anomalies: int  # scored windows labeled anomalous
    trained: int  # windows learned during the training part, not scored
    unlabeled: int  # session windows with no label, not scored
    hours: float  # the scored span, first scored window start to last end
    roc_auc: float | None  # None when the scored windows hold one class only
    thresholds: tuple[ThresholdResult, ...]
    verdicts: tuple[LabeledVerdict, ...] = field(default=(), repr=False)

    def at(self, threshold: float) -> ThresholdResult:
        for result in self.thresholds:
            if math.isclose(result.threshold, threshold):
                return result
        raise KeyError(threshold)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "log": self.log,
            "mode": self.mode,
            "train_fraction": self.train_fraction,
            "lines": self.lines,
            "templates": self.templates,
            "windows": self.windows,
            "anomalies": self.anomalies,
            "trained": self.trained,
            "unlabeled": self.unlabeled,
            "hours": round(self.hours, 6),
            "roc_auc": None if self.roc_auc is None else round(self.roc_auc, 6),
            "thresholds": [t.to_dict() for t in self.thresholds],
        }
        if len(self.thresholds) == 1:  # one threshold: its numbers at the top level
            only = self.thresholds[0].to_dict()
            for key in ("precision", "recall", "f1", "alerts_per_hour_normal"):
                out[key] = only[key]
        return out


def load_session_labels(path: str | os.PathLike[str]) -> dict[str, bool]:
    """Read a Loghub-style ``anomaly_label.csv``: session id -> anomalous."""
    labels: dict[str, bool] = {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = csv.reader(handle)
            header = next(rows, None)
            if header is None or len(header) < 2:
                raise ConfigError(
                    f"labels file {path} has no 'SessionId,Label' header; pass a Loghub-style "
                    "anomaly_label.csv (e.g. BlockId,Label with Normal/Anomaly)"
                )
            for number, row in enumerate(rows, start=2):
                if not row:
                    continue
                word = row[1].strip().lower() if len(row) > 1 else ""
                if word not in _LABEL_WORDS:
                    raise ConfigError(
                        f"labels file {path} line {number}: label {row[1:2]} is not "
                        "Normal/Anomaly (or 0/1); fix the file"
                    )
                labels[row[0].strip()] = _LABEL_WORDS[word]
    except FileNotFoundError:
        raise ConfigError(f"labels file {path} does not exist; pass --labels PATH") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read labels file {path}: {exc}") from None
    if not labels:
        raise ConfigError(f"labels file {path} holds no labels")
    return labels


def evaluate(
    log: str | os.PathLike[str],
    *,
    labels: str | os.PathLike[str] | None = None,
    session_id: str | None = None,
    line_labels: bool = False,
    window_seconds: float = 3600.0,
    train_fraction: float = 0.0,
    thresholds: Sequence[float] = (0.5,),
    alert_threshold: float = 0.5,
    session_timeout: float = 1800.0,
    session_max_seconds: float = 3600.0,
    ensemble: Ensemble | None = None,
    progress: Progress | None = None,
    keep_verdicts: bool = False,
) -> EvaluationResult:
    """Replay ``log`` and measure the detector against its labels (module docstring).

    Give either ``labels`` with ``session_id`` (session windows) or
    ``line_labels=True`` (time windows of ``window_seconds``). ``ensemble``
    defaults to :func:`~logmonitor.detect.ensemble.default_ensemble` for the mode; a
    given one is trained by the replay, and with ``keep_verdicts`` its
    ``explain_from`` is lowered to the lowest of ``thresholds``, so that every kept
    verdict that alerts at one of them carries its deviations.
    Raises :class:`~logmonitor.errors.ConfigError` for bad arguments or files.
    """
    path = Path(log)
    if not path.is_file():
        raise ConfigError(f"log {path} does not exist or is not a file; pass a log file")
    if (labels is None) == (not line_labels):
        raise ConfigError(
            "pass either labels=anomaly_label.csv with session_id=REGEX, or line_labels=True"
        )
    if labels is not None and not session_id:
        raise ConfigError("session labels need session_id, the regex of the id (e.g. blk_-?\\d+)")
    if not 0.0 <= train_fraction < 1.0:
        raise ConfigError(f"train_fraction must be in [0, 1), got {train_fraction}")
    if not thresholds or any(not 0.0 < t <= 1.0 for t in thresholds):
        raise ConfigError(f"thresholds must be in (0, 1], got {list(thresholds)}")
    if not window_seconds > 0:
        raise ConfigError(f"window must be a positive number of seconds, got {window_seconds}")

    mode: Literal["session", "time"] = "time" if line_labels else "session"
    session_labels = load_session_labels(labels) if labels is not None else {}
    replay = _Replay(path, mode, progress)
    if mode == "session":
        replay.windows = SessionWindows(
            session_id or "", timeout=session_timeout, max_seconds=session_max_seconds
        )
    else:
        replay.windows = WindowCounter(window_seconds, grace=0.0)
        replay.window_seconds = window_seconds
    if ensemble is None:
        ensemble = default_ensemble(alert_threshold, mode, template_text=replay.miner.template)
        if not keep_verdicts:
            ensemble.explain_from = math.inf  # explanations are kept only with verdicts
    if keep_verdicts:  # explained at every swept threshold (a given one is trained anyway)
        ensemble.explain_from = min(ensemble.explain_from, *thresholds)
    replay.ensemble = ensemble
    if train_fraction > 0:
        first, last = _time_range(path, replay.parser)
        replay.cutoff = first + train_fraction * (last - first)
    replay.label_of = (
        (lambda w: session_labels.get(session_of(w)[1])) if mode == "session" else replay.time_label
    )
    replay.run()

    scored = replay.scored
    y = [label for label, _ in scored]
    scores = [verdict.score for _, verdict in scored]
    hours = (replay.last_end - replay.first_start) / 3600.0 if scored else 0.0
    roc = float(roc_auc_score(y, scores)) if len(set(y)) == 2 else None
    return EvaluationResult(
        log=str(path),
        mode=mode,
        train_fraction=train_fraction,
        lines=replay.lines,
        templates=len(replay.miner),
        windows=len(scored),
        anomalies=sum(y),
        trained=replay.trained,
        unlabeled=replay.unlabeled,
        hours=hours,
        roc_auc=roc,
        thresholds=tuple(_at_threshold(t, y, scores, hours) for t in sorted(set(thresholds))),
        verdicts=tuple(LabeledVerdict(label, v) for label, v in scored) if keep_verdicts else (),
    )


def _at_threshold(
    threshold: float, y: Sequence[bool], scores: Sequence[float], hours: float
) -> ThresholdResult:
    tp = fp = fn = tn = 0
    for label, score in zip(y, scores, strict=True):
        alert = score >= threshold
        if alert and label:
            tp += 1
        elif alert:
            fp += 1
        elif label:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_hour = fp / hours if hours > 0 else 0.0
    return ThresholdResult(threshold, precision, recall, f1, tp, fp, fn, tn, per_hour)


class _Replay:
    """The stages and the bookkeeping of one replay."""

    def __init__(self, path: Path, mode: Literal["session", "time"], progress: Progress | None):
        self.path = path
        self.mode = mode
        self.progress = progress
        self.clock = FakeClock(0.0)
        self.parser = LineParser(self.clock)
        self.joiner = MultilineJoiner()
        self.miner = TemplateMiner()
        self.windows: SessionWindows | WindowCounter
        self.ensemble: Ensemble
        self.window_seconds = 0.0
        self.cutoff = float("-inf")
        self.label_of: Callable[[Window], bool | None]
        self.alert_buckets: dict[tuple[str, float], bool] = {}  # time mode
        self.scored: list[tuple[bool, Verdict]] = []
        self.lines = self.trained = self.unlabeled = 0
        self.first_start = math.inf
        self.last_end = -math.inf

    def time_label(self, window: Window) -> bool:
        return self.alert_buckets.get((window.source, window.start), False)

    def run(self) -> None:
        total = self.path.stat().st_size
        source = str(self.path)
        batch: list[LogLine] = []
        labels: list[bool] = []
        offset = 0
        with open(self.path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                if self.mode == "time":
                    labels.append(not text.startswith("-"))
                end = offset + len(raw)
                batch.append(LogLine(source, source, text, offset, end, number, self.clock.now()))
                offset = end
                if len(batch) >= _BATCH:
                    self._feed(batch, labels)
                    batch, labels = [], []
                    if self.progress is not None:
                        self.progress(offset, total)
        if batch:
            self._feed(batch, labels)
        records = self.joiner.flush_all()
        if records:
            self._mine(records)
        self._score(self.windows.close_all())
        if self.progress is not None:
            self.progress(total, total)

    def _feed(self, lines: list[LogLine], labels: list[bool]) -> None:
        records = self.parser.parse_batch(lines)
        self.lines += len(lines)
        stamps = [r.timestamp for r in records if r.timestamp is not None]
        if stamps:
            # The clock follows the log: the next batch is read "at" this batch's time.
            self.clock.set(max(self.clock.now(), *stamps))
        if self.mode == "time":
            seconds = self.window_seconds
            for record, alert in zip(records, labels, strict=True):
                if alert and record.timestamp is not None:
                    key = (record.line.source, (record.timestamp // seconds) * seconds)
                    self.alert_buckets[key] = True
        self._mine(self.joiner.feed(records, self.clock.now()))

    def _mine(self, records: list[Record]) -> None:
        matches = self.miner.add_batch(records)
        self._score(self.windows.add(records, matches, self.clock.now()))

    def _score(self, windows: list[Window]) -> None:
        if not windows:
            return
        resolve = self.miner.resolve
        # Ids merged since a line was counted map to their survivor, so one
        # template is one column however its id changed.
        windows = [resolve_ids(w, resolve) for w in windows]
        training = [w for w in windows if w.end < self.cutoff]
        if training:
            self.ensemble.learn(training)
            self.trained += len(training)
        # One at a time, in closing order: a window is scored with what the
        # windows that closed before it taught, even when many close together.
        for window in windows:
            if window.end < self.cutoff:
                continue
            (verdict,) = self.ensemble.process([window])
            label = self.label_of(verdict.window)
            if label is None:
                self.unlabeled += 1
                continue
            self.scored.append((label, verdict))
            self.first_start = min(self.first_start, verdict.window.start)
            self.last_end = max(self.last_end, verdict.window.end)


def _time_range(path: Path, parser: LineParser) -> tuple[float, float]:
    """The first and last timestamps of the file, from its first and last lines."""
    with open(path, "rb") as handle:
        head = [handle.readline() for _ in range(_EDGE_LINES)]
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - 512 * _EDGE_LINES))
        tail = handle.read().splitlines()[-_EDGE_LINES:]
    stamps = []
    for chunk in (head, tail):
        lines = [
            LogLine("range", "range", raw.decode("utf-8", "replace").rstrip("\r\n"), 0, 0, 1, 0.0)
            for raw in chunk
            if raw
        ]
        found = [r.timestamp for r in parser.parse_batch(lines) if r.timestamp is not None]
        stamps.append(found)
    if not stamps[0] or not stamps[1]:
        raise ConfigError(
            f"train_fraction needs timestamps, but {path} has none the parser recognises "
            "at its start or end; pass train_fraction=0"
        )
    return min(stamps[0]), max(stamps[1])

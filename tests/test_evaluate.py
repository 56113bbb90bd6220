"""Replaying labeled logs: metrics, threshold monotonicity, explanations, bad inputs."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from logmonitor.detect.ensemble import Ensemble, Member
from logmonitor.detect.novelty import NoveltyDetector
from logmonitor.errors import ConfigError
from logmonitor.evaluate import evaluate, load_session_labels

BLOCK = r"blk_-?\d+"
THRESHOLDS = (0.4, 0.5, 0.6, 0.7)


@pytest.fixture
def hdfs_slice(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The first 3,000 blocks of hdfs-sessions with every line of each (whole
    sessions, about 60k lines) and their labels."""
    source = shared_data / "hdfs-sessions"
    with open(source / "anomaly_label.csv", newline="") as handle:
        rows = list(csv.reader(handle))[1:3001]
    keep = {row[0] for row in rows}
    key = re.compile(BLOCK)
    log = tmp_path / "HDFS.log"
    with open(source / "HDFS.log") as lines, open(log, "w") as out:
        for line in lines:
            found = key.search(line)
            if found is not None and found.group(0) in keep:
                out.write(line)
    labels = tmp_path / "anomaly_label.csv"
    labels.write_text("BlockId,Label\n" + "".join(f"{b},{label}\n" for b, label in rows))
    return log, labels


def test_hdfs_sessions_are_detected_and_thresholds_trade_monotonically(
    hdfs_slice: tuple[Path, Path],
) -> None:
    log, labels = hdfs_slice
    result = evaluate(
        log, labels=labels, session_id=BLOCK, thresholds=THRESHOLDS, keep_verdicts=True
    )
    assert result.windows == 3000
    assert result.anomalies == sum(v.label for v in result.verdicts) > 50
    assert result.unlabeled == 0
    assert result.roc_auc is not None
    assert result.roc_auc > 0.9
    assert result.at(0.5).f1 > 0.85
    sweep = result.thresholds
    alerts = [t.true_positives + t.false_positives for t in sweep]
    assert alerts == sorted(alerts, reverse=True)
    assert [t.recall for t in sweep] == sorted((t.recall for t in sweep), reverse=True)
    alerting = [t.precision for t in sweep if t.true_positives + t.false_positives]
    assert alerting == sorted(alerting)
    assert len(alerting) >= 3
    data = json.loads(json.dumps(result.to_dict()))
    assert [t["threshold"] for t in data["thresholds"]] == list(THRESHOLDS)
    assert set(data) >= {"roc_auc", "windows", "anomalies", "thresholds"}


def test_explanations_of_detected_sessions_point_at_the_cause(
    hdfs_slice: tuple[Path, Path],
) -> None:
    log, labels = hdfs_slice
    result = evaluate(log, labels=labels, session_id=BLOCK, keep_verdicts=True)
    normal = [v.verdict.window for v in result.verdicts if not v.label]
    share = Counter(t for w in normal for t, _ in w.counts)
    detected = [v.verdict for v in result.verdicts if v.label and v.verdict.score >= 0.5]
    assert len(detected) > 50
    for verdict in detected:
        explanation = verdict.explanation
        top = explanation.deviations[0]
        counts = verdict.window.count_map()
        assert top.template_id is not None
        assert explanation.fired == ("novelty",)
        if top.kind == "missing":
            # A step nearly every normal session has never came.
            assert top.template_id not in counts
            assert share[top.template_id] / len(normal) > 0.95
        else:
            # A template normal sessions (almost) never hold.
            assert top.kind in ("new", "rare")
            assert counts[top.template_id] == top.observed
            assert share[top.template_id] / len(normal) < 0.05
            assert explanation.samples[0].template_id == top.template_id
            assert explanation.samples[0].path == str(log)
            assert top.template is not None
            assert "<*>" in top.template
        assert 1 <= len(explanation.samples) <= 5


def test_a_training_part_is_learned_not_scored(hdfs_slice: tuple[Path, Path]) -> None:
    log, labels = hdfs_slice
    result = evaluate(log, labels=labels, session_id=BLOCK, train_fraction=0.3)
    assert result.trained > 1000
    assert result.windows + result.trained == 3000
    assert result.at(0.5).f1 > 0.85


def test_line_labels_are_scored_per_time_window(tmp_path: Path) -> None:
    # BGL-style: "-" is a normal line, anything else an alert tag.
    def line(tag: str, t: int, level: str, message: str) -> str:
        stamp = datetime.fromtimestamp(t, timezone.utc)
        return (
            f"{tag} {t} {stamp:%Y.%m.%d} R02-M1-N0-C:J12-U11 {stamp:%Y-%m-%d-%H.%M.%S}.000000 "
            f"R02-M1-N0-C:J12-U11 RAS KERNEL {level} {message}"
        )

    lines = []
    t0 = 1_117_843_200  # 2005-06-04 00:00:00 UTC, on an hour boundary
    for hour in range(80):
        for minute in range(0, 60, 10):
            t = t0 + hour * 3600 + minute * 60
            lines.append(line("-", t, "INFO", f"instruction cache parity error corrected {minute}"))
        if hour in (60, 70):  # two different fatal errors, never seen before
            t = t0 + hour * 3600 + 30
            what = "data TLB error interrupt" if hour == 60 else "machine check interrupt"
            lines.append(line("KERNDTLB", t, "FATAL", what))
    log = tmp_path / "bgl.log"
    log.write_text("\n".join(lines) + "\n")
    seen: list[tuple[int, int]] = []
    result = evaluate(
        log, line_labels=True, window_seconds=3600, progress=lambda d, t: seen.append((d, t))
    )
    assert result.mode == "time"
    assert result.windows == 80
    assert result.anomalies == 2
    assert result.at(0.5).recall == 1.0
    assert result.at(0.5).precision == 1.0
    assert seen[-1][0] == seen[-1][1] == log.stat().st_size


def test_session_labels_are_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "labels.csv"
    good.write_text("BlockId,Label\nblk_1,Normal\nblk_2,Anomaly\n")
    assert load_session_labels(good) == {"blk_1": False, "blk_2": True}
    bad = tmp_path / "bad.csv"
    bad.write_text("BlockId,Label\nblk_1,maybe\n")
    with pytest.raises(ConfigError, match="line 2"):
        load_session_labels(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_session_labels(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "either labels"),
        ({"labels": "L", "line_labels": True}, "either labels"),
        ({"labels": "L"}, "session_id"),
        ({"line_labels": True, "train_fraction": 1.0}, "train_fraction"),
        ({"line_labels": True, "thresholds": (0.5, 1.5)}, "thresholds"),
        ({"line_labels": True, "window_seconds": 0}, "window"),
    ],
)
def test_bad_arguments_raise_config_errors(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    log = tmp_path / "a.log"
    log.write_text("- 1117838400 2005.06.04 x\n")
    with pytest.raises(ConfigError, match=message):
        evaluate(log, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="does not exist"):
        evaluate(tmp_path / "nope.log", line_labels=True)


def test_kept_verdicts_of_a_given_ensemble_are_explained_at_every_swept_threshold(
    tmp_path: Path,
) -> None:
    lines, labels = [], []
    for n in range(400):
        odd = n % 40 == 39
        last = "PacketResponder failed for" if odd else "PacketResponder terminating for"
        for t, msg in enumerate(("Receiving block", "Received block", last)):
            second = 3 * n + t
            stamp = f"2024-01-01 {second // 3600:02d}:{second % 3600 // 60:02d}:{second % 60:02d}"
            lines.append(f"{stamp} INFO dfs {msg} blk_{n}")
        labels.append(f"blk_{n},{'Anomaly' if odd else 'Normal'}")
    log, label_file = tmp_path / "log.txt", tmp_path / "labels.csv"
    log.write_text("\n".join(lines) + "\n")
    label_file.write_text("BlockId,Label\n" + "\n".join(labels) + "\n")
    ensemble = Ensemble([Member(NoveltyDetector(warmup_windows=5))], threshold=0.95)
    result = evaluate(
        log, labels=label_file, session_id=BLOCK, thresholds=(0.3,), ensemble=ensemble,
        keep_verdicts=True,
    )  # fmt: skip
    alerting = [v.verdict for v in result.verdicts if v.verdict.score >= 0.3]
    assert any(v.score < 0.95 for v in alerting)
    assert all(v.explanation.deviations for v in alerting)

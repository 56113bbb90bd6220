"""``logmonitor evaluate``: precision and recall of the detectors on a labeled log."""

from __future__ import annotations

import json
import os

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..errors import LogMonitorError
from .base import cli, fail, parse_duration

__all__ = ["evaluate_command"]


def _thresholds(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a list of numbers like 0.4,0.5,0.6") from None
    if not values:
        raise click.BadParameter("give at least one threshold, e.g. 0.5")
    return values


@cli.command("evaluate")
@click.argument("log", type=click.Path(dir_okay=False))
@click.option(
    "--labels", type=click.Path(dir_okay=False), default=None,
    help="A Loghub-style anomaly_label.csv (session id, Normal/Anomaly); needs --session-id.",
)  # fmt: skip
@click.option(
    "--session-id", default=None,
    help="The regex of a session's id in a line, e.g. 'blk_-?\\d+' for HDFS.",
)  # fmt: skip
@click.option(
    "--line-labels", is_flag=True,
    help="Lines are labeled by their first field ('-' is normal, BGL style); "
    "scored per time window.",
)  # fmt: skip
@click.option(
    "--window", "window", default="1h", show_default=True,
    help="Time window with --line-labels, e.g. 60s, 10m, 1h.",
)  # fmt: skip
@click.option(
    "--train-fraction", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0,
    show_default=True,
    help="The first fraction of the stream (by time) declared normal: learned, not scored.",
)  # fmt: skip
@click.option(
    "--thresholds", default="0.5", show_default=True,
    help="Alert thresholds to report, comma-separated (e.g. 0.4,0.5,0.6,0.7).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
def evaluate_command(
    log: str, labels: str | None, session_id: str | None, line_labels: bool, window: str,
    train_fraction: float, thresholds: str, as_json: bool,
) -> None:  # fmt: skip
    """Replay a labeled LOG through the streaming detectors (no look-ahead, labels
    never used for training) and print precision, recall, F1, ROC-AUC and alerts
    per hour of normal traffic."""
    from ..evaluate import evaluate  # scikit-learn metrics: only this command needs them

    levels = _thresholds(thresholds)
    seconds = parse_duration(window)
    err = Console(stderr=True)
    total = os.path.getsize(log) if os.path.isfile(log) else 0
    try:
        with Progress(
            TextColumn("replaying"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
            console=err, transient=True, disable=not err.is_terminal,
        ) as progress:  # fmt: skip
            task = progress.add_task("replaying", total=total)
            result = evaluate(
                log, labels=labels, session_id=session_id, line_labels=line_labels,
                window_seconds=seconds, train_fraction=train_fraction, thresholds=levels,
                progress=lambda done, _total: progress.update(task, completed=done),
            )  # fmt: skip
    except LogMonitorError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    auc = "n/a (one class)" if result.roc_auc is None else f"{result.roc_auc:.3f}"
    table = Table(
        title=f"{os.path.basename(log)}: {result.windows:,} {result.mode} windows scored "
        f"({result.anomalies:,} anomalous), {result.trained:,} trained on, ROC-AUC {auc}"
    )
    for column in ("threshold", "precision", "recall", "F1", "TP", "FP", "FN", "alerts/h normal"):
        table.add_column(column, justify="right")
    for row in result.thresholds:
        table.add_row(
            f"{row.threshold:g}", f"{row.precision:.3f}", f"{row.recall:.3f}", f"{row.f1:.3f}",
            str(row.true_positives), str(row.false_positives), str(row.false_negatives),
            f"{row.alerts_per_hour_normal:.2f}",
        )  # fmt: skip
    Console().print(table)

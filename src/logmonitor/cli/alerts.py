"""``logmonitor alerts``, ``ack``, ``feedback`` and ``mute``: the operator's side of
the alert lifecycle, on the state file (a running monitor picks it up)."""

from __future__ import annotations

import json
import os
import time

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import ConfigError, LogMonitorError
from .base import cli, config_option, fail, open_store, parse_duration, state_option, user, when

__all__ = ["ack", "alerts_command", "feedback", "mute"]

_MAX_ID = 2**63 - 1  # SQLite's INTEGER


@cli.command("alerts")
@state_option
@config_option()
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True,
    help="How many alerts (the newest).",
)  # fmt: skip
@click.option(
    "--status", type=click.Choice(["firing", "resolved"]), default=None,
    help="Only alerts in this state.",
)  # fmt: skip
@click.option("--source", default=None, help="Only the alerts of this file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert.")
@click.option(
    "--stats", is_flag=True, help="Precision from feedback, per day, instead of the list."
)
def alerts_command(
    state: str | None, config_file: str | None, limit: int, status: str | None,
    source: str | None, as_json: bool, stats: bool,
) -> None:  # fmt: skip
    """List recent alerts (newest last), or with --stats the precision that
    feedback gives them over time."""
    store = open_store(state, config_file)
    try:
        if stats:
            rows = store.feedback_stats()
            if as_json:
                click.echo(json.dumps(rows))
                return
            table = Table(title="alerts and feedback per day")
            for column in ("day", "alerts", "true +", "false +", "unreviewed", "precision"):
                table.add_column(column, justify="left" if column == "day" else "right")
            for row in rows:
                precision = row["precision"]
                table.add_row(
                    time.strftime("%Y-%m-%d", time.gmtime(row["start"])), str(row["alerts"]),
                    str(row["true_positives"]), str(row["false_positives"]),
                    str(row["unreviewed"]), "-" if precision is None else f"{precision:.0%}",
                )  # fmt: skip
            Console().print(table)
            return
        found = store.alerts(limit, status=status, source=source)
    finally:
        store.close()
    if as_json:
        for alert in found:
            click.echo(json.dumps(alert.to_dict(), ensure_ascii=False))
        return
    table = Table(title=f"{len(found)} alerts")
    for column in ("id", "status", "severity", "score", "seen", "last seen", "file", "why"):
        table.add_column(column, justify="right" if column in ("id", "score", "seen") else "left")
    for alert in found:
        marks = " ".join(m for m in ("acked" if alert.acked_at else "", alert.feedback or "") if m)
        why = "; ".join(alert.templates[:2])
        table.add_row(
            str(alert.id), alert.status + (f" ({marks})" if marks else ""), alert.severity,
            f"{alert.score:.3f}", f"{alert.occurrences}x", when(alert.last_seen),
            escape(alert.filename), escape(why[:120]),
        )  # fmt: skip
    Console().print(table)


@cli.command()
@click.argument("alert_id", type=click.IntRange(1, _MAX_ID))
@state_option
@config_option()
def ack(alert_id: int, state: str | None, config_file: str | None) -> None:
    """Acknowledge alert ALERT_ID: it stays firing but is not repeated."""
    store = open_store(state, config_file)
    try:
        alert = store.ack(alert_id, time.time(), by=user())
    except LogMonitorError as exc:
        fail(exc)
    finally:
        store.close()
    click.echo(f"alert {alert.id} acknowledged ({alert.filename})")


@cli.command()
@click.argument("alert_id", type=click.IntRange(1, _MAX_ID))
@click.argument("verdict", type=click.Choice(["false-positive", "true-positive"]))
@state_option
@config_option()
def feedback(alert_id: int, verdict: str, state: str | None, config_file: str | None) -> None:
    """Say whether alert ALERT_ID was right. A false positive is learned as normal
    and its condition does not alert again; both count in `alerts --stats`."""
    store = open_store(state, config_file)
    try:
        alert = store.set_feedback(alert_id, verdict, time.time())
    except LogMonitorError as exc:
        fail(exc)
    finally:
        store.close()
    click.echo(f"alert {alert.id} marked {verdict}")


@cli.command()
@click.option(
    "--template",
    "template_id",
    type=click.IntRange(1, _MAX_ID),
    default=None,
    help="A template id.",
)
@click.option("--source", default=None, help="A file, or a directory for all files in it.")
@click.option("--for", "duration", default="1d", show_default=True, help="e.g. 30m, 12h, 7d.")
@click.option("--list", "list_only", is_flag=True, help="List the active mutes instead.")
@state_option
@config_option()
def mute(
    template_id: int | None, source: str | None, duration: str, list_only: bool,
    state: str | None, config_file: str | None,
) -> None:  # fmt: skip
    """Suppress alerts of a template or a source for a while."""
    if list_only:
        store = open_store(state, config_file)
        try:
            for m in store.mutes(time.time()):
                click.echo(f"{m.id}\t{m.kind}\t{m.value}\tuntil {when(m.until)}")
        finally:
            store.close()
        return
    if (template_id is None) == (source is None):
        fail(ConfigError("pass exactly one of --template ID or --source PATH"))
    seconds = parse_duration(duration)
    store = open_store(state, config_file)
    try:
        now = time.time()
        kind, value = ("template", str(template_id)) if source is None else ("source", source)
        if kind == "source":
            value = os.path.abspath(value)
        made = store.add_mute(kind, value, now + seconds, now)
    except LogMonitorError as exc:
        fail(exc)
    finally:
        store.close()
    click.echo(f"muted {made.kind} {made.value} until {when(made.until)}")

"""The ``logmonitor`` command: the only module that prints.

Every :class:`~logmonitor.errors.LogMonitorError` becomes one line on stderr and
an exit code: 2 for bad input (arguments, config, sources), 3 for the state file.
"""

from __future__ import annotations

import csv
import getpass
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from . import __version__
from .config import Settings, default_state_path, load_settings
from .errors import ConfigError, LogMonitorError, MonitorStateError, SourceError, StateError
from .monitor import LogMonitor
from .patterns.inventory import Inventory
from .patterns.miner import TemplateMiner
from .pipeline import Status
from .sinks.console import ConsoleSink
from .sinks.jsonl import JsonlSink
from .store import Store

if TYPE_CHECKING:
    from .api import Server

__all__ = ["main"]


def _exit_code(exc: LogMonitorError) -> int:
    return 3 if isinstance(exc, StateError) else 2


def _fail(exc: LogMonitorError) -> NoReturn:
    click.echo(f"logmonitor: error: {exc}", err=True)
    sys.exit(_exit_code(exc))


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(counts: Sequence[int]) -> str:
    """Counts as bars, scaled to the largest (blank for zero).

    >>> sparkline([0, 1, 4, 8])
    ' ▁▄█'
    """
    peak = max(counts, default=0)
    if peak == 0:
        return " " * len(counts)
    return "".join(
        " " if c == 0 else _BARS[min(len(_BARS) - 1, (c * len(_BARS) - 1) // peak)] for c in counts
    )


def render_status(monitor: LogMonitor, status: Status, rate: float) -> RenderableType:
    """The one-screen summary: sources, model, top error types, last alerts."""
    settings = monitor.settings
    mode = "polling" if status.polling else "inotify"
    if status.model_ready:
        model = f"[green]scoring[/] (last score {status.last_score or 0:.3f})"
    else:
        model = f"[yellow]warming up[/] {status.windows_learned}/{settings.warmup_windows} windows"
    header = Text.from_markup(
        f"[bold]LogMonitor[/] watching {escape(', '.join(monitor.log_dirs))} ({mode})  "
        f"{len(status.sources)} files  {status.lines:,} lines  {rate:,.0f} lines/s  "
        f"{status.templates} templates  model: {model}  "
        f"alerts: [bold]{status.alerts}[/] (threshold {settings.alert_threshold:.2f})"
    )
    files = Table(title="busiest files", title_justify="left", expand=False, box=None)
    for column in ("file", "lines", "lag", "rotations", "truncated", "errors"):
        files.add_column(column, justify="left" if column == "file" else "right")
    for source in sorted(status.sources, key=lambda s: -s.lines)[:8]:
        files.add_row(
            escape(source.source), f"{source.lines:,}",
            _human_bytes(max(0, source.size - source.offset)), str(source.rotations),
            str(source.truncated_lines), str(source.errors),
        )  # fmt: skip
    errors = Table(title="top error types", title_justify="left", box=None)
    errors.add_column("count", justify="right")
    errors.add_column("trend")
    errors.add_column("error type")
    errors.add_column("last file")
    top = monitor.summary(8)
    for row in top:
        errors.add_row(
            f"{row.count:,}", sparkline(row.trend), escape(row.error_type[:100]),
            escape(os.path.basename(row.files[0]) if row.files else ""),
        )  # fmt: skip
    parts: list[RenderableType] = [header, files]
    if top:
        parts.append(errors)
    return Group(*parts)


def _status_event(monitor: LogMonitor, status: Status, rate: float) -> dict[str, Any]:
    return {
        "type": "status",
        "time": time.time(),
        "files": len(status.sources),
        "lines": status.lines,
        "lines_per_second": round(rate, 1),
        "templates": status.templates,
        "model_ready": status.model_ready,
        "windows_scored": status.windows_scored,
        "alerts": status.alerts,
        "polling": status.polling,
        "error_summary": dict(sorted(monitor.error_summary.items(), key=lambda kv: -kv[1])[:20]),
        "top_errors": [row.to_dict() for row in monitor.summary(10)],
    }


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="logmonitor")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Watch log directories, learn what normal looks like, and alert on anomalies."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


def _ui_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--host", default="127.0.0.1", show_default=True,
                help="Address of the dashboard and API; other than loopback needs "
                "$LOGMONITOR_TOKEN.",
            ),
            click.option(
                "--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
                help="Port of the dashboard and API (0: any free port).",
            ),
        ]
    ):  # fmt: skip
        command = option(command)
    return command


@cli.command()
@click.argument("directories", nargs=-1, type=click.Path())
@click.option("--ui", is_flag=True, help="Also serve the dashboard and HTTP API (see serve).")
@_ui_options
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="Anomaly score in (0, 1] at or above which a window alerts [0.5].",
)
@click.option(
    "--from-beginning",
    is_flag=True,
    default=None,
    help="Read existing files from their start on the first run, not their end.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite state file (read positions, counts, alerts) "
    "[$XDG_STATE_HOME/logmonitor/state.db].",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A logmonitor.toml with settings; flags win over it.",
)
@click.option(
    "--window", "window_seconds", type=float, default=None, help="Window length in seconds [60]."
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout instead of screens.")
@click.option(
    "--summary-interval",
    type=float,
    default=None,
    help="Seconds between summary screens (JSON status lines) [10].",
)
@click.pass_context
def watch(
    ctx: click.Context,
    directories: Sequence[str],
    ui: bool,
    host: str,
    port: int,
    threshold: float | None,
    from_beginning: bool | None,
    state: str | None,
    config_file: str | None,
    window_seconds: float | None,
    as_json: bool,
    summary_interval: float | None,
) -> None:
    """Follow DIRECTORIES (default /var/log, or log_dirs from --config) and print
    alerts as they happen, with a summary screen every few seconds."""
    settings = _watch_settings(
        directories, threshold, from_beginning, state, config_file, window_seconds,
        summary_interval,
    )  # fmt: skip
    _run_watch(settings, as_json, ctx.obj["verbose"], (host, port) if ui else None)


def _watch_settings(
    directories: Sequence[str],
    threshold: float | None,
    from_beginning: bool | None,
    state: str | None,
    config_file: str | None,
    window_seconds: float | None,
    summary_interval: float | None,
) -> Settings:
    overrides = {
        "log_dirs": tuple(directories) or None,
        "alert_threshold": threshold,
        "from_beginning": from_beginning,
        "window_seconds": window_seconds,
        "summary_interval": summary_interval,
    }
    try:
        settings = load_settings(config_file, overrides=overrides)
        if settings.state is None:
            settings = settings.replace(state=state or default_state_path())
        elif state is not None:
            settings = settings.replace(state=state)
    except LogMonitorError as exc:
        _fail(exc)
    return settings


@cli.command()
@click.argument("directories", nargs=-1, type=click.Path())
@_ui_options
@click.option("--threshold", type=float, default=None, help="Anomaly score threshold [0.5].")
@click.option(
    "--from-beginning", is_flag=True, default=None,
    help="Read existing files from their start on the first run.",
)  # fmt: skip
@click.option(
    "--state", type=click.Path(dir_okay=False), default=None,
    help="SQLite state file [$XDG_STATE_HOME/logmonitor/state.db].",
)  # fmt: skip
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), default=None,
    help="A logmonitor.toml with settings; flags win over it.",
)  # fmt: skip
@click.pass_context
def serve(
    ctx: click.Context, directories: Sequence[str], host: str, port: int,
    threshold: float | None, from_beginning: bool | None, state: str | None,
    config_file: str | None,
) -> None:  # fmt: skip
    """Monitor DIRECTORIES and serve the live dashboard and HTTP API (/docs,
    /metrics), without the terminal summary: for running as a service."""
    settings = _watch_settings(
        directories, threshold, from_beginning, state, config_file, None, None
    )
    _run_watch(settings, True, ctx.obj["verbose"], (host, port), quiet=True)


def _start_ui(monitor: LogMonitor, where: tuple[str, int]) -> Server:
    """The dashboard and API next to the monitor; the token comes from
    $LOGMONITOR_TOKEN (this module reads the environment, the server does not)."""
    from .api import MonitorBackend  # FastAPI loads only when a dashboard is asked for
    from .api import serve as serve_api

    token = os.environ.get("LOGMONITOR_TOKEN") or None
    return serve_api(MonitorBackend(monitor), host=where[0], port=where[1], token=token)


def _setup_logging(verbose: int, console: Console | None) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler: logging.Handler
    if console is not None:
        handler = RichHandler(console=console, show_path=False, markup=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _run_watch(
    settings: Settings,
    as_json: bool,
    verbose: int,
    ui: tuple[str, int] | None = None,
    quiet: bool = False,
) -> None:
    out = Console(stderr=False)
    err = Console(stderr=True)
    interactive = out.is_terminal and not as_json
    _setup_logging(max(verbose, 1) if quiet else verbose, err if err.is_terminal else None)
    jsonl = JsonlSink(sys.stdout) if as_json else None
    sink = jsonl if jsonl is not None else ConsoleSink(out)
    try:
        monitor = LogMonitor(list(settings.log_dirs), settings.alert_threshold,
                             settings=settings, sinks=[] if quiet else [sink])  # fmt: skip
    except LogMonitorError as exc:
        _fail(exc)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    server: Server | None = None
    try:
        monitor.start()
        if ui is not None:
            server = _start_ui(monitor, ui)
        status = monitor.status()
        started = f"watching {len(status.sources)} files in {', '.join(monitor.log_dirs)}"
        url = None if server is None else server.url
        if quiet:
            err.print(f"LogMonitor {__version__} {started}; dashboard on {url}; Ctrl-C to stop")
        elif jsonl is not None:
            jsonl.write({"type": "started", "files": len(status.sources), "dashboard": url,
                         "log_dirs": monitor.log_dirs, "state": settings.state})  # fmt: skip
        else:
            out.print(f"[bold]LogMonitor {__version__}[/] {escape(started)} "
                      f"(state: {escape(str(settings.state))}); Ctrl-C to stop")  # fmt: skip
            if url is not None:
                out.print(f"dashboard on [bold]{url}[/]")
        if quiet:
            while monitor.running:
                time.sleep(0.5)
        else:
            _summary_loop(monitor, settings, out, jsonl, interactive)
        failure = monitor.failure
        if failure is not None:  # the background thread stopped on an error
            if isinstance(failure, LogMonitorError):
                raise failure
            raise MonitorStateError(f"monitoring stopped on an error: {failure}") from failure
    except KeyboardInterrupt:
        pass
    except LogMonitorError as exc:
        monitor.stop()
        _fail(exc)
    finally:
        if server is not None:
            server.stop()  # first: a stopped monitor would fail the dashboard's polls
        monitor.stop()
        signal.signal(signal.SIGTERM, previous)
    if not as_json:
        out.print("stopped; read positions saved")


def _summary_loop(
    monitor: LogMonitor,
    settings: Settings,
    out: Console,
    jsonl: JsonlSink | None,
    interactive: bool,
) -> None:
    last_lines, last_time = monitor.status().lines, time.monotonic()
    live: Live | None = None
    if interactive:
        live = Live(console=out, refresh_per_second=2, transient=False)
        live.start()
    try:
        next_summary = (
            time.monotonic() if interactive else time.monotonic() + settings.summary_interval
        )
        while monitor.running:
            time.sleep(0.5)
            now = time.monotonic()
            if now < next_summary and not interactive:
                continue
            status = monitor.status()
            rate = (status.lines - last_lines) / max(now - last_time, 1e-9)
            if live is not None:
                live.update(render_status(monitor, status, rate))
                if now >= next_summary:
                    last_lines, last_time = status.lines, now
                    next_summary = now + settings.summary_interval
                continue
            last_lines, last_time = status.lines, now
            next_summary = now + settings.summary_interval
            if jsonl is not None:
                jsonl.write(_status_event(monitor, status, rate))
            else:
                out.print(render_status(monitor, status, rate))
    finally:
        if live is not None:
            live.stop()


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="How to print the templates.",
)
@click.option(
    "--per-line",
    is_flag=True,
    help="Instead, one CSV row per input line: line_number,template_id,template "
    "(with a leading file column when several files are given).",
)
@click.option(
    "--max-templates",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Templates kept; past it the least recently seen is evicted.",
)
def patterns(files: Sequence[str], fmt: str, per_line: bool, max_templates: int) -> None:
    """List the templates of FILES with counts and an example: what is in these logs."""
    inventory = Inventory(TemplateMiner(max_templates=max_templates))
    err = Console(stderr=True)
    total = 0
    for path in files:
        try:
            total += os.path.getsize(path)
        except OSError as exc:
            _fail(SourceError(f"cannot read {path}: {exc.strerror}; pass readable log files"))
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=err, transient=True, disable=not err.is_terminal or total < (8 << 20),
    ) as progress:  # fmt: skip
        task = progress.add_task("mining", total=total)
        for path in files:
            try:
                inventory.add_file(path, lambda n: progress.advance(task, n))
            except OSError as exc:
                _fail(SourceError(f"cannot read {path}: {exc.strerror}; pass readable log files"))
    out = sys.stdout
    if per_line:
        writer = csv.writer(out, lineterminator="\n")
        several = len(inventory.files) > 1
        writer.writerow(["file", "line_number", "template_id", "template"][0 if several else 1 :])
        for path in inventory.files:
            for number, tid, template in inventory.per_line(path):
                writer.writerow([path, number, tid, template][0 if several else 1 :])
        return
    rows = inventory.rows()
    if fmt == "json":
        click.echo(json.dumps([row.to_dict() for row in rows], ensure_ascii=False, indent=1))
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["template_id", "count", "template", "example", "path", "line_number"])
        for row in rows:
            writer.writerow(
                [row.template_id, row.count, row.template, row.example, row.path, row.line_number]
            )
    else:
        table = Table(title=f"{len(rows)} templates in {sum(r.count for r in rows):,} records")
        table.add_column("id", justify="right")
        table.add_column("count", justify="right")
        table.add_column("template")
        table.add_column("example", overflow="fold")
        for row in rows:
            table.add_row(str(row.template_id), f"{row.count:,}", escape(row.template),
                          escape(row.example[:200]))  # fmt: skip
        Console().print(table)


# ---------------------------------------------------------------- alerts and feedback

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w`` (or plain seconds) in seconds.

    >>> parse_duration("7d"), parse_duration("90")
    (604800.0, 90.0)
    """
    value = text.strip().lower()
    unit = _UNITS.get(value[-1:]) if value else None
    number = value[:-1] if unit is not None else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a duration; use e.g. 30m, 12h, 7d") from None
    if not seconds > 0:
        raise click.BadParameter(f"{text!r} must be longer than 0")
    return seconds


_state_option = click.option(
    "--state",
    type=click.Path(dir_okay=False),
    default=None,
    help="The monitor's state file "
    "[state from --config, else $XDG_STATE_HOME/logmonitor/state.db].",
)
_config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A logmonitor.toml whose state file to use.",
)


def _open_store(state: str | None, config_file: str | None) -> Store:
    """The state file of a monitor that has run (never a new, empty one)."""
    try:
        path = state
        if path is None and config_file is not None:
            path = load_settings(config_file).state
        path = path or default_state_path()
        if not os.path.exists(path):
            raise StateError(
                f"no state file at {path}; run `logmonitor watch` first or pass --state"
            )
        return Store(path)
    except LogMonitorError as exc:
        _fail(exc)


def _user() -> str:
    """Who acknowledges, for the record (the login name, if there is one)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return f"uid {os.getuid()}"


def _when(t: float | None) -> str:
    return "" if not t else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


@cli.command("alerts")
@_state_option
@_config_option
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
    store = _open_store(state, config_file)
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
            f"{alert.score:.3f}", f"{alert.occurrences}x", _when(alert.last_seen),
            escape(alert.filename), escape(why[:120]),
        )  # fmt: skip
    Console().print(table)


@cli.command()
@click.argument("alert_id", type=int)
@_state_option
@_config_option
def ack(alert_id: int, state: str | None, config_file: str | None) -> None:
    """Acknowledge alert ALERT_ID: it stays firing but is not repeated."""
    store = _open_store(state, config_file)
    try:
        alert = store.ack(alert_id, time.time(), by=_user())
    except LogMonitorError as exc:
        _fail(exc)
    finally:
        store.close()
    click.echo(f"alert {alert.id} acknowledged ({alert.filename})")


@cli.command()
@click.argument("alert_id", type=int)
@click.argument("verdict", type=click.Choice(["false-positive", "true-positive"]))
@_state_option
@_config_option
def feedback(alert_id: int, verdict: str, state: str | None, config_file: str | None) -> None:
    """Say whether alert ALERT_ID was right. A false positive is learned as normal
    and its condition does not alert again; both count in `alerts --stats`."""
    store = _open_store(state, config_file)
    try:
        alert = store.set_feedback(alert_id, verdict, time.time())
    except LogMonitorError as exc:
        _fail(exc)
    finally:
        store.close()
    click.echo(f"alert {alert.id} marked {verdict}")


@cli.command()
@click.option("--template", "template_id", type=int, default=None, help="A template id.")
@click.option("--source", default=None, help="A file, or a directory for all files in it.")
@click.option("--for", "duration", default="1d", show_default=True, help="e.g. 30m, 12h, 7d.")
@click.option("--list", "list_only", is_flag=True, help="List the active mutes instead.")
@_state_option
@_config_option
def mute(
    template_id: int | None, source: str | None, duration: str, list_only: bool,
    state: str | None, config_file: str | None,
) -> None:  # fmt: skip
    """Suppress alerts of a template or a source for a while."""
    if list_only:
        store = _open_store(state, config_file)
        try:
            for m in store.mutes(time.time()):
                click.echo(f"{m.id}\t{m.kind}\t{m.value}\tuntil {_when(m.until)}")
        finally:
            store.close()
        return
    if (template_id is None) == (source is None):
        _fail(ConfigError("pass exactly one of --template ID or --source PATH"))
    seconds = parse_duration(duration)
    store = _open_store(state, config_file)
    try:
        now = time.time()
        kind, value = ("template", str(template_id)) if source is None else ("source", source)
        if kind == "source":
            value = os.path.abspath(value)
        made = store.add_mute(kind, value, now + seconds, now)
    except LogMonitorError as exc:
        _fail(exc)
    finally:
        store.close()
    click.echo(f"muted {made.kind} {made.value} until {_when(made.until)}")


# ---------------------------------------------------------------------- evaluate


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
    from .evaluate import evaluate  # scikit-learn metrics: only this command needs them

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
        _fail(exc)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``logmonitor`` script and ``python -m logmonitor``."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="logmonitor",
                 standalone_mode=True)  # fmt: skip
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``logmonitor watch`` and ``serve``: the monitor with its terminal screens, JSON
lines, or the dashboard."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .. import __version__
from ..config import Settings, default_state_path, load_settings
from ..errors import LogMonitorError, MonitorStateError
from ..sinks.console import ConsoleSink
from ..sinks.jsonl import JsonlSink
from .base import cli, config_option, fail, own_process

if TYPE_CHECKING:
    from ..api import Server
    from ..monitor import LogMonitor
    from ..pipeline import Status

__all__ = ["render_status", "serve", "sparkline", "watch"]


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
@config_option("A logmonitor.toml with settings; flags win over it.")
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
        fail(exc)
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
@config_option("A logmonitor.toml with settings; flags win over it.")
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
    from ..api import MonitorBackend  # FastAPI loads only when a dashboard is asked for
    from ..api import serve as serve_api

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
    from ..monitor import LogMonitor  # here: the other commands need no scikit-learn

    try:
        monitor = LogMonitor(list(settings.log_dirs), settings.alert_threshold,
                             settings=settings, sinks=[] if quiet else [sink])  # fmt: skip
    except LogMonitorError as exc:
        fail(exc)
    # The objects alive now (scikit-learn, SciPy, the restored state: about 100,000)
    # live as long as the process; frozen, the collector's full collections stop
    # walking them (they were 40% of parse + mine time in bench/bench_miner_speed.py
    # while the miner's import loaded scikit-learn). Only when the process is the
    # command's own: frozen objects are never collected, so a program that runs the
    # command in-process keeps its collector as is. The library only pauses it
    # while a batch runs (logmonitor.collector).
    if own_process():
        gc.freeze()
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
        if server is not None:
            server.stop()  # first: a stopped monitor would fail the dashboard's polls
            server = None
        monitor.stop()
        fail(exc)
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

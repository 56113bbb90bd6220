"""What every ``logmonitor`` command shares: the group, errors as exit codes, the
state-file options and small parsers."""

from __future__ import annotations

import getpass
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from .. import __version__
from ..config import default_state_path, load_settings
from ..errors import LogMonitorError, StateError
from ..store import Store

__all__ = [
    "cli",
    "config_option",
    "fail",
    "open_store",
    "own_process",
    "parse_duration",
    "set_own_process",
    "state_option",
    "user",
    "when",
]


def _exit_code(exc: LogMonitorError) -> int:
    return 3 if isinstance(exc, StateError) else 2


def fail(exc: LogMonitorError) -> NoReturn:
    click.echo(f"logmonitor: error: {exc}", err=True)
    sys.exit(_exit_code(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="logmonitor")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Watch log directories, learn what normal looks like, and alert on anomalies."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


_MAX_SECONDS = 100 * 365.25 * 86400
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
    if not 0 < seconds <= _MAX_SECONDS:  # also refuses inf and nan
        raise click.BadParameter(f"{text!r} must be longer than 0 and at most 100 years")
    return seconds


state_option = click.option(
    "--state",
    type=click.Path(dir_okay=False),
    default=None,
    help="The monitor's state file "
    "[state from --config, else $XDG_STATE_HOME/logmonitor/state.db].",
)
F = TypeVar("F", bound=Callable[..., Any])


def config_option(
    help_text: str = "A logmonitor.toml whose state file to use.",
) -> Callable[[F], F]:
    """The ``--config FILE`` option (into ``config_file``) every command takes, with
    what that command uses of the file as its help."""
    return click.option(
        "--config", "config_file", type=click.Path(dir_okay=False), default=None,
        help=help_text,
    )  # fmt: skip


def open_store(state: str | None, config_file: str | None) -> Store:
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
        fail(exc)


def user() -> str:
    """Who acknowledges, for the record (the login name, if there is one)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return f"uid {os.getuid()}"


def when(t: float | None) -> str:
    if not t:
        return ""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
    except (OverflowError, OSError, ValueError):
        return f"{t:.0f}"


_process = {"own": False}


def set_own_process(own: bool) -> None:
    """Record whether this process runs only the command (see ``cli.main``)."""
    _process["own"] = own


def own_process() -> bool:
    """Whether a command may tune the whole process (the garbage collector)."""
    return _process["own"]

"""The ``logmonitor`` command: this package is the only code that prints.

Every :class:`~logmonitor.errors.LogMonitorError` becomes one line on stderr and
an exit code: 2 for bad input (arguments, config, sources), 3 for the state file.
One module per family of commands: :mod:`.watch` (watch, serve), :mod:`.patterns`,
:mod:`.alerts` (alerts, ack, feedback, mute) and :mod:`.evaluate`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import alerts, base, evaluate, patterns, watch  # noqa: F401  (they register commands)
from .base import cli, parse_duration
from .watch import render_status, sparkline

__all__ = ["cli", "main", "parse_duration", "render_status", "sparkline"]


def main(argv: Sequence[str] | None = None, own_process: bool | None = None) -> int:
    """Entry point of the ``logmonitor`` script and ``python -m logmonitor``.

    ``own_process``: whether this process exists only to run the command, so it may
    tune the process (``watch`` then freezes its start-up objects for the garbage
    collector). Default: true when ``argv`` is None (the command line is this
    process's own); a program calling ``main([...])`` keeps its collector as is.
    """
    base.set_own_process(argv is None if own_process is None else own_process)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="logmonitor",
                 standalone_mode=True)  # fmt: skip
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

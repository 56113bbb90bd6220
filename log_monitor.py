"""Run LogMonitor from a checkout: ``python log_monitor.py [DIRECTORIES] [watch options]``.

With no arguments it watches /var/log with the defaults, as the original docs
promise; ``from log_monitor import LogMonitor`` works here too. Needs the
dependencies: ``pip install -r requirements.txt``.
"""

from __future__ import annotations

import importlib.util
import os
import sys

if importlib.util.find_spec("logmonitor") is None:
    # Not installed: use the source tree beside this file.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))

from logmonitor import LogMonitor
from logmonitor.cli import cli, main

__all__ = ["LogMonitor", "main"]

if __name__ == "__main__":
    args = sys.argv[1:]
    # Anything but a command name or the program's own options is for `watch`, so
    # `python log_monitor.py /var/log/app --json` works as `logmonitor watch ...`.
    if not args or args[0] not in (*cli.commands, "-h", "--help", "--version"):
        args = ["watch", *args]
    sys.exit(main(args, own_process=True))

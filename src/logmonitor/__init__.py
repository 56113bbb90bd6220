"""LogMonitor: watch log directories in real time, learn what normal looks like with
an Isolation Forest over log-pattern windows, and raise explained alerts.

>>> from logmonitor import LogMonitor
>>> LogMonitor.__name__
'LogMonitor'
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib as _importlib
import typing as _typing

from . import compiled as _compiled

_compiled.install()  # before any compiled module is imported: see logmonitor.compiled

from .clock import Clock, FakeClock, SystemClock  # noqa: E402
from .config import Settings, load_settings  # noqa: E402
from .errors import ConfigError, LogMonitorError, MonitorStateError, SourceError, StateError  # noqa: E402
from .records import Alert, LogLine, Match, Record, Sample, Score, Window  # noqa: E402

if _typing.TYPE_CHECKING:
    from .monitor import LogMonitor
    from .sinks.base import MemorySink, Sink

# Imported on first use (PEP 562): the monitor brings scikit-learn and SciPy, which
# `logmonitor patterns` and a program using only the parser or the miner never need
# (100,000 objects the garbage collector would walk on every full collection).
_LAZY = {"LogMonitor": ".monitor", "MemorySink": ".sinks.base", "Sink": ".sinks.base"}


if not _typing.TYPE_CHECKING:  # type checkers see the imports above, and no catch-all

    def __getattr__(name: str) -> _typing.Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY})


__all__ = [
    "Alert",
    "Clock",
    "ConfigError",
    "FakeClock",
    "LogLine",
    "LogMonitor",
    "LogMonitorError",
    "Match",
    "MemorySink",
    "MonitorStateError",
    "Record",
    "Sample",
    "Score",
    "Settings",
    "Sink",
    "SourceError",
    "StateError",
    "SystemClock",
    "Window",
    "__version__",
    "load_settings",
]

"""LogMonitor: watch log directories in real time, learn what normal looks like with
an Isolation Forest over log-pattern windows, and raise explained alerts.

>>> from logmonitor import LogMonitor
>>> LogMonitor.__name__
'LogMonitor'
"""

from __future__ import annotations

__version__ = "0.1.0"

from .clock import Clock, FakeClock, SystemClock
from .config import Settings, load_settings
from .errors import ConfigError, LogMonitorError, MonitorStateError, SourceError, StateError
from .monitor import LogMonitor
from .records import Alert, LogLine, Match, Record, Sample, Score, Window
from .sinks.base import MemorySink, Sink

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

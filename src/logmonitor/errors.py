"""The exceptions LogMonitor raises: one root, a small tree.

::

    LogMonitorError                 anything LogMonitor raises on purpose
    ├── ConfigError                 a setting or argument is invalid (names the key and the fix)
    ├── SourceError                 a log source cannot be used (missing, not a directory/file)
    ├── StateError                  the SQLite state file cannot be opened or is not ours
    ├── MonitorStateError           an operation does not fit the monitor's life cycle
    └── DeliveryError               a sink could not deliver a notification (retried)

Every message says what is wrong and how to fix it. The CLI turns any of them into
a one-line message and exit code 2 (3 for ``StateError``); library users catch
``LogMonitorError``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeliveryError",
    "LogMonitorError",
    "MonitorStateError",
    "SourceError",
    "StateError",
]


class LogMonitorError(Exception):
    """Root of every error LogMonitor raises on purpose."""


class ConfigError(LogMonitorError, ValueError):
    """A setting or constructor argument is invalid; the message names it and the fix."""


class SourceError(LogMonitorError):
    """A log source (directory or file) cannot be used."""


class StateError(LogMonitorError):
    """The state database cannot be opened, or it was written by something else."""


class MonitorStateError(LogMonitorError, RuntimeError):
    """The call does not fit the monitor's life cycle (e.g. start() twice)."""


class DeliveryError(LogMonitorError):
    """A sink could not deliver a notification.

    ``retryable`` says whether trying again later can help (a timeout, a 5xx, 429)
    or not (a 4xx such as a revoked webhook); ``retry_after`` is the wait the
    receiver asked for, in seconds. The message never contains a secret.
    """

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after

"""Where alerts go: one small interface, and an in-memory sink for tests and embedding."""

from __future__ import annotations

import threading
from typing import Protocol

from ..records import Alert

__all__ = ["MemorySink", "Sink"]


class Sink(Protocol):
    """Receives each new alert once. ``send`` must not block for long."""

    def send(self, alert: Alert) -> None: ...

    def close(self) -> None: ...


class MemorySink:
    """Keeps what it was sent (bounded: the newest ``max_alerts``).

    >>> sink = MemorySink()
    >>> sink.send(Alert("a.log", 0.8, 0.0))
    >>> [a.filename for a in sink.alerts]
    ['a.log']
    """

    def __init__(self, max_alerts: int = 10_000) -> None:
        self.max_alerts = max_alerts
        self._alerts: list[Alert] = []
        self._lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        with self._lock:
            self._alerts = [*self._alerts[-(self.max_alerts - 1) :], alert]

    @property
    def alerts(self) -> list[Alert]:
        with self._lock:
            return list(self._alerts)

    def close(self) -> None:
        """Nothing to release."""

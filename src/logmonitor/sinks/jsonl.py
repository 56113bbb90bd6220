"""Alerts as JSON lines on a stream (``--json``) or appended to a file."""

from __future__ import annotations

import json
import threading
from typing import IO

from ..records import Alert
from .notification import Notification

__all__ = ["JsonlSink"]


class JsonlSink:
    """Writes ``{"type": "alert", ...}`` per alert, flushed at once.

    As a ``NotificationSink`` it writes ``{"type": "notification", ...}``: the
    notification's kind, idempotency key and alerts.
    """

    def __init__(self, stream: IO[str], close_stream: bool = False, name: str = "jsonl") -> None:
        self.stream = stream
        self.close_stream = close_stream
        self.name = name
        self._lock = threading.Lock()

    @classmethod
    def to_file(cls, path: str, name: str = "jsonl") -> JsonlSink:
        return cls(open(path, "a", encoding="utf-8"), close_stream=True, name=name)

    def send(self, alert: Alert) -> None:
        self.write({"type": "alert", **alert.to_dict()})

    def deliver(self, notification: Notification) -> None:
        self.write({"type": "notification", **notification.to_dict()})

    def write(self, event: dict[str, object]) -> None:
        line = json.dumps(event, ensure_ascii=False, default=str)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.close_stream:
            self.stream.close()

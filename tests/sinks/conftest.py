"""Real loopback receivers for the sink tests, and alerts that carry an explanation.

``Receiver`` is a real HTTP server (``http.server.ThreadingHTTPServer`` on
127.0.0.1) that records what it accepted and answers with a scripted list of
statuses, so a test can make it fail, go away and come back.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from logmonitor.records import Alert, Sample

# The shape of logmonitor.detect.explain.Explanation.to_dict().
EXPLANATION: dict[str, Any] = {
    "score": 0.91,
    "threshold": 0.5,
    "reason": "novelty (score 0.91 vs threshold 0.50): spike template 3",
    "scores": {"iforest": 0.61, "novelty": 0.91},
    "fired": ["iforest", "novelty"],
    "deviations": [
        {
            "template_id": 3,
            "template": "Connection to <*> failed",
            "kind": "spike",
            "observed": 120,
            "expected": 2.5,
            "detector": "rate",
            "strength": 0.9,
        }
    ],
    "new_templates": [9],
    "samples": [],
}


def make_alert(
    filename: str = "/var/log/app.log", score: float = 0.91, n: int = 0, **extra: Any
) -> Alert:
    values: dict[str, Any] = {
        "filename": filename,
        "score": score,
        "time": 1_700_000_060.0 + n,
        "id": n + 1,
        "threshold": 0.5,
        "window_start": 1_700_000_000.0 + n,
        "window_end": 1_700_000_060.0 + n,
        "template_ids": (3, 9),
        "templates": ("Connection to <*> failed", "Out of memory: kill process <*>"),
        "sample_lines": (
            Sample(filename, 42, "ERROR Connection to db:5432 failed <timeout>", 3),
            Sample(filename, 57, "Out of memory: kill process 1234", 9),
        ),
        "lines": 250,
        "errors": 121,
        "fingerprint": f"fp-{filename}-{n}",
        "severity": "critical",
        "first_seen": 1_700_000_000.0 + n,
        "last_seen": 1_700_000_060.0 + n,
        "occurrences": 3,
        "explanation": EXPLANATION,
    }
    values.update(extra)
    return Alert(**values)


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    headers: dict[str, str]
    body: Any
    status: int


@dataclass
class Receiver:
    """An HTTP receiver on loopback that answers POSTs with ``script`` (then 200)."""

    port: int = 0
    script: list[int] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with receiver._lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.requests.append(
                        Request(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            json.loads(raw),
                            status,
                        )
                    )
                body = b"ok" if status < 300 else b"no_service"
                self.send_response(status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test asserts on what was received."""

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.status < 300]

    def all(self) -> list[Request]:
        with self._lock:
            return list(self.requests)


def free_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()

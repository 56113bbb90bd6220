"""A real in-memory backend and real servers on loopback for the API tests.

:class:`MemoryBackend` is a complete implementation of the ``Backend`` protocol
(as httpx's ``MockTransport`` is a real transport): tests put alerts and
sources in it and read what the API did to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import httpx
import pytest

from logmonitor.alerts.summary import ErrorTypeSummary
from logmonitor.api import Server, create_app, serve
from logmonitor.api.backend import (
    SCORE_BUCKETS,
    Ack,
    AlertPage,
    AlertQuery,
    AlertView,
    Feedback,
    PatternView,
    ScoreHistogram,
    Severity,
    StatPoint,
    Verdict,
    severity,
)
from logmonitor.pipeline import Status
from logmonitor.records import Alert, Sample
from logmonitor.sources.base import SourceStats

TOKEN = "s3cret-token-for-tests"
WRITE = {"X-LogMonitor": "1"}


def make_alert(alert_id: int, filename: str = "/var/log/app.log", score: float = 0.7,
               time: float = 1000.0) -> Alert:  # fmt: skip
    sample = Sample(filename, alert_id * 10, f"ERROR disk failed {alert_id}", 7)
    return Alert(
        filename=filename, score=score, time=time, id=alert_id, threshold=0.5,
        window_start=time - 60, window_end=time, template_ids=(7,),
        templates=("ERROR disk failed <*>",), sample_lines=(sample,), lines=40, errors=12,
        first_seen=time, last_seen=time,
    )  # fmt: skip


class MemoryBackend:
    """Alerts, sources and summaries held in memory; thread-safe like the real one."""

    def __init__(self) -> None:
        self.threshold = 0.5
        self.sources = [
            SourceStats("/var/log/app.log", "/var/log/app.log", offset=900, size=1000, lines=42,
                        truncated_lines=1, rotations=2, truncations=0, errors=0),
            SourceStats("/var/log/db.log", "/var/log/db.log", offset=50, size=50, lines=5),
        ]  # fmt: skip
        self.status_calls = 0
        self._alerts: list[Alert] = []
        self._acks: dict[int, Ack] = {}
        self._feedback: dict[int, Feedback] = {}
        self._lock = threading.Lock()

    def add(self, *alerts: Alert) -> None:
        with self._lock:
            self._alerts.extend(alerts)

    def status(self) -> Status:
        with self._lock:
            self.status_calls += 1
            return Status(
                sources=tuple(replace(s) for s in self.sources), lines=47, templates=9,
                windows_scored=30, windows_learned=28, model_ready=True,
                alerts=len(self._alerts), open_windows=2, polling=False, last_score=0.42,
                skipped_files=3, notifications_dropped=4,
            )  # fmt: skip

    def _view(self, alert: Alert) -> AlertView:
        alert_id = alert.id or 0
        return AlertView(
            alert, severity(alert.score, alert.threshold),
            self._acks.get(alert_id), self._feedback.get(alert_id),
        )  # fmt: skip

    def alerts(self, query: AlertQuery) -> AlertPage:
        with self._lock:
            views = [self._view(a) for a in reversed(self._alerts)]
        matching = [v for v in views if query.matches(v)]
        return AlertPage(tuple(matching[query.offset : query.offset + query.limit]), len(matching))

    def alert(self, alert_id: int) -> AlertView | None:
        with self._lock:
            return next((self._view(a) for a in self._alerts if a.id == alert_id), None)

    def alerts_after(self, alert_id: int, limit: int) -> list[AlertView]:
        with self._lock:
            return [self._view(a) for a in self._alerts[-limit:] if (a.id or 0) > alert_id]

    def alert_counts(self) -> dict[Severity, int]:
        counts: dict[Severity, int] = {"warning": 0, "critical": 0}
        with self._lock:
            for alert in self._alerts:
                counts[severity(alert.score, alert.threshold)] += 1
        return counts

    def ack(self, alert_id: int, by: str) -> AlertView | None:
        if self.alert(alert_id) is None:
            return None
        with self._lock:
            self._acks.setdefault(alert_id, Ack(by, 5.0))
        return self.alert(alert_id)

    def feedback(self, alert_id: int, verdict: Verdict, note: str) -> AlertView | None:
        if self.alert(alert_id) is None:
            return None
        with self._lock:
            self._feedback[alert_id] = Feedback(verdict, note, 6.0)
        return self.alert(alert_id)

    def summary(self, limit: int) -> list[ErrorTypeSummary]:
        items = [
            ErrorTypeSummary("OSError", 12, 900.0, 1000.0, ("/var/log/app.log",),
                             "ERROR disk failed: OSError", (0, 1, 11)),
            ErrorTypeSummary("TimeoutError", 3, 950.0, 990.0, ("/var/log/db.log",),
                             "ERROR query: TimeoutError", (1, 1, 1)),
        ]  # fmt: skip
        return items[:limit]

    def patterns(self, limit: int) -> list[PatternView]:
        rows = [PatternView(f"request <*> served in {i} ms", 100 - i, 1.0, 2.0, ("x",), i)
                for i in range(30)]  # fmt: skip
        return rows[:limit]

    def history(self, limit: int) -> list[StatPoint]:
        points = [StatPoint(1000.0 + i, {"/var/log/app.log": 10 * i}, i, 0.3) for i in range(5)]
        return points[-limit:]

    def score_histogram(self) -> ScoreHistogram:
        counts = [0, 0, 1, 3, 5, 6, 6, 7, 7, 7]
        return ScoreHistogram(tuple(zip(SCORE_BUCKETS, counts, strict=True)), 7, 3.5)


@pytest.fixture
def backend() -> MemoryBackend:
    memory = MemoryBackend()
    memory.add(
        make_alert(1, score=0.62, time=1000.0),
        make_alert(2, "/var/log/db.log", score=0.9, time=2000.0),
        make_alert(3, score=0.8, time=3000.0),
    )
    return memory


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """Start servers (stopped at the end of the test) with ``serve``'s arguments."""
    servers: list[Server] = []

    def start(backend: MemoryBackend, **options: object) -> Server:
        server = serve(backend, port=0, **options)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def start_app() -> Iterator[Callable[..., Server]]:
    """Start ``create_app(backend, **options)`` on loopback, for options ``serve`` hides."""
    servers: list[Server] = []

    def start(backend: MemoryBackend, **options: object) -> Server:
        server = Server(create_app(backend, **options), "127.0.0.1", 0).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def client(backend: MemoryBackend, start_server: Callable[..., Server]) -> Iterator[httpx.Client]:
    server = start_server(backend)
    with httpx.Client(base_url=server.url) as http:
        yield http


def assert_error(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, object]:
    """The one error shape, with ``status`` (and ``code``) in the body too."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"status", "code", "message", "details"}
    assert error["status"] == status
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], list)
    if code is not None:
        assert error["code"] == code
    return error  # type: ignore[no-any-return]

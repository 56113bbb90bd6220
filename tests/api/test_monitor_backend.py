"""``MonitorBackend`` over a real ``LogMonitor`` (fake clock, real files and SQLite),
and the API over it through a real server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from logmonitor import FakeClock, LogMonitor
from logmonitor.api import AlertQuery, MonitorBackend, Server

from .conftest import WRITE

SMALL = {"window_seconds": 1, "warmup_windows": 8, "window_grace": 0.2}
BURST = "CRITICAL disk /dev/sda failed"


def append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


@pytest.fixture
def monitor(log_dir: Path, tmp_path: Path, clock: FakeClock) -> Iterator[LogMonitor]:
    """Steady traffic past the warm-up, then a burst: one alert in the state file."""
    path = log_dir / "app.log"
    path.touch()
    running = LogMonitor([str(log_dir)], 0.5, state=str(tmp_path / "s.db"), clock=clock, **SMALL)
    for i in range(12):
        append(
            path, [f"INFO request {n} served in {n % 7 + 2} ms" for n in range(i * 3, i * 3 + 3)]
        )
        append(path, [f"ERROR job {i} failed: TimeoutError: queue full"])
        running.process_log_file(str(path))
        clock.advance(1.0)
    append(path, [f"{BURST}: OSError: I/O error {n}" for n in range(200)])
    running.process_log_file(str(path))
    for _ in range(2):  # past the burst window's end and grace, so it is scored
        clock.advance(1.0)
        running.process_log_file(str(path))
    assert running.alerts, "the burst must alert for these tests to mean anything"
    yield running
    running.stop()


@pytest.fixture
def backend(monitor: LogMonitor) -> MonitorBackend:
    return MonitorBackend(monitor, clock=lambda: 1_700_000_100.0)


def test_alerts_come_from_the_state_file_with_severity(
    backend: MonitorBackend, monitor: LogMonitor
) -> None:
    page = backend.alerts(AlertQuery())
    assert page.total == len(monitor.recent_alerts()) >= 1
    newest = page.alerts[0]
    assert newest.alert == monitor.recent_alerts()[-1]
    assert newest.status == "open"
    assert backend.alert(newest.id) == newest
    assert backend.alert(10_000) is None


def test_filters_and_alerts_after(backend: MonitorBackend, monitor: LogMonitor) -> None:
    newest = monitor.recent_alerts()[-1]
    assert backend.alerts(AlertQuery(source="/elsewhere.log")).total == 0
    assert backend.alerts(AlertQuery(since=newest.time + 1)).total == 0
    assert newest.id is not None
    assert backend.alerts_after(newest.id, 10) == []
    assert [v.id for v in backend.alerts_after(newest.id - 1, 10)] == [newest.id]


def test_ack_and_feedback_are_kept_per_alert(backend: MonitorBackend) -> None:
    view = backend.alerts(AlertQuery()).alerts[0]
    acked = backend.ack(view.id, "alice")
    assert acked is not None
    assert acked.status == "acked"
    assert acked.ack is not None
    assert acked.ack.by == "alice"
    assert backend.alerts(AlertQuery(status="open")).total == backend.alerts(AlertQuery()).total - 1
    rated = backend.feedback(view.id, "false_positive", "planned maintenance")
    assert rated is not None
    assert rated.feedback is not None
    assert rated.feedback.verdict == "false_positive"
    assert backend.ack(10_000, "alice") is None
    assert backend.feedback(10_000, "true_positive", "") is None


def test_acks_and_feedback_live_in_the_state_file(monitor: LogMonitor) -> None:
    first = MonitorBackend(monitor)
    alert_id = first.alerts(AlertQuery()).alerts[0].id
    first.ack(alert_id, "bob")
    first.feedback(alert_id, "true_positive", "disk replaced")
    again = MonitorBackend(monitor).alert(alert_id)  # a new adapter reads them back
    assert again is not None
    assert again.ack is not None
    assert again.ack.by == "bob"
    assert again.feedback is not None
    assert (again.feedback.verdict, again.feedback.note) == ("true_positive", "disk replaced")
    assert again.feedback.at > 0  # when it was given, read back from the state file
    stored = monitor.alert(alert_id)
    assert stored is not None
    assert (stored.acked_by, stored.feedback) == ("bob", "true-positive")


def test_patterns_are_the_mined_templates_with_counts_and_examples(
    backend: MonitorBackend,
) -> None:
    patterns = backend.patterns(20)
    burst = [p for p in patterns if p.template.startswith(BURST)]
    assert burst
    assert burst[0].count == 200
    assert burst[0].examples[0].startswith(BURST)
    assert all(p.count > 0 for p in patterns)
    assert [p.count for p in patterns] == sorted((p.count for p in patterns), reverse=True)
    assert len(backend.patterns(1)) == 1


def test_history_records_observations_and_scores(
    backend: MonitorBackend, monitor: LogMonitor, clock: FakeClock, log_dir: Path
) -> None:
    backend.status()
    first = backend.history(10)
    assert len(first) == 1
    assert first[0].lines == {str(log_dir / "app.log"): monitor.status().lines}
    path = log_dir / "app.log"
    append(path, ["INFO request 1 served in 3 ms"] * 3)
    monitor.process_log_file(str(path))
    clock.advance(2.0)
    monitor.process_log_file(str(path))  # closes and scores the window
    backend.status()
    last = backend.history(10)[-1]
    assert last.score is not None
    assert 0.0 <= last.score <= 1.0
    histogram = backend.score_histogram()
    assert histogram.count == 1
    assert histogram.buckets[-1] == (1.0, 1)


def test_the_api_over_a_real_monitor(
    backend: MonitorBackend, start_server: Callable[..., Server], log_dir: Path
) -> None:
    server = start_server(backend)
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/api/resource").json() == {
            "resources": [{"id": 1, "name": str(log_dir / "app.log")}]
        }
        alert = client.get("/api/alerts", params={"limit": 1}).json()["alerts"][0]
        assert any(s["text"].startswith(BURST) for s in alert["sample_lines"])
        acked = client.post(f"/api/alerts/{alert['id']}/ack", headers=WRITE).json()
        assert acked["status"] == "acked"
        metrics = client.get("/metrics").text
        assert "logmonitor_files_skipped 0.0" in metrics
        assert "logmonitor_notifications_dropped_total 0.0" in metrics
        summary = client.get("/api/summary").json()["error_types"]
        assert {e["error_type"] for e in summary} >= {"TimeoutError", "OSError"}


def test_a_monitor_that_died_is_not_healthy(backend: MonitorBackend, monitor: LogMonitor) -> None:
    from logmonitor.errors import MonitorStateError, StateError

    backend.status()  # alive
    monitor._ready().failure = StateError("disk full")
    with pytest.raises(MonitorStateError, match="disk full"):
        backend.status()  # /healthz answers 503 from this

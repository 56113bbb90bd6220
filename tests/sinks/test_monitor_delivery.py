"""End to end: an anomaly in a watched file becomes one grouped notification at a
real webhook receiver on loopback (Alertmanager's payload), and a notification
that could not be delivered before a restart is delivered after it, once."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from logmonitor import FakeClock, LogMonitor

from ..conftest import wait_for
from .conftest import Receiver

FAST = {"window_seconds": 1, "warmup_windows": 8, "window_grace": 0.2, "group_wait": 0}
RETRY_FAST = {"retry_base": 0.01, "retry_max": 0.05, "jitter": 0}


def drive(monitor: LogMonitor, app: Path, clock: FakeClock) -> None:
    """Steady traffic past the warm-up, then a burst of a new error."""

    def window(lines: list[str]) -> None:
        with app.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
        monitor.process_log_file(str(app))
        clock.advance(1.0)

    for n in range(12):
        window([f"INFO request {i} served in {i % 7 + 2} ms" for i in range(n * 3, n * 3 + 3)])
    window([f"CRITICAL disk /dev/sda failed: OSError: I/O error {i}" for i in range(200)])
    for _ in range(3):
        window([])


def monitor_for(log_dir: Path, state: Path, clock: FakeClock, sink: dict[str, Any]) -> LogMonitor:
    return LogMonitor(
        [str(log_dir)], 0.5, state=str(state), clock=clock, sinks=[sink], environ={},
        delivery=RETRY_FAST, **FAST,
    )  # fmt: skip


def test_an_anomaly_reaches_a_webhook_as_an_alertmanager_notification(
    log_dir: Path, tmp_path: Path, clock: FakeClock, receiver: Receiver
) -> None:
    app = log_dir / "app.log"
    app.touch()
    sink = {"type": "webhook", "url": receiver.url(), "format": "alertmanager"}
    monitor = monitor_for(log_dir, tmp_path / "s.db", clock, sink)
    try:
        drive(monitor, app, clock)
        (alert,) = monitor.alerts
        wait_for(lambda: len(receiver.accepted()) >= 1)
    finally:
        monitor.stop()
    (request,) = receiver.accepted()
    body = request.body
    assert body["version"] == "4"
    assert body["status"] == "firing"
    (sent,) = body["alerts"]
    assert sent["fingerprint"] == hashlib.sha256(alert.fingerprint.encode()).hexdigest()[:16]
    assert sent["annotations"]["score"] == f"{alert.score:.6f}"
    assert sent["labels"]["severity"] == alert.severity
    assert str(app) in str(sent["labels"])
    assert "idempotency-key" in request.headers


def test_a_notification_pending_at_a_stop_is_delivered_after_the_restart_once(
    log_dir: Path, tmp_path: Path, clock: FakeClock, receiver: Receiver
) -> None:
    app = log_dir / "app.log"
    app.touch()
    receiver.script = [503] * 100_000  # down for the whole first run
    sink = {"type": "webhook", "url": receiver.url()}
    first = monitor_for(log_dir, tmp_path / "s.db", clock, sink)
    try:
        drive(first, app, clock)
        assert len(first.alerts) == 1
        wait_for(lambda: len(receiver.all()) >= 2)  # tried, and retried
    finally:
        first.stop()
    assert receiver.accepted() == []
    with receiver._lock:
        receiver.script = []  # back up
    second = monitor_for(log_dir, tmp_path / "s.db", clock, sink)
    try:
        second.process_log_file(str(app))  # starts it: the outbox is read again
        wait_for(lambda: len(receiver.accepted()) >= 1)
        assert second.deliverer is not None
        assert second.deliverer.drain(10.0)
    finally:
        second.stop()
    (delivered,) = receiver.accepted()
    assert delivered.body["kind"] == "firing"
    keys = {r.headers["idempotency-key"] for r in receiver.all()}
    assert len(keys) == 1  # every attempt was the same notification


def test_an_hourly_digest_tells_the_hours_alerts_errors_and_new_patterns(
    log_dir: Path, tmp_path: Path, clock: FakeClock, receiver: Receiver
) -> None:
    app = log_dir / "app.log"
    app.touch()
    sink = {"type": "webhook", "url": receiver.url()}
    monitor = LogMonitor(
        [str(log_dir)], 0.5, state=str(tmp_path / "s.db"), clock=clock, sinks=[sink],
        environ={}, delivery=RETRY_FAST, digest="hourly", **FAST,
    )  # fmt: skip
    try:
        drive(monitor, app, clock)  # an alert, in the hour that started at the fake epoch
        clock.advance(3600.0)
        monitor.process_log_file(str(app))  # the hour ended: its digest goes out
        wait_for(lambda: any(r.body["kind"] == "digest" for r in receiver.accepted()))
        monitor.process_log_file(str(app))  # at most one digest per period
        assert monitor.deliverer is not None
        assert monitor.deliverer.drain(10.0)
    finally:
        monitor.stop()
    digests = [r.body for r in receiver.accepted() if r.body["kind"] == "digest"]
    assert len(digests) == 1
    (digest,) = digests
    assert digest["title"].startswith("LogMonitor digest")
    text = digest["text"]
    assert "1 alerts in this period" in text
    assert "OSError" in text  # the burst's error type, among the top ones
    assert "New patterns" in text
    assert "CRITICAL disk /dev/sda failed" in text


def test_the_digest_period_survives_a_restart(
    log_dir: Path, tmp_path: Path, clock: FakeClock, receiver: Receiver
) -> None:
    app = log_dir / "app.log"
    app.write_text("INFO hello 1\n")
    options: dict[str, Any] = {
        "state": str(tmp_path / "s.db"), "clock": clock, "sinks": [{"type": "webhook",
        "url": receiver.url()}], "environ": {}, "delivery": RETRY_FAST, "digest": "hourly",
        "from_beginning": True,
    }  # fmt: skip
    first = LogMonitor([str(log_dir)], 0.5, **options)
    first.process_log_file(str(app))
    clock.advance(3600.0)
    first.process_log_file(str(app))
    wait_for(lambda: len(receiver.accepted()) == 1)
    first.stop()
    second = LogMonitor([str(log_dir)], 0.5, **options)
    second.process_log_file(str(app))  # same period: nothing new to tell
    second.stop()
    assert len(receiver.accepted()) == 1

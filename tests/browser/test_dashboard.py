"""The dashboard in headless Chromium, over a REAL LogMonitor watching a temp directory.

Steady traffic is written until the model is ready; then an anomalous burst is
written and the alert must appear in the live feed without a reload; the test
opens it, acks it, and saves screenshots under ``tests/artifacts/``. Waits are
hang guards on conditions, never durations.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from logmonitor import Alert, LogMonitor
from logmonitor.api import MonitorBackend, Server, serve

from ..conftest import wait_for

# One-second windows and a short warm-up, so the forest scores within seconds.
SMALL = {"window_seconds": 1, "warmup_windows": 8, "window_grace": 0.2, "poll_interval": 0.2}
BURST = "CRITICAL disk /dev/sda failed"
HANG_GUARD_MS = 120_000


def append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


class Traffic:
    """Writes steady, normal lines to two logs from a thread until stopped."""

    def __init__(self, log_dir: Path) -> None:
        self.app = log_dir / "app.log"
        self.db = log_dir / "db.log"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(0.25):
            append(
                self.app, [f"INFO request {n + i} served in {(n + i) % 7 + 2} ms" for i in range(3)]
            )
            append(self.db, [f"INFO query {n} took {n % 5 + 1} ms"])
            if n % 4 == 0:
                append(self.db, [f"ERROR query {n} failed: TimeoutError: pool exhausted"])
            n += 1

    def __enter__(self) -> Traffic:
        self.app.touch()
        self.db.touch()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def monitor(log_dir: Path, tmp_path: Path) -> Iterator[LogMonitor]:
    with LogMonitor([str(log_dir)], 0.5, state=str(tmp_path / "state.db"), **SMALL) as running:
        yield running


@pytest.fixture
def server(monitor: LogMonitor) -> Iterator[Server]:
    with serve(MonitorBackend(monitor), port=0) as running:
        yield running


def burst_alerts(monitor: LogMonitor) -> list[Alert]:
    return [a for a in monitor.alerts if any(s.text.startswith(BURST) for s in a.sample_lines)]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(HANG_GUARD_MS)
    yield opened
    context.close()


def test_a_burst_appears_live_and_is_acked(
    monitor: LogMonitor, server: Server, page: Page, log_dir: Path, artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with Traffic(log_dir) as traffic:
        wait_for(lambda: monitor.status().model_ready, timeout=120)
        page.goto(server.url)
        expect(page.locator("#live")).to_have_text("live")
        expect(page.locator("#model")).to_have_text("model ready")
        # Marks this document: after the alert it must still be the same one (no reload).
        page.evaluate("window.__loadedOnce = true")
        append(traffic.app, [f"{BURST}: OSError: I/O error {n}" for n in range(200)])
        wait_for(lambda: burst_alerts(monitor), timeout=120)
        alert_id = burst_alerts(monitor)[0].id
        item = page.locator(f'#feed li[data-id="{alert_id}"]')
        expect(item).to_be_visible()
        assert page.evaluate("window.__loadedOnce") is True
        expect(page.locator("#stat-windows")).not_to_have_text("0")
        page.screenshot(path=str(artifacts / "dashboard.png"))

        item.click()
        expect(page.locator("#a-title")).to_have_text(f"Alert #{alert_id}")
        expect(page.locator("#a-samples")).to_contain_text(BURST)
        expect(page.locator("#a-explain li").first).to_contain_text("threshold")
        expect(page.locator("#a-status")).to_have_text("open")
        page.locator("#btn-ack").click()
        expect(page.locator("#a-status")).to_have_text("acked by dashboard")
        expect(page.locator("#btn-ack")).to_be_disabled()
        page.locator("#btn-tp").click()
        expect(page.locator("#a-feedback")).to_have_text("real problem")
        page.screenshot(path=str(artifacts / "dashboard-alert.png"), full_page=True)

    stored = httpx.get(f"{server.url}/api/alerts/{alert_id}").json()
    assert stored["status"] == "acked"
    assert stored["feedback"]["verdict"] == "true_positive"
    page.locator(".back").click()
    expect(page.locator(f'#feed li[data-id="{alert_id}"]')).to_have_class("acked")
    assert errors == [], errors

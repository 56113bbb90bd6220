"""The CLI's outputs name each alert's reason and sample lines: the console panel
and the JSON line."""

from __future__ import annotations

import io
import json

from rich.console import Console

from logmonitor.sinks.console import ConsoleSink
from logmonitor.sinks.jsonl import JsonlSink

from .conftest import make_alert


def test_the_console_panel_shows_the_reason_the_deviations_and_sample_lines() -> None:
    console = Console(record=True, width=200)
    ConsoleSink(console).send(make_alert())
    shown = console.export_text()
    assert "novelty (score 0.91 vs threshold 0.50): spike template 3" in shown
    assert "spike template #3 'Connection to <*> failed': observed 120, expected 2.5" in shown
    assert "app.log:42" in shown
    assert "critical" in shown


def test_the_json_line_carries_the_explanation_and_sample_lines() -> None:
    out = io.StringIO()
    JsonlSink(out).send(make_alert())
    event = json.loads(out.getvalue())
    assert event["type"] == "alert"
    assert event["explanation"]["reason"].startswith("novelty")
    assert event["sample_lines"][0]["line_number"] == 42

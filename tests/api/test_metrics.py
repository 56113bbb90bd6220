"""``/metrics`` parses with prometheus-client's own text-format parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from .conftest import MemoryBackend


def scrape(client: httpx.Client) -> dict[str, list[Sample]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    return next(s.value for s in samples if s.name == name and s.labels == labels)


def test_metrics_parse_and_carry_the_monitors_numbers(client: httpx.Client) -> None:
    families = scrape(client)
    app = {"source": "/var/log/app.log"}
    assert value(families["logmonitor_source_lines"], "logmonitor_source_lines_total", **app) == 42
    assert (
        value(families["logmonitor_source_lag_bytes"], "logmonitor_source_lag_bytes", **app) == 100
    )
    assert (
        value(
            families["logmonitor_source_truncated_lines"],
            "logmonitor_source_truncated_lines_total",
            **app,
        )
        == 1
    )
    assert (
        value(families["logmonitor_source_rotations"], "logmonitor_source_rotations_total", **app)
        == 2
    )
    assert value(families["logmonitor_templates"], "logmonitor_templates") == 9
    assert value(families["logmonitor_files_skipped"], "logmonitor_files_skipped") == 3
    dropped = families["logmonitor_notifications_dropped"]
    assert value(dropped, "logmonitor_notifications_dropped_total") == 4
    assert value(families["logmonitor_windows_scored"], "logmonitor_windows_scored_total") == 30
    alerts = families["logmonitor_alerts"]
    assert value(alerts, "logmonitor_alerts_total", severity="critical") == 2
    assert value(alerts, "logmonitor_alerts_total", severity="warning") == 1
    histogram = families["logmonitor_window_score_ratio"]
    assert value(histogram, "logmonitor_window_score_ratio_bucket", le="0.5") == 5
    assert value(histogram, "logmonitor_window_score_ratio_bucket", le="+Inf") == 7
    assert value(histogram, "logmonitor_window_score_ratio_count") == 7
    assert value(histogram, "logmonitor_window_score_ratio_sum") == 3.5


def test_every_metric_is_prefixed_and_counters_end_in_total(client: httpx.Client) -> None:
    response = client.get("/metrics")
    for family in text_string_to_metric_families(response.text):
        assert family.name.startswith("logmonitor_"), family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)


def test_metrics_are_read_at_scrape_time(client: httpx.Client, backend: MemoryBackend) -> None:
    backend.sources[0].lines = 1000
    families = scrape(client)
    lines = families["logmonitor_source_lines"]
    assert value(lines, "logmonitor_source_lines_total", source="/var/log/app.log") == 1000

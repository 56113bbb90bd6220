"""``/metrics``: a prometheus-client collector that reads the backend at scrape time.

Each app has its own ``CollectorRegistry`` (two apps in one process, as in the
tests, never share or collide), and nothing is counted twice: every value is
read from the monitor when Prometheus asks, so the page is always consistent
with ``/api/sources`` and ``/api/stats``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .backend import Backend
from .events import Hub

__all__ = ["MonitorCollector", "make_registry"]


class MonitorCollector(Collector):
    """The monitor's counters and gauges, named ``logmonitor_*`` with their units."""

    def __init__(self, backend: Backend, hub: Hub) -> None:
        self.backend = backend
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        backend = self.backend
        status = backend.status()
        label = ["source"]
        per_source: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            "lines": CounterMetricFamily(
                "logmonitor_source_lines", "Lines read from the source.", labels=label
            ),
            "truncated": CounterMetricFamily(
                "logmonitor_source_truncated_lines",
                "Lines cut at max_line_bytes (the rest of each was dropped).", labels=label,
            ),
            "rotations": CounterMetricFamily(
                "logmonitor_source_rotations", "Times the file was rotated.", labels=label
            ),
            "truncations": CounterMetricFamily(
                "logmonitor_source_truncations", "Times the file was truncated.", labels=label
            ),
            "errors": CounterMetricFamily(
                "logmonitor_source_read_errors", "Failed reads of the source.", labels=label
            ),
            "lag": GaugeMetricFamily(
                "logmonitor_source_lag_bytes",
                "Bytes written to the file but not yet processed (ingestion lag).",
                labels=label,
            ),
            "size": GaugeMetricFamily(
                "logmonitor_source_size_bytes", "The file's size at the last read.", labels=label
            ),
        }  # fmt: skip
        for s in status.sources:
            labels = [s.source]
            per_source["lines"].add_metric(labels, s.lines)
            per_source["truncated"].add_metric(labels, s.truncated_lines)
            per_source["rotations"].add_metric(labels, s.rotations)
            per_source["truncations"].add_metric(labels, s.truncations)
            per_source["errors"].add_metric(labels, s.errors)
            per_source["lag"].add_metric(labels, max(s.size - s.offset, 0))
            per_source["size"].add_metric(labels, s.size)
        yield from per_source.values()
        yield CounterMetricFamily(
            "logmonitor_lines", "Lines processed, all sources, all runs.", value=status.lines
        )
        yield GaugeMetricFamily(
            "logmonitor_templates", "Message templates the miner keeps.", value=status.templates
        )
        yield GaugeMetricFamily(
            "logmonitor_files_skipped", "Files left out at the last scan (past max_files).",
            value=status.skipped_files,
        )  # fmt: skip
        yield CounterMetricFamily(
            "logmonitor_notifications_dropped",
            "Undelivered notifications pushed out of a full outbox.",
            value=status.notifications_dropped,
        )
        yield CounterMetricFamily(
            "logmonitor_windows_scored", "Windows scored by the model.", value=status.windows_scored
        )
        yield CounterMetricFamily(
            "logmonitor_windows_learned", "Windows the model learned from.",
            value=status.windows_learned,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "logmonitor_open_windows", "Windows still counting lines.", value=status.open_windows
        )
        yield GaugeMetricFamily(
            "logmonitor_model_ready", "1 once the warm-up is over and windows are scored.",
            value=1 if status.model_ready else 0,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "logmonitor_alert_threshold_ratio", "Scores at or above this alert.",
            value=backend.threshold,
        )  # fmt: skip
        if status.last_score is not None:
            yield GaugeMetricFamily(
                "logmonitor_last_score_ratio", "The newest window's anomaly score.",
                value=status.last_score,
            )  # fmt: skip
        alerts = CounterMetricFamily(
            "logmonitor_alerts", "Alerts in the state file, by severity.", labels=["severity"]
        )
        for name, count in backend.alert_counts().items():
            alerts.add_metric([name], count)
        yield alerts
        histogram = backend.score_histogram()
        scores = HistogramMetricFamily(
            "logmonitor_window_score_ratio", "Anomaly scores of the windows observed."
        )
        buckets = [(repr(bound), count) for bound, count in histogram.buckets]
        buckets.append(("+Inf", histogram.count))
        scores.add_metric([], buckets, histogram.total)
        yield scores
        yield GaugeMetricFamily(
            "logmonitor_sse_clients", "Open live-event streams.", value=self.hub.clients
        )
        yield CounterMetricFamily(
            "logmonitor_sse_dropped_clients",
            "Live-event clients disconnected for falling behind.",
            value=self.hub.dropped_clients,
        )


def make_registry(backend: Backend, hub: Hub) -> CollectorRegistry:
    """A registry of its own for one app, holding only the monitor's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(backend, hub))
    return registry

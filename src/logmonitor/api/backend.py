"""What the HTTP API reads and writes, as one small protocol, and its adapter to LogMonitor.

The API never touches the pipeline: it talks to a :class:`Backend`. The
:class:`MonitorBackend` adapter implements it with ``LogMonitor``'s public
methods (alerts, acks and feedback in the state file, template counts, status);
the chart history is what the adapter observed of ``status()``.

>>> severity(0.9, 0.5), severity(0.6, 0.5)
('critical', 'warning')
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from ..alerts.policy import severity_for
from ..alerts.summary import ErrorTypeSummary
from ..errors import MonitorStateError
from ..pipeline import Status
from ..records import Alert
from ..sinks.notification import explanation_lines

if TYPE_CHECKING:
    from ..monitor import LogMonitor

__all__ = [
    "SCORE_BUCKETS",
    "AlertPage",
    "AlertQuery",
    "AlertView",
    "Backend",
    "Feedback",
    "MonitorBackend",
    "PatternView",
    "ScoreHistogram",
    "Severity",
    "StatPoint",
    "Verdict",
    "severity",
]

Severity = Literal["warning", "critical"]
AlertStatus = Literal["open", "acked"]
Verdict = Literal["true_positive", "false_positive"]
SEVERITIES: tuple[Severity, ...] = ("warning", "critical")
# Upper bounds of the score histogram's buckets (scores are in [0, 1]).
SCORE_BUCKETS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def severity(score: float, threshold: float) -> Severity:
    """The alert lifecycle's severity (:func:`~logmonitor.alerts.policy.severity_for`),
    typed for the API's schemas."""
    return "critical" if severity_for(score, threshold) == "critical" else "warning"


@dataclass(frozen=True, slots=True)
class Feedback:
    """An operator's verdict on an alert."""

    verdict: Verdict
    note: str
    at: float


@dataclass(frozen=True, slots=True)
class Ack:
    by: str
    at: float


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert with its life-cycle state, as the API shows it."""

    alert: Alert
    severity: Severity
    ack: Ack | None = None
    feedback: Feedback | None = None

    @property
    def status(self) -> AlertStatus:
        return "open" if self.ack is None else "acked"

    @property
    def id(self) -> int:
        return self.alert.id or 0


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters of ``GET /api/alerts``; every field is optional but the page."""

    limit: int = 50
    offset: int = 0
    since: float | None = None
    source: str | None = None
    status: AlertStatus | None = None
    severity: Severity | None = None

    def matches(self, view: AlertView) -> bool:
        alert = view.alert
        return (
            (self.since is None or alert.last_seen >= self.since)
            and (self.source is None or alert.filename == self.source)
            and (self.status is None or view.status == self.status)
            and (self.severity is None or view.severity == self.severity)
        )


@dataclass(frozen=True, slots=True)
class AlertPage:
    """One page of matching alerts, newest first; ``total`` counts every match."""

    alerts: tuple[AlertView, ...]
    total: int


@dataclass(frozen=True, slots=True)
class PatternView:
    """A message template and where it was seen."""

    template: str
    count: int
    first_seen: float
    last_seen: float
    examples: tuple[str, ...]
    template_id: int | None = None
    kind: Literal["template", "error_type"] = "template"


@dataclass(frozen=True, slots=True)
class StatPoint:
    """One observation of the monitor: lines read so far per source and the newest
    window score; consecutive points give the log rate and the score over time."""

    time: float
    lines: dict[str, int]
    windows_scored: int
    score: float | None


@dataclass(frozen=True, slots=True)
class ScoreHistogram:
    """Cumulative counts of the scores seen, per upper bound in :data:`SCORE_BUCKETS`."""

    buckets: tuple[tuple[float, int], ...]
    count: int
    total: float


class Backend(Protocol):
    """Everything the API reads and writes. Each method is called from a worker
    thread and must be thread-safe; ``None`` means "no such alert"."""

    @property
    def threshold(self) -> float: ...

    def status(self) -> Status: ...

    def alerts(self, query: AlertQuery) -> AlertPage: ...

    def alert(self, alert_id: int) -> AlertView | None: ...

    def alerts_after(self, alert_id: int, limit: int) -> list[AlertView]: ...

    def alert_counts(self) -> dict[Severity, int]: ...

    def ack(self, alert_id: int, by: str) -> AlertView | None: ...

    def feedback(self, alert_id: int, verdict: Verdict, note: str) -> AlertView | None: ...

    def summary(self, limit: int) -> list[ErrorTypeSummary]: ...

    def patterns(self, limit: int) -> list[PatternView]: ...

    def history(self, limit: int) -> list[StatPoint]: ...

    def score_histogram(self) -> ScoreHistogram: ...


@dataclass(slots=True)
class _Observed:
    """What the adapter has watched go by (bounded; see MonitorBackend)."""

    points: deque[StatPoint]
    buckets: list[int] = field(default_factory=lambda: [0] * len(SCORE_BUCKETS))
    count: int = 0
    total: float = 0.0
    windows_scored: int = -1


class MonitorBackend:
    """:class:`Backend` over a running :class:`~logmonitor.LogMonitor`.

    Alerts, acks and feedback are the monitor's, in its state file (queried there,
    so every alert is found and nothing is lost on restart); patterns are the
    monitor's template counts. ``history_size`` observations are kept for the
    charts, the oldest dropped first. An observation is taken on every
    :meth:`status` call (the API's event loop calls it twice a second), so the
    score series has one point per observation in which windows were scored: with
    several windows scored in between, only the newest score is seen.
    """

    def __init__(
        self,
        monitor: LogMonitor,
        *,
        history_size: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.monitor = monitor
        self.clock = clock
        self._lock = threading.Lock()
        self._observed = _Observed(points=deque(maxlen=history_size))

    @property
    def threshold(self) -> float:
        return self.monitor.alert_threshold

    # ------------------------------------------------------------------ status

    def status(self) -> Status:
        failure = self.monitor.failure
        if failure is not None:  # the monitor died: health checks must say so (503)
            raise MonitorStateError(f"monitoring stopped on an error: {failure}")
        status = self.monitor.status()
        self._observe(status)
        return status

    def _observe(self, status: Status) -> None:
        seen = self._observed
        with self._lock:
            scored = status.windows_scored > seen.windows_scored >= 0
            if scored and status.last_score is not None:
                score = status.last_score
                seen.count += 1
                seen.total += score
                for i, bound in enumerate(SCORE_BUCKETS):
                    if score <= bound:
                        seen.buckets[i] += 1
            first = seen.windows_scored < 0
            seen.windows_scored = status.windows_scored
            if scored or first or not seen.points or self._moved(status):
                seen.points.append(
                    StatPoint(
                        time=self.clock(),
                        lines={s.source: s.lines for s in status.sources},
                        windows_scored=status.windows_scored,
                        score=status.last_score if scored else None,
                    )
                )

    def _moved(self, status: Status) -> bool:
        """Lines were read since the last point, or a second passed (so an idle
        source's rate falls to zero on the chart)."""
        last = self._observed.points[-1]
        lines = {s.source: s.lines for s in status.sources}
        return lines != last.lines or self.clock() - last.time >= 1.0

    def history(self, limit: int) -> list[StatPoint]:
        with self._lock:
            points = list(self._observed.points)
        return points[-limit:] if limit > 0 else []

    def score_histogram(self) -> ScoreHistogram:
        with self._lock:
            seen = self._observed
            return ScoreHistogram(
                buckets=tuple(zip(SCORE_BUCKETS, seen.buckets, strict=True)),
                count=seen.count,
                total=seen.total,
            )

    # ------------------------------------------------------------------ alerts

    def _view(self, alert: Alert) -> AlertView:
        ack = None if alert.acked_at is None else Ack(by=alert.acked_by or "", at=alert.acked_at)
        feedback = None
        if alert.feedback in ("true-positive", "false-positive"):
            verdict: Verdict = (
                "true_positive" if alert.feedback == "true-positive" else "false_positive"
            )
            feedback = Feedback(verdict, alert.feedback_note or "", alert.feedback_at or 0.0)
        level = next((v for v in SEVERITIES if v == alert.severity), None)
        return AlertView(alert, level or severity(alert.score, alert.threshold), ack, feedback)

    def alerts(self, query: AlertQuery) -> AlertPage:
        acked = None if query.status is None else query.status == "acked"
        found, total = self.monitor.find_alerts(
            query.limit, query.offset, since=query.since, source=query.source,
            severity=query.severity, acked=acked,
        )  # fmt: skip
        return AlertPage(tuple(self._view(a) for a in found), total)

    def alert(self, alert_id: int) -> AlertView | None:
        found = self.monitor.alert(alert_id)
        return None if found is None else self._view(found)

    def alerts_after(self, alert_id: int, limit: int) -> list[AlertView]:
        """Alerts with an id above ``alert_id``, oldest first, at most ``limit`` (the
        newest ones when there are more)."""
        return [self._view(a) for a in self.monitor.alerts_after(alert_id, limit)]

    def alert_counts(self) -> dict[Severity, int]:
        counts: dict[Severity, int] = dict.fromkeys(SEVERITIES, 0)
        for level, n in self.monitor.alert_counts().items():
            for known in SEVERITIES:
                if level == known:
                    counts[known] += n
        return counts

    def ack(self, alert_id: int, by: str) -> AlertView | None:
        """Acknowledge, in the state file (the first ack stands). None for an unknown
        id; a failing write raises (the API answers 503)."""
        if self.monitor.alert(alert_id) is None:
            return None
        return self._view(self.monitor.ack(alert_id, by))

    def feedback(self, alert_id: int, verdict: Verdict, note: str) -> AlertView | None:
        """Store the verdict and note; a false positive teaches the detectors (see
        :meth:`LogMonitor.feedback`)."""
        if self.monitor.alert(alert_id) is None:
            return None
        return self._view(self.monitor.feedback(alert_id, verdict.replace("_", "-"), note))

    # --------------------------------------------------------------- summaries

    def summary(self, limit: int) -> list[ErrorTypeSummary]:
        return self.monitor.summary(limit)

    def patterns(self, limit: int) -> list[PatternView]:
        """The most frequent templates the monitor mined, with counts, first and
        last seen and example lines."""
        return [
            PatternView(p.template, p.count, p.first_seen, p.last_seen, p.examples, p.template_id)
            for p in self.monitor.patterns(limit)
        ]


def explain(view: AlertView) -> list[str]:
    """Why an alert fired, in sentences for the alert page."""
    alert = view.alert
    span = max(alert.window_end - alert.window_start, 0.0)
    window = (
        f"The {span:g}-second window of {alert.filename} had {alert.lines} lines, "
        f"{alert.errors} of them errors; seen {alert.occurrences} time(s) "
        f"({alert.status})."
    )
    if alert.explanation:
        # The detectors' own account: who fired, what deviated (observed vs expected).
        return [*explanation_lines(alert), window]
    reasons = [
        f"The {alert.detector} score {alert.score:.3f} is at or above the threshold "
        f"{alert.threshold:.2f} ({view.severity}).",
        window,
    ]
    if alert.templates:
        shown = "; ".join(f"“{t}”" for t in alert.templates[:3])
        more = f" and {len(alert.templates) - 3} more" if len(alert.templates) > 3 else ""
        reasons.append(f"Templates that stood out: {shown}{more}.")
    return reasons

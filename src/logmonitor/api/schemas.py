"""The JSON the API speaks, as pydantic models: they validate requests and are
the OpenAPI description at ``/docs``. Converters from the backend's records live
beside the models they fill, so a field is named in one place."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..alerts.summary import ErrorTypeSummary
from ..pipeline import Status
from ..sources.base import SourceStats
from .backend import AlertView, PatternView, StatPoint, explain

__all__ = [
    "AckIn",
    "AlertOut",
    "AlertsOut",
    "ErrorBody",
    "ErrorOut",
    "ErrorTypeOut",
    "FeedbackIn",
    "FeedbackOut",
    "HealthOut",
    "PatternOut",
    "PatternsOut",
    "PointOut",
    "ResourceOut",
    "ResourcesOut",
    "SampleOut",
    "SessionIn",
    "SourceOut",
    "SourcesOut",
    "StatsOut",
    "StatusOut",
    "SummaryOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    status: int = Field(description="The HTTP status code, repeated.")
    code: str = Field(description="A stable machine-readable code, e.g. 'not_found'.")
    message: str = Field(description="What went wrong and how to fix it.")
    details: list[dict[str, object]] = Field(default_factory=list)


class ErrorOut(BaseModel):
    """The one shape of every error response."""

    error: ErrorBody


class ResourceOut(BaseModel):
    id: int = Field(description="1-based position of the source (stable while it runs).")
    name: str = Field(description="The source's path.")


class ResourcesOut(BaseModel):
    resources: list[ResourceOut]


class SourceOut(BaseModel):
    id: int
    source: str
    path: str
    offset: int = Field(description="Bytes read and processed.")
    size: int = Field(description="The file's size at the last read.")
    lag_bytes: int = Field(description="Bytes written but not yet read.")
    lines: int
    truncated_lines: int
    rotations: int
    truncations: int
    errors: int
    last_error: str | None

    @classmethod
    def of(cls, index: int, stats: SourceStats) -> SourceOut:
        return cls(
            id=index, source=stats.source, path=stats.path, offset=stats.offset,
            size=stats.size, lag_bytes=max(stats.size - stats.offset, 0), lines=stats.lines,
            truncated_lines=stats.truncated_lines, rotations=stats.rotations,
            truncations=stats.truncations, errors=stats.errors, last_error=stats.last_error,
        )  # fmt: skip


class SourcesOut(BaseModel):
    sources: list[SourceOut]


class SampleOut(BaseModel):
    path: str
    line_number: int
    text: str
    template_id: int


class FeedbackOut(BaseModel):
    verdict: Literal["true_positive", "false_positive"]
    note: str
    at: float


class AlertOut(BaseModel):
    id: int
    filename: str
    score: float
    threshold: float
    severity: Literal["warning", "critical"]
    status: Literal["open", "acked"]
    time: float
    window_start: float
    window_end: float
    detector: str
    lines: int
    errors: int
    templates: list[str]
    template_ids: list[int]
    sample_lines: list[SampleOut]
    explanation: list[str]
    acked_at: float | None
    acked_by: str | None
    feedback: FeedbackOut | None

    @classmethod
    def of(cls, view: AlertView) -> AlertOut:
        a = view.alert
        fb = view.feedback
        verdict = None if fb is None else FeedbackOut(verdict=fb.verdict, note=fb.note, at=fb.at)
        return cls(
            id=view.id, filename=a.filename, score=round(a.score, 6), threshold=a.threshold,
            severity=view.severity, status=view.status, time=a.time,
            window_start=a.window_start, window_end=a.window_end, detector=a.detector,
            lines=a.lines, errors=a.errors, templates=list(a.templates),
            template_ids=list(a.template_ids),
            sample_lines=[
                SampleOut(path=s.path, line_number=s.line_number, text=s.text,
                          template_id=s.template_id)
                for s in a.sample_lines
            ],
            explanation=explain(view),
            acked_at=None if view.ack is None else view.ack.at,
            acked_by=None if view.ack is None else view.ack.by,
            feedback=verdict,
        )  # fmt: skip


class AlertsOut(BaseModel):
    alerts: list[AlertOut] = Field(description="Newest first.")
    total: int = Field(description="Alerts matching the filters, over all pages.")
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page, if any.")


class AckIn(_In):
    by: str = Field(default="dashboard", min_length=1, max_length=100)


class FeedbackIn(_In):
    verdict: Literal["true_positive", "false_positive"]
    note: str = Field(default="", max_length=2000)


class SessionIn(_In):
    token: str = Field(min_length=1, max_length=1000)


class ErrorTypeOut(BaseModel):
    error_type: str
    count: int
    first_seen: float
    last_seen: float
    files: list[str]
    example: str
    trend: list[int] = Field(description="Counts per window, oldest first, newest last.")

    @classmethod
    def of(cls, item: ErrorTypeSummary) -> ErrorTypeOut:
        return cls(
            error_type=item.error_type, count=item.count, first_seen=item.first_seen,
            last_seen=item.last_seen, files=list(item.files), example=item.example,
            trend=list(item.trend),
        )  # fmt: skip


class SummaryOut(BaseModel):
    error_types: list[ErrorTypeOut]


class PatternOut(BaseModel):
    template: str
    template_id: int | None
    kind: Literal["template", "error_type"]
    count: int
    first_seen: float
    last_seen: float
    examples: list[str]

    @classmethod
    def of(cls, p: PatternView) -> PatternOut:
        return cls(
            template=p.template, template_id=p.template_id, kind=p.kind, count=p.count,
            first_seen=p.first_seen, last_seen=p.last_seen, examples=list(p.examples),
        )  # fmt: skip


class PatternsOut(BaseModel):
    patterns: list[PatternOut]


class StatusOut(BaseModel):
    lines: int
    templates: int
    windows_scored: int
    windows_learned: int
    model_ready: bool
    alerts: int
    open_windows: int
    polling: bool
    last_score: float | None
    threshold: float

    @classmethod
    def of(cls, s: Status, threshold: float) -> StatusOut:
        return cls(
            lines=s.lines, templates=s.templates, windows_scored=s.windows_scored,
            windows_learned=s.windows_learned, model_ready=s.model_ready, alerts=s.alerts,
            open_windows=s.open_windows, polling=s.polling, last_score=s.last_score,
            threshold=threshold,
        )  # fmt: skip


class PointOut(BaseModel):
    time: float
    lines: dict[str, int] = Field(description="Lines read so far, per source.")
    windows_scored: int
    score: float | None = Field(description="The newest window score, when one was scored.")

    @classmethod
    def of(cls, p: StatPoint) -> PointOut:
        return cls(time=p.time, lines=p.lines, windows_scored=p.windows_scored, score=p.score)


class StatsOut(BaseModel):
    status: StatusOut
    points: list[PointOut] = Field(description="Observations, oldest first.")


class HealthOut(BaseModel):
    status: Literal["ok"]

"""The endpoints. Each is a thin translation between HTTP and one backend call;
they are plain ``def`` functions because backend calls block (SQLite, locks),
so FastAPI runs them in its thread pool, off the event loop."""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from ..errors import LogMonitorError
from .backend import AlertQuery, AlertView, Backend
from .events import Hub, HubFull
from .schemas import (
    AckIn,
    AlertOut,
    AlertsOut,
    ErrorOut,
    ErrorTypeOut,
    FeedbackIn,
    HealthOut,
    PatternOut,
    PatternsOut,
    PointOut,
    ResourceOut,
    ResourcesOut,
    SessionIn,
    SourceOut,
    SourcesOut,
    StatsOut,
    StatusOut,
    SummaryOut,
)
from .security import SESSION_COOKIE, session_value

__all__ = ["MAX_ALERTS", "MAX_ITEMS", "MAX_POINTS", "router"]

MAX_ITEMS = 1000  # sources, error types, patterns per response
MAX_ALERTS = 500  # alerts per page (each carries its sample lines)
MAX_POINTS = 3600  # chart observations per response
MAX_ID = 2**63 - 1  # SQLite's largest rowid

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 422, 503)
}

router = APIRouter(responses=_ERRORS)

AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="The alert's id.")]


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def _found(view: AlertView | None, alert_id: int) -> AlertView:
    if view is None:
        raise HTTPException(404, f"there is no alert {alert_id}; list them at /api/alerts")
    return view


@router.get("/api/resource", tags=["sources"], summary="The monitored log sources")
def resources(
    request: Request,
    limit: Annotated[int | None, Query(ge=1, le=MAX_ITEMS)] = None,
) -> ResourcesOut:
    """The original specification's endpoint: {"resources": [{"id": 1, "name": "..."}]}."""
    sources = _backend(request).status().sources
    shown = sources if limit is None else sources[:limit]
    return ResourcesOut(
        resources=[ResourceOut(id=i, name=s.source) for i, s in enumerate(shown, 1)]
    )


@router.get("/api/sources", tags=["sources"], summary="Sources with read offsets and lag")
def sources(request: Request, limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 100) -> SourcesOut:
    stats = _backend(request).status().sources[:limit]
    return SourcesOut(sources=[SourceOut.of(i, s) for i, s in enumerate(stats, 1)])


@router.get("/api/alerts", tags=["alerts"], summary="Alerts, newest first, filtered")
def alerts(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    since: Annotated[float | None, Query(description="Unix time; alerts at or after it.")] = None,
    source: Annotated[str | None, Query(max_length=4096)] = None,
    status: Literal["open", "acked"] | None = None,
    severity: Literal["warning", "critical"] | None = None,
) -> AlertsOut:
    query = AlertQuery(limit, offset, since, source, status, severity)
    page = _backend(request).alerts(query)
    end = offset + len(page.alerts)
    return AlertsOut(
        alerts=[AlertOut.of(v) for v in page.alerts],
        total=page.total,
        limit=limit,
        offset=offset,
        next_offset=end if end < page.total else None,
    )


@router.get("/api/alerts/{alert_id}", tags=["alerts"], summary="One alert with its explanation")
def alert(request: Request, alert_id: AlertId) -> AlertOut:
    return AlertOut.of(_found(_backend(request).alert(alert_id), alert_id))


@router.post("/api/alerts/{alert_id}/ack", tags=["alerts"], summary="Acknowledge an alert")
def ack(request: Request, alert_id: AlertId, body: AckIn | None = None) -> AlertOut:
    """Marks the alert acked; the first acknowledgement stands."""
    by = (body or AckIn()).by
    return AlertOut.of(_found(_backend(request).ack(alert_id, by), alert_id))


@router.post("/api/alerts/{alert_id}/feedback", tags=["alerts"], summary="Rate an alert")
def feedback(request: Request, alert_id: AlertId, body: FeedbackIn) -> AlertOut:
    """Was it a real problem? The latest verdict replaces earlier ones."""
    view = _backend(request).feedback(alert_id, body.verdict, body.note)
    return AlertOut.of(_found(view, alert_id))


@router.get("/api/summary", tags=["summary"], summary="Error types with counts and trends")
def summary(request: Request, limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 20) -> SummaryOut:
    items = _backend(request).summary(limit)
    return SummaryOut(error_types=[ErrorTypeOut.of(i) for i in items])


@router.get("/api/patterns", tags=["summary"], summary="Templates with counts and examples")
def patterns(
    request: Request, limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 20
) -> PatternsOut:
    return PatternsOut(patterns=[PatternOut.of(p) for p in _backend(request).patterns(limit)])


@router.get("/api/stats", tags=["summary"], summary="Status and observations for the charts")
def stats(request: Request, limit: Annotated[int, Query(ge=1, le=MAX_POINTS)] = 600) -> StatsOut:
    backend = _backend(request)
    status = backend.status()
    return StatsOut(
        status=StatusOut.of(status, backend.threshold),
        points=[PointOut.of(p) for p in backend.history(limit)],
    )


@router.get(
    "/api/events",
    tags=["live"],
    summary="Server-sent events: 'alert' and 'stats'",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(request: Request) -> StreamingResponse:
    """An 'alert' event (an alert as in /api/alerts/{id}) for each new alert and a
    'stats' event (the status and the points observed since the last one) on each
    poll; a comment line every 15 seconds keeps an idle stream alive."""
    hub: Hub = request.app.state.hub
    try:
        client = hub.subscribe()
    except HubFull as exc:
        raise HTTPException(503, str(exc)) from None
    return StreamingResponse(
        hub.stream(client),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/api/session", tags=["session"], summary="Log in with the token (sets a cookie)")
def login(request: Request, body: SessionIn, response: Response) -> HealthOut:
    token: str | None = request.app.state.token
    if token is None:
        return HealthOut(status="ok")  # nothing to log in to
    if not _same(body.token, token):
        raise HTTPException(403, "the token is wrong; check LOGMONITOR_TOKEN")
    response.set_cookie(
        SESSION_COOKIE, session_value(token), httponly=True, samesite="strict", path="/"
    )
    return HealthOut(status="ok")


@router.delete("/api/session", tags=["session"], summary="Log out (clears the cookie)")
def logout(response: Response) -> HealthOut:
    response.delete_cookie(SESSION_COOKIE, path="/")
    return HealthOut(status="ok")


@router.get("/healthz", tags=["health"], summary="Liveness: the monitor answers")
def healthz(request: Request) -> HealthOut:
    try:
        _backend(request).status()
    except LogMonitorError as exc:
        raise HTTPException(503, f"the monitor does not answer: {exc}") from exc
    return HealthOut(status="ok")


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())

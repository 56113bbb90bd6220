"""``create_app``: the FastAPI application over a :class:`~.backend.Backend`.

::

    app = create_app(MonitorBackend(monitor), token=None)

Every error, whatever raised it (validation, an unknown path or id, a missing
token, malformed JSON, a bug), is answered with one JSON shape::

    {"error": {"status": 422, "code": "invalid_request", "message": "...", "details": [...]}}
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ConfigError, LogMonitorError
from .backend import Backend
from .events import Hub
from .metrics import make_registry
from .routes import router
from .security import Guard, error_body

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
_PAGE_HEADERS = {
    # The pages use only their own scripts and styles (no CDN, no inline script).
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(name: str) -> str:
    return (resources.files("logmonitor.api") / "templates" / name).read_text(encoding="utf-8")


def _error(status: int, message: str, details: Sequence[object] = (), code: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:  # fmt: skip
    body = error_body(status, code or _CODES.get(status, "error"), message, details)
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(
    backend: Backend,
    token: str | None = None,
    *,
    allowed_hosts: Sequence[str] | None = None,
    max_sse_clients: int = 32,
    sse_interval: float = 0.5,
    sse_heartbeat: float = 15.0,
) -> FastAPI:
    """The API, the dashboard at ``/``, ``/metrics``, ``/healthz`` and ``/docs``.

    ``token``: when set, every request must present it (see
    :mod:`logmonitor.api.security` for the scheme); ``allowed_hosts``: the only
    ``Host`` names served (``None`` serves any). The app never reads the
    environment: the caller passes ``LOGMONITOR_TOKEN`` in.
    """
    if token is not None and (not isinstance(token, str) or len(token) < 8):
        raise ConfigError(
            "token must be a string of at least 8 characters; set LOGMONITOR_TOKEN to a long "
            "random value, e.g. python -c 'import secrets; print(secrets.token_urlsafe())'"
        )
    for name, value in (("max_sse_clients", max_sse_clients), ("sse_interval", sse_interval),
                        ("sse_heartbeat", sse_heartbeat)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"{name} must be a number greater than 0, not {value!r}")
    hub = Hub(backend, interval=sse_interval, heartbeat=sse_heartbeat, max_clients=max_sse_clients)
    registry = make_registry(backend, hub)
    dashboard, login, docs = _page("index.html"), _page("login.html"), _page("docs.html")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(
        title="LogMonitor",
        summary="Live log anomalies: sources, alerts, error summary, patterns and metrics.",
        version="1",
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN; ours is offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.backend = backend
    app.state.hub = hub
    app.state.token = token
    app.include_router(router)
    static = resources.files("logmonitor.api") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        page = login if request.scope["state"].get("auth") == "none" else dashboard
        return HTMLResponse(page, headers=_PAGE_HEADERS)

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(docs, headers=_PAGE_HEADERS)

    @app.get("/metrics", tags=["health"], summary="Prometheus text format")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else _CODES.get(exc.status_code, "")
        if exc.status_code == 404 and message == "Not Found":
            message = f"there is nothing at {request.url.path}; the API is described at /docs"
        return _error(exc.status_code, message, headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details: list[dict[str, Any]] = [
            {"loc": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()
        ]
        if any(d["type"] == "json_invalid" for d in details):
            return _error(400, "the request body is not valid JSON", details, "malformed_json")
        where = ", ".join(".".join(str(p) for p in d["loc"]) for d in details)
        return _error(422, f"invalid request: check {where}", details)

    @app.exception_handler(LogMonitorError)
    async def monitor_error(request: Request, exc: LogMonitorError) -> JSONResponse:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return _error(503, str(exc), code="monitor_error")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error; the server log has the details")

    app.add_middleware(Guard, token=token, allowed_hosts=allowed_hosts)
    return app

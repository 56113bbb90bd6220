"""Who may call the API: the token rules, the write guard and the host check.

The scheme, kept small on purpose:

* **No token** (only allowed on a loopback address, see :func:`~.server.serve`):
  reads are open; writes (``POST``/``DELETE``) must carry the header
  ``X-LogMonitor: 1``. A web page on another site cannot add that header without
  a CORS preflight, which this server never grants, so a hostile page cannot
  ack alerts through the operator's browser.
* **With a token**: every request presents it, either as
  ``Authorization: Bearer <token>`` (scripts, Prometheus' ``authorization``
  setting) or as the ``logmonitor_session`` cookie that the dashboard's login
  form obtains from ``POST /api/session``. The cookie holds an HMAC of the
  token, never the token; it is ``HttpOnly`` and ``SameSite=Strict``. Writes
  authorised by the cookie also need ``X-LogMonitor: 1``. Only the login page,
  its static files and ``POST /api/session`` are served without it.
* **Host check**: given ``allowed_hosts`` (the server passes the loopback names
  when it binds loopback), a request naming another ``Host`` is refused, which
  defeats DNS rebinding against a token-less local server.

Tokens never appear in URLs (they would end up in logs and browser history).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "SESSION_COOKIE",
    "WRITE_HEADER",
    "Guard",
    "error_body",
    "session_value",
]

SESSION_COOKIE = "logmonitor_session"
WRITE_HEADER = "x-logmonitor"
_OPEN_PATHS = ("/static/", "/favicon.ico")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Auth = Literal["open", "bearer", "cookie", "none"]


def session_value(token: str) -> str:
    """The cookie value for ``token``: an HMAC, so the cookie never holds the token."""
    return hmac.new(token.encode(), b"logmonitor-session-v1", hashlib.sha256).hexdigest()


def error_body(
    status: int, code: str, message: str, details: Sequence[object] = ()
) -> dict[str, object]:
    """The one shape of every error the API returns."""
    return {"error": {"status": status, "code": code, "message": message, "details": list(details)}}


class Guard:
    """ASGI middleware applying the rules in the module docstring to every request,
    including ones for unknown paths (a 404 must not tell a stranger what exists).

    It records the outcome in ``scope["state"]["auth"]``: ``"open"`` (no token
    configured), ``"bearer"``, ``"cookie"`` or ``"none"`` (a token is configured
    and the request had none: only the open paths and the login page see this).
    """

    def __init__(
        self, app: ASGIApp, token: str | None, allowed_hosts: Sequence[str] | None = None
    ) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token) if token else None
        self.allowed_hosts = (
            None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.allowed_hosts is not None:
            host = _hostname(headers.get("host", ""))
            if host not in self.allowed_hosts:
                await _reject(send, 400, "bad_host", f"the Host header {host!r} is not served here")
                return
        auth = self._authenticate(headers)
        path: str = scope["path"]
        method: str = scope["method"]
        scope.setdefault("state", {})["auth"] = auth
        if auth == "none" and not self._open(path, method):
            if "authorization" in headers or SESSION_COOKIE in headers.get("cookie", ""):
                await _reject(send, 403, "forbidden", "the token is wrong; check LOGMONITOR_TOKEN")
            else:
                await _reject(
                    send, 401, "unauthorized",
                    "this server needs a token: send 'Authorization: Bearer <token>' "
                    "or log in on the dashboard",
                )  # fmt: skip
            return
        writes = method not in _READ_METHODS and auth in ("open", "cookie", "none")
        if writes and headers.get(WRITE_HEADER) != "1":
            await _reject(
                send, 403, "write_header_missing",
                "write requests need the header 'X-LogMonitor: 1' (or a bearer token)",
            )  # fmt: skip
            return
        await self.app(scope, receive, send)

    def _authenticate(self, headers: dict[str, str]) -> Auth:
        if self.token is None or self.session is None:
            return "open"
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), self.token.encode()
        ):
            return "bearer"
        cookie = _cookie(headers.get("cookie", ""), SESSION_COOKIE)
        if cookie is not None and hmac.compare_digest(cookie.encode(), self.session.encode()):
            return "cookie"
        return "none"

    @staticmethod
    def _open(path: str, method: str) -> bool:
        if path.startswith(_OPEN_PATHS):
            return True
        # The dashboard's address shows the login form; logging in needs no token yet.
        return (path == "/" and method in _READ_METHODS) or (
            path == "/api/session" and method == "POST"
        )


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(status, code, message), separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="logmonitor"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""The HTTP API, the live dashboard and ``/metrics``.

::

    from logmonitor.api import MonitorBackend, serve

    server = serve(MonitorBackend(monitor), host="127.0.0.1", port=8000)
    print(server.url)  # http://127.0.0.1:8000
    ...
    server.stop()

:func:`create_app` builds the FastAPI app over any :class:`Backend`;
:class:`MonitorBackend` adapts a running ``LogMonitor``; :func:`serve` runs it
with uvicorn in a background thread.
"""

from __future__ import annotations

from .app import create_app
from .backend import AlertQuery, AlertView, Backend, MonitorBackend
from .server import Server, is_loopback, serve

__all__ = [
    "AlertQuery",
    "AlertView",
    "Backend",
    "MonitorBackend",
    "Server",
    "create_app",
    "is_loopback",
    "serve",
]

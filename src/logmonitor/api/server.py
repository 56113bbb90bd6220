"""Run the app with uvicorn in a background thread, next to a running monitor.

::

    server = serve(MonitorBackend(monitor), port=0)
    server.url  # 'http://127.0.0.1:43121'
    server.stop()

Binding anything but a loopback address needs a token: a dashboard that can
ack alerts must not be open to the network. The caller reads
``LOGMONITOR_TOKEN`` and passes it in; nothing here reads the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from ..errors import ConfigError, MonitorStateError
from .app import create_app
from .backend import Backend

__all__ = ["LOOPBACK_NAMES", "Server", "is_loopback", "serve"]

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_STARTUP_SECONDS = 30.0  # a hang guard: uvicorn starts in milliseconds


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server:
    """A uvicorn server on a socket bound at construction (so ``port=0`` has a
    known port and a busy port fails here, not in a thread)."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.app = app
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say
        # they are TCP, and without it every keep-alive response waits ~40 ms for a
        # delayed ACK (Nagle's algorithm holds the body behind the headers).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}; pass another --port "
                "(0 picks a free one) or --host"
            ) from None
        sock.listen(128)
        sock.setblocking(False)
        self._socket = sock
        self.port: int = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5,
            server_header=False,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._server.started

    def start(self) -> Server:
        """Serve in a daemon thread; return once requests are answered."""
        if self._thread is not None:
            raise MonitorStateError("the server was already started; create a new one")
        self._thread = threading.Thread(target=self._run, name="logmonitor-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise MonitorStateError(
                    f"the HTTP server on {self.url} did not start; see the log above"
                )
            time.sleep(0.01)
        logger.info("dashboard on %s", self.url)
        return self

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._server.serve(sockets=[self._socket])

    def stop(self) -> None:
        """Close the live-event streams, then shut uvicorn down. Safe to repeat."""
        loop = self._loop
        hub = self.app.state.hub
        if loop is not None and not loop.is_closed():
            # The loop may close meanwhile: the streams are then gone with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(hub.close)
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        self._socket.close()

    def __enter__(self) -> Server:
        # serve() returns a started server; ``with serve(...) as server:`` must work.
        return self if self._thread is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    backend: Backend,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    *,
    max_sse_clients: int = 32,
) -> Server:
    """Start the API and dashboard for ``backend``; return the running :class:`Server`.

    Raises :class:`ConfigError` for a non-loopback ``host`` without ``token`` or a
    port that cannot be bound.
    """
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be a number from 0 to 65535, not {port!r}; fix --port")
    loopback = is_loopback(host)
    if not loopback and not token:
        raise ConfigError(
            f"refusing to serve on {host!r} without a token: anyone on the network could "
            "read and ack alerts; set LOGMONITOR_TOKEN, or use --host 127.0.0.1"
        )
    # A token-less server only answers to loopback names (no DNS rebinding).
    allowed = (*LOOPBACK_NAMES, host) if loopback and not token else None
    app = create_app(backend, token, allowed_hosts=allowed, max_sse_clients=max_sse_clients)
    return Server(app, host, port).start()

"""Server-sent events: one poller for the backend, a bounded queue per client.

The :class:`Hub` asks the backend every ``interval`` seconds for its status and
for alerts newer than the last one it saw, and hands both to every subscriber,
so the pipeline needs no hook and a thousand tabs cost one poll. Bounds:

* at most ``max_clients`` streams at once; another gets ``503`` (the browser's
  EventSource retries after ``retry_ms``);
* each client's queue holds ``queue_size`` events; a client too slow to drain
  it is disconnected (its EventSource reconnects and reloads), never allowed
  to hold memory or slow the others; ``dropped_clients`` counts them;
* a heartbeat comment every ``heartbeat`` seconds keeps proxies from closing an
  idle stream and finds dead clients;
* :meth:`Hub.close` ends every stream, so the server can stop at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from anyio import to_thread

from .backend import Backend
from .schemas import AlertOut, PointOut, StatusOut

__all__ = ["Hub", "HubFull"]

logger = logging.getLogger(__name__)

_CLOSE = object()  # put in a queue: the stream ends


class HubFull(Exception):
    """Raised by :meth:`Hub.subscribe` when ``max_clients`` streams are open."""


@dataclass(slots=True, eq=False)  # identity: clients live in a set
class _Client:
    queue: asyncio.Queue[object]
    dropped: bool = False


class Hub:
    """Polls a backend and fans the news out to server-sent-event streams."""

    def __init__(
        self,
        backend: Backend,
        *,
        interval: float = 0.5,
        heartbeat: float = 15.0,
        max_clients: int = 32,
        queue_size: int = 256,
        retry_ms: int = 3000,
    ) -> None:
        self.backend = backend
        self.interval = interval
        self.heartbeat = heartbeat
        self.max_clients = max_clients
        self.queue_size = queue_size
        self.retry_ms = retry_ms
        self.dropped_clients = 0
        self.polls = 0
        self.poll_errors = 0
        self._clients: set[_Client] = set()
        self._last_id: int | None = None
        self._last_point = 0.0
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def clients(self) -> int:
        return len(self._clients)

    # ----------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Start polling (from the server's event loop)."""
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="logmonitor-sse")

    def close(self) -> None:
        """End every stream and stop polling; call it in the server's event loop."""
        self._closed = True
        for client in list(self._clients):
            self._push(client, _CLOSE, force=True)
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        self.close()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -------------------------------------------------------------------- polling

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await self.poll()
                failing = False
            except Exception:
                # A failing backend (a locked state file, a stopped monitor) must not
                # end live updates: count it, log it (with its traceback once per run
                # of failures, not twice a second), try again next tick.
                self.poll_errors += 1
                logger.log(
                    logging.DEBUG if failing else logging.ERROR,
                    "polling the backend for live events failed (%d failures so far)",
                    self.poll_errors, exc_info=not failing,
                )  # fmt: skip
                failing = True
            await asyncio.sleep(self.interval)

    async def poll(self) -> None:
        """One tick: the status to everyone, then each new alert, oldest first."""
        backend = self.backend
        status = await to_thread.run_sync(backend.status)
        # Every point since the last tick: another reader (a scrape, a page load) may
        # have added some in between, and a scored one must reach the chart.
        points = [p for p in await to_thread.run_sync(backend.history, 64)
                  if p.time > self._last_point]  # fmt: skip
        if points:
            self._last_point = points[-1].time
        self.polls += 1
        if self._last_id is None:
            newest = await to_thread.run_sync(backend.alerts_after, 0, 1)
            self._last_id = newest[-1].id if newest else 0
            alerts = []
        else:
            alerts = await to_thread.run_sync(backend.alerts_after, self._last_id, 100)
        if alerts:
            self._last_id = alerts[-1].id
        if not self._clients:
            return
        stats = {
            "status": StatusOut.of(status, backend.threshold).model_dump(),
            "points": [PointOut.of(p).model_dump() for p in points],
        }
        self._broadcast(_event("stats", stats))
        for view in alerts:
            self._broadcast(_event("alert", AlertOut.of(view).model_dump(), view.id))

    def _broadcast(self, event: str) -> None:
        for client in list(self._clients):
            self._push(client, event)

    def _push(self, client: _Client, item: object, force: bool = False) -> None:
        try:
            client.queue.put_nowait(item)
        except asyncio.QueueFull:
            if not client.dropped:
                client.dropped = True
                self.dropped_clients += 1
                logger.warning("a live-event client fell %d events behind; closing its stream",
                               self.queue_size)  # fmt: skip
            if force:
                # Make room for the close marker: the client is going away anyway.
                client.queue.get_nowait()
                client.queue.put_nowait(item)

    # -------------------------------------------------------------------- streams

    def subscribe(self) -> _Client:
        if self._closed or len(self._clients) >= self.max_clients:
            raise HubFull(
                f"{len(self._clients)} live-event streams are open, the limit is "
                f"{self.max_clients}; close a dashboard tab or raise max_sse_clients"
            )
        client = _Client(asyncio.Queue(self.queue_size))
        self._clients.add(client)
        return client

    async def stream(self, client: _Client) -> AsyncIterator[str]:
        """The text of one client's event stream, until it goes or the hub closes."""
        try:
            yield f"retry: {self.retry_ms}\n\n"
            while not client.dropped:
                try:
                    item = await asyncio.wait_for(client.queue.get(), self.heartbeat)
                except asyncio.TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if item is _CLOSE:
                    return
                yield str(item)
        finally:
            self._clients.discard(client)


def _event(kind: str, data: object, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"

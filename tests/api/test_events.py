"""``/api/events``: server-sent events pushed without reloads, bounded, and ended
cleanly when the server stops."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator

import httpx

from logmonitor.api import Server
from logmonitor.api.events import Hub

from .conftest import MemoryBackend, assert_error, make_alert


def events(response: httpx.Response) -> Iterator[tuple[str, dict[str, object]]]:
    """(event, data) pairs of a text/event-stream response; comments are skipped."""
    kind, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[len("event: ") :]
        elif line.startswith("data: "):
            data = line[len("data: ") :]
        elif not line and data:
            yield kind, json.loads(data)
            kind, data = "message", ""


def test_stats_and_new_alerts_arrive_as_events(
    backend: MemoryBackend, start_app: Callable[..., Server]
) -> None:
    server = start_app(backend, sse_interval=0.05)
    with httpx.stream("GET", f"{server.url}/api/events", timeout=None) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response)
        kind, data = next(stream)
        assert kind == "stats"
        assert data["status"]["threshold"] == 0.5  # type: ignore[index]
        assert isinstance(data["points"], list)
        backend.add(make_alert(4, score=0.95))
        alert = next(d for k, d in stream if k == "alert")
        assert alert["id"] == 4
        assert alert["severity"] == "critical"


def test_the_number_of_streams_is_capped(
    backend: MemoryBackend, start_app: Callable[..., Server]
) -> None:
    server = start_app(backend, max_sse_clients=1, sse_interval=0.05)
    with httpx.stream("GET", f"{server.url}/api/events", timeout=None) as first:
        stream = events(first)  # kept: dropping the generator would close the stream
        next(stream)  # the first stream is open
        assert_error(httpx.get(f"{server.url}/api/events"), 503, "unavailable")


def test_heartbeats_keep_an_idle_stream_alive(
    backend: MemoryBackend, start_app: Callable[..., Server]
) -> None:
    server = start_app(backend, sse_interval=60, sse_heartbeat=0.05)
    with httpx.stream("GET", f"{server.url}/api/events", timeout=None) as response:
        lines = response.iter_lines()
        assert next(lines) == "retry: 3000"
        assert next(line for line in lines if line) == ": heartbeat"


def test_stopping_the_server_ends_open_streams(
    backend: MemoryBackend, start_app: Callable[..., Server]
) -> None:
    server = start_app(backend, sse_interval=0.05)
    ended = threading.Event()
    seen: list[str] = []

    def listen() -> None:
        with httpx.stream("GET", f"{server.url}/api/events", timeout=None) as response:
            for kind, _ in events(response):
                seen.append(kind)
        ended.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    while not seen:  # the stream is open once an event arrived
        ended.wait(0.01)
    server.stop()
    listener.join()
    assert ended.is_set()


def test_a_client_that_falls_behind_is_dropped_not_buffered(backend: MemoryBackend) -> None:
    """The queue rule: a full client queue closes that client's stream."""

    async def scenario() -> tuple[list[str], int, int]:
        hub = Hub(backend, interval=3600, queue_size=4)
        client = hub.subscribe()
        hub.start()
        for _ in range(3):  # three ticks of news while the client reads nothing
            backend.add(make_alert(len(backend.alerts_after(0, 1000)) + 1))
            await hub.poll()
        chunks = [chunk async for chunk in hub.stream(client)]
        await hub.stop()
        return chunks, hub.dropped_clients, hub.clients

    chunks, dropped, clients = asyncio.run(scenario())
    assert dropped == 1
    assert clients == 0
    assert len(chunks) <= 1 + 4  # the retry line and at most a queue's worth, then the end


class FlakyBackend(MemoryBackend):
    """Fails its first status calls (a locked state file), then recovers."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def status(self):  # type: ignore[no-untyped-def]
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("database is locked")
        return super().status()


def test_live_updates_survive_backend_errors(start_app: Callable[..., Server]) -> None:
    backend = FlakyBackend(failures=3)
    server = start_app(backend, sse_interval=0.05)
    with httpx.stream("GET", f"{server.url}/api/events", timeout=None) as response:
        kind, _ = next(events(response))
        assert kind == "stats"
    assert backend.failures == 0

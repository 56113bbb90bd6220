"""The Deliverer and its outboxes: retries, backoff, isolation, and restarts.

Every timing is injected: the backoff's ``sleep`` records the delay instead of
waiting, and ``wait_for`` only guards against a hang.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logmonitor.errors import ConfigError, MonitorStateError, StateError
from logmonitor.records import Alert
from logmonitor.sinks.delivery import (
    Deliverer,
    MemoryOutbox,
    Outbox,
    RetryPolicy,
    SqliteOutbox,
)
from logmonitor.sinks.notification import DeliveryError, Notification
from logmonitor.sinks.webhook import WebhookSink
from logmonitor.store import Store

from ..conftest import wait_for
from .conftest import Receiver, free_port, make_alert

FAST = RetryPolicy(base=0.001, maximum=0.008, max_attempts=50, jitter=0.0)


def notes(count: int, start: int = 0) -> list[Notification]:
    return [
        Notification.firing([make_alert(n=i)], created=1000.0 + i)
        for i in range(start, start + count)
    ]


class Recording:
    """A NotificationSink that keeps what it was given; ``fail`` scripts errors."""

    def __init__(self, name: str, fail: list[BaseException] | None = None) -> None:
        self.name = name
        self.fail = list(fail or [])
        self.got: list[Notification] = []
        self.calls = 0
        self.closed = False
        self._lock = threading.Lock()

    def deliver(self, notification: Notification) -> None:
        with self._lock:
            self.calls += 1
            if self.fail:
                raise self.fail.pop(0)
            self.got.append(notification)

    def close(self) -> None:
        self.closed = True


class Blocked(Recording):
    """A sink stuck in a delivery until the test lets it go."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.entered = threading.Event()
        self.release = threading.Event()

    def deliver(self, notification: Notification) -> None:
        self.entered.set()
        self.release.wait()
        super().deliver(notification)


class Sleeps:
    """An injected sleep: records each backoff delay and runs a hook, never waits."""

    def __init__(self, hook: Callable[[int], None] | None = None) -> None:
        self.delays: list[float] = []
        self.hook = hook

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self.hook is not None:
            self.hook(len(self.delays))


@pytest.fixture(params=["memory", "sqlite"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    box: Outbox = (
        MemoryOutbox() if request.param == "memory" else SqliteOutbox(str(tmp_path / "state.db"))
    )
    yield box
    box.close()


# ------------------------------------------------------------------ retry policy


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens_it() -> None:
    policy = RetryPolicy(base=2.0, maximum=30.0, jitter=0.0)
    rng = random.Random(1)
    assert [policy.delay(n, rng) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert policy.delay(1000, rng) == 30.0
    assert policy.delay(1, rng, retry_after=12.0) == 12.0
    assert policy.delay(1, rng, retry_after=900.0) == 30.0
    jittered = RetryPolicy(base=2.0, maximum=30.0, jitter=0.5)
    delays = [jittered.delay(3, rng) for _ in range(200)]
    assert all(4.0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) > 100  # spread out, not in step


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base": 0}, "retry base must be greater than 0"),
        ({"base": 5, "maximum": 1}, "retry maximum must be at least base"),
        ({"max_attempts": 0}, "max_attempts must be 1 or more"),
        ({"jitter": 2}, r"retry jitter must be in \[0, 1\]"),
    ],
)
def test_bad_retry_settings_are_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RetryPolicy(**options)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ outbox


def test_the_outbox_keeps_order_ignores_a_repeated_key_and_tracks_attempts(outbox: Outbox) -> None:
    first, second = notes(2)
    assert outbox.enqueue(first, ["a", "b"], 1.0) == 0
    outbox.enqueue(second, ["a", "b"], 2.0)
    outbox.enqueue(first, ["a", "b"], 3.0)  # the same key again: ignored
    pending = outbox.pending("a", 10)
    assert [e.notification.key for e in pending] == [first.key, second.key]
    assert pending[0].notification.alerts[0].sample_lines == first.alerts[0].sample_lines
    assert outbox.mark_attempt(pending[0].seq, "HTTP 500", 4.0) == 1
    assert outbox.mark_attempt(pending[0].seq, "HTTP 502", 5.0) == 2
    assert outbox.pending("a", 1)[0].attempts == 2
    assert outbox.pending("a", 1)[0].error == "HTTP 502"
    outbox.mark_delivered(pending[0].seq, 6.0)
    outbox.mark_failed(pending[1].seq, "permanent: HTTP 404", 7.0)
    assert outbox.pending("a", 10) == []
    assert outbox.counts() == {"a": {"delivered": 1, "failed": 1}, "b": {"pending": 2}}
    (failed,) = outbox.failed("a")
    assert (failed.notification.key, failed.error) == (second.key, "permanent: HTTP 404")
    outbox.enqueue(first, ["a"], 8.0)  # delivered already: still ignored
    assert outbox.pending("a", 10) == []


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_full_outbox_drops_the_oldest_pending_and_says_so(kind: str, tmp_path: Path) -> None:
    box: Outbox = (
        MemoryOutbox(max_pending=3, keep_done=2)
        if kind == "memory"
        else SqliteOutbox(str(tmp_path / "s.db"), max_pending=3, keep_done=2)
    )
    batch = notes(5)
    dropped = sum(box.enqueue(n, ["a"], float(i)) for i, n in enumerate(batch))
    assert dropped == 2
    assert [e.notification.key for e in box.pending("a", 10)] == [n.key for n in batch[2:]]
    assert {e.error for e in box.failed("a")} == {"dropped: outbox full"}
    for entry in box.pending("a", 10):
        box.mark_delivered(entry.seq, 9.0)
    box.enqueue(notes(1, start=10)[0], ["a"], 10.0)
    assert box.counts()["a"] == {"pending": 1, "delivered": 2}  # done rows pruned to 2
    box.close()
    with pytest.raises(ConfigError, match="max_pending must be 1 or more"):
        MemoryOutbox(max_pending=0)


def test_the_sqlite_outbox_shares_the_state_file_with_the_store(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    outbox = SqliteOutbox(path)  # first, in a new file
    outbox.enqueue(notes(1)[0], ["a"], 1.0)
    store = Store(path)  # the store accepts the file the outbox created
    assert store.line_counts() == {}
    outbox.enqueue(notes(1, start=1)[0], ["a"], 2.0)  # both connections open at once
    assert outbox.counts() == {"a": {"pending": 2}}
    store.close()
    outbox.close()
    again = SqliteOutbox(path)  # and opens it again beside the store's tables
    assert again.counts() == {"a": {"pending": 2}}
    again.close()
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"outbox", "meta", "alerts", "checkpoints"} <= tables
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_the_sqlite_outbox_refuses_another_programs_database(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER)")
    db.close()
    with pytest.raises(StateError, match="belongs to another program"):
        SqliteOutbox(str(path))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StateError, match="not a usable LogMonitor state file"):
        SqliteOutbox(str(junk))


# --------------------------------------------------------------------- deliverer


def test_every_sink_gets_every_notification_in_order(outbox: Outbox) -> None:
    a, b = Recording("a"), Recording("b")
    deliverer = Deliverer([a, b], outbox, retry=FAST).start()
    batch = notes(30)
    for note in batch:
        deliverer.submit(note)
    assert deliverer.drain(timeout=30)
    assert [n.key for n in a.got] == [n.key for n in batch]
    assert [n.key for n in b.got] == [n.key for n in batch]
    assert deliverer.stats()["a"].delivered == 30
    deliverer.close()
    assert a.closed
    assert b.closed


def test_a_stuck_sink_blocks_neither_the_caller_nor_the_other_sinks() -> None:
    stuck, fine = Blocked("stuck"), Recording("fine")
    deliverer = Deliverer([stuck, fine], retry=FAST).start()
    batch = notes(20)
    for note in batch:
        deliverer.submit(note)  # returns although "stuck" never finishes
    wait_for(lambda: len(fine.got) == 20)
    assert stuck.entered.is_set()
    assert stuck.got == []
    stuck.release.set()
    wait_for(lambda: len(stuck.got) == 20)
    deliverer.close()


def test_transient_errors_are_retried_with_growing_backoff() -> None:
    flaky = Recording(
        "flaky",
        fail=[DeliveryError("HTTP 500"), DeliveryError("HTTP 503"), DeliveryError("timeout")],
    )
    sleeps = Sleeps()
    deliverer = Deliverer([flaky], retry=FAST, sleep=sleeps).start()
    note = notes(1)[0]
    deliverer.submit(note)
    wait_for(lambda: len(flaky.got) == 1)
    assert flaky.calls == 4
    assert sleeps.delays == [0.001, 0.002, 0.004]
    stats = deliverer.stats()["flaky"]
    assert (stats.delivered, stats.retries, stats.failed, stats.last_error) == (1, 3, 0, "timeout")
    deliverer.close()


def test_a_permanent_error_is_not_retried_and_is_recorded(outbox: Outbox) -> None:
    broken = Recording("broken", fail=[DeliveryError("HTTP 404 no_service", retryable=False)])
    sleeps = Sleeps()
    deliverer = Deliverer([broken], outbox, retry=FAST, sleep=sleeps).start()
    first, second = notes(2)
    deliverer.submit(first)
    deliverer.submit(second)
    wait_for(lambda: len(broken.got) == 1)
    assert broken.got[0].key == second.key  # the next one is not held up
    assert sleeps.delays == []
    (failed,) = outbox.failed("broken")
    assert failed.notification.key == first.key
    assert failed.error == "permanent error: HTTP 404 no_service"
    assert failed.attempts == 1
    assert deliverer.stats()["broken"].failed == 1
    deliverer.stop()


def test_the_attempt_cap_gives_up_with_the_reason(outbox: Outbox) -> None:
    errors: list[BaseException] = [DeliveryError(f"HTTP 50{i}") for i in range(3)]
    sink = Recording("down", fail=errors)
    policy = RetryPolicy(base=0.001, maximum=0.001, max_attempts=3, jitter=0.0)
    deliverer = Deliverer([sink], outbox, retry=policy, sleep=Sleeps()).start()
    deliverer.submit(notes(1)[0])
    wait_for(lambda: deliverer.stats()["down"].failed == 1)
    (failed,) = outbox.failed("down")
    assert failed.error == "gave up after 3 attempts: HTTP 502"
    assert sink.calls == 3
    deliverer.stop()


def test_a_bug_in_a_sink_is_retried_without_leaking_its_message() -> None:
    sink = Recording("buggy", fail=[KeyError("https://hooks.example/secret-token")])
    deliverer = Deliverer([sink], retry=FAST, sleep=Sleeps()).start()
    deliverer.submit(notes(1)[0])
    wait_for(lambda: len(sink.got) == 1)
    assert deliverer.stats()["buggy"].last_error == "unexpected KeyError in sink buggy"
    deliverer.close()


def test_the_deliverer_is_a_sink_for_alerts() -> None:
    sink = Recording("r")
    deliverer = Deliverer([sink], retry=FAST).start()
    deliverer.send(Alert("/var/log/app.log", 0.8, 5.0))
    wait_for(lambda: len(sink.got) == 1)
    assert sink.got[0].kind == "firing"
    assert sink.got[0].alerts[0].filename == "/var/log/app.log"
    deliverer.send(make_alert(status="resolved"))
    wait_for(lambda: len(sink.got) == 2)
    assert sink.got[1].kind == "resolved"
    deliverer.close()
    with pytest.raises(MonitorStateError, match="closed"):
        deliverer.submit(notes(1)[0])


def test_life_cycle_and_argument_errors() -> None:
    with pytest.raises(ConfigError, match="sink names must be unique, 'x' is repeated"):
        Deliverer([Recording("x"), Recording("x")])
    with pytest.raises(ConfigError, match="batch_size must be 1 or more"):
        Deliverer([Recording("x")], batch_size=0)
    deliverer = Deliverer([Recording("x")]).start()
    with pytest.raises(MonitorStateError, match="already called"):
        deliverer.start()
    deliverer.close()
    deliverer.close()  # twice is harmless


# ------------------------------------------- the receiver fails, then recovers


def test_every_notification_arrives_once_through_500s_and_a_refused_connection() -> None:
    port = free_port()
    server = Receiver(port=port, script=[500, 500]).start()

    def outage(calls: int) -> None:
        if calls == 2:
            server.stop()  # after two 500s the receiver goes away: connection refused
        elif calls == 4:
            server.start()  # and comes back on the same port

    sleeps = Sleeps(outage)
    sink = WebhookSink(server.url(), timeout=10.0)
    deliverer = Deliverer([sink], retry=FAST, sleep=sleeps).start()
    batch = notes(10)
    for note in batch:
        deliverer.submit(note)
    wait_for(lambda: len(server.accepted()) == 10)
    assert deliverer.drain(timeout=30)
    deliverer.close()
    server.stop()
    keys = [r.headers["idempotency-key"] for r in server.accepted()]
    assert keys == [n.key for n in batch]  # each exactly once, in order
    assert [r.body["key"] for r in server.accepted()] == keys
    # The two 500s were for the first notification, retried with the same key.
    assert [r.headers["idempotency-key"] for r in server.all()[:2]] == [batch[0].key] * 2
    assert sleeps.delays == [0.001, 0.002, 0.004, 0.008]  # 2 x 500, 2 x refused
    assert deliverer.stats()["webhook"].retries == 4


def test_pending_notifications_survive_a_restart(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    port = free_port()  # nothing listens yet: every attempt is refused
    slow = RetryPolicy(base=3600.0, maximum=3600.0, max_attempts=50, jitter=0.0)
    first = Deliverer(
        [WebhookSink(f"http://127.0.0.1:{port}/hook")], SqliteOutbox(state), retry=slow
    )
    first.start()
    batch = notes(5)
    for note in batch:
        first.submit(note)
    wait_for(lambda: first.stats()["webhook"].retries >= 1)
    first.close()  # stops in the middle of an hour-long backoff: the rows stay pending
    check = SqliteOutbox(state)
    assert check.counts() == {"webhook": {"pending": 5}}
    assert check.pending("webhook", 1)[0].attempts == 1
    check.close()

    server = Receiver(port=port, script=[500]).start()  # back, with one more hiccup
    second = Deliverer(
        [WebhookSink(server.url())], SqliteOutbox(state), retry=FAST, sleep=Sleeps()
    ).start()
    wait_for(lambda: len(server.accepted()) == 5)
    assert second.drain(timeout=30)
    second.close()
    server.stop()
    assert [r.headers["idempotency-key"] for r in server.accepted()] == [n.key for n in batch]
    final = SqliteOutbox(state)
    assert final.counts() == {"webhook": {"delivered": 5}}
    final.close()

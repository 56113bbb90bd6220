"""Delivery that never blocks the pipeline and never loses a notification.

:class:`Deliverer` runs one worker thread per sink. ``submit`` only writes the
notification into the :class:`Outbox` (one row per sink) and wakes the workers,
so a slow or failing sink holds up neither the caller nor the other sinks. Each
worker takes its sink's pending rows in order and retries a failed delivery
with exponential backoff and jitter (:class:`RetryPolicy`); a permanent error
(a 4xx other than 408/429, a refused login) or the attempt cap marks the row
failed with the reason instead of retrying forever.

With a :class:`SqliteOutbox` undelivered notifications survive a restart: a new
Deliverer on the same file sends what is still pending when it starts.

Exactly once, as the receiver sees it: every payload carries the notification's
idempotency key (the ``Idempotency-Key`` header, the JSON ``key``, the email's
``Message-ID``). One window remains: a crash after the receiver accepted a
notification and before the outbox row was marked delivered sends it again after
the restart, with the same key, so a receiver that remembers keys drops it.

Bounds: the outbox keeps at most ``max_pending`` undelivered rows per sink; when
a new notification would exceed that, the oldest pending row is marked failed
("dropped: outbox full"), counted and logged: the newest news matter most. Rows
already delivered or failed are kept for ``keep_done`` per sink (history, and so
that re-submitting a key already delivered is ignored), oldest removed first.
Workers hold at most ``batch_size`` rows in memory.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from ..clock import Clock, SystemClock
from ..errors import ConfigError, MonitorStateError
from ..records import Alert
from ..store import APP, open_state, unusable
from .notification import DeliveryError, Notification, NotificationSink, status_of

__all__ = [
    "Deliverer",
    "DeliveryStats",
    "MemoryOutbox",
    "Outbox",
    "OutboxEntry",
    "RetryPolicy",
    "SqliteOutbox",
]

logger = logging.getLogger(__name__)

_DROPPED = "dropped: outbox full"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a failed delivery again.

    Attempt ``n`` (1-based) failed: wait ``min(maximum, base * 2**(n-1))``, of
    which a random ``jitter`` fraction is taken off so that many senders do not
    retry in step; a receiver's ``Retry-After`` is honoured up to ``maximum``.
    After ``max_attempts`` failures the notification is marked failed.

    >>> policy = RetryPolicy(base=1.0, maximum=60.0, jitter=0.0)
    >>> [policy.delay(n, random.Random(0)) for n in (1, 2, 3, 10)]
    [1.0, 2.0, 4.0, 60.0]
    """

    base: float = 1.0
    maximum: float = 300.0
    max_attempts: int = 12
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not self.base > 0:
            raise ConfigError(f"retry base must be greater than 0, not {self.base!r}")
        if not self.maximum >= self.base:
            raise ConfigError(
                f"retry maximum must be at least base={self.base!r}, not {self.maximum!r}"
            )
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be 1 or more, not {self.max_attempts!r}")
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"retry jitter must be in [0, 1], not {self.jitter!r}")

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt``."""
        if retry_after is not None and retry_after > 0:
            return min(self.maximum, retry_after)
        full = min(self.maximum, self.base * 2.0 ** min(attempt - 1, 64))
        return full - full * self.jitter * rng.random()


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One notification waiting for (or done with) one sink."""

    seq: int
    sink: str
    notification: Notification
    attempts: int = 0
    status: str = "pending"
    error: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    """What a sink's worker has done since the Deliverer started."""

    delivered: int = 0
    failed: int = 0
    retries: int = 0
    last_error: str = ""


class Outbox(Protocol):
    """Notifications not yet delivered, per sink; see the module docstring for bounds."""

    def enqueue(self, notification: Notification, sinks: Sequence[str], now: float) -> int:
        """Add one row per sink (a key already there is ignored); return the rows dropped."""
        ...

    def pending(self, sink: str, limit: int) -> list[OutboxEntry]:
        """The oldest ``limit`` undelivered rows of ``sink``, oldest first."""
        ...

    def mark_delivered(self, seq: int, now: float) -> None: ...

    def mark_attempt(self, seq: int, error: str, now: float) -> int:
        """Record a failed attempt; return the attempts made so far."""
        ...

    def mark_failed(self, seq: int, error: str, now: float) -> None: ...

    def failed(self, sink: str | None = None, limit: int = 100) -> list[OutboxEntry]:
        """The newest rows given up on, with the reason."""
        ...

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per sink and status (``pending``, ``delivered``, ``failed``)."""
        ...

    def close(self) -> None: ...


def _check_bounds(max_pending: int, keep_done: int) -> None:
    if max_pending < 1:
        raise ConfigError(f"max_pending must be 1 or more, not {max_pending!r}")
    if keep_done < 0:
        raise ConfigError(f"keep_done must be 0 or more, not {keep_done!r}")


@dataclass(slots=True)
class _Row:
    sink: str
    notification: Notification
    updated: float
    attempts: int = 0
    status: str = "pending"
    error: str = ""


class MemoryOutbox:
    """An outbox in memory: survives a stopped Deliverer, not a stopped process."""

    def __init__(self, max_pending: int = 10_000, keep_done: int = 1000) -> None:
        _check_bounds(max_pending, keep_done)
        self.max_pending = max_pending
        self.keep_done = keep_done
        self._rows: dict[int, _Row] = {}
        self._keys: dict[tuple[str, str], int] = {}
        # Per sink, insertion-ordered sets of seqs: pending oldest first, and done
        # (delivered or failed) in the order they finished, for pruning.
        self._pending: dict[str, dict[int, None]] = {}
        self._done: dict[str, dict[int, None]] = {}
        self._next = 1
        self._lock = threading.Lock()

    def enqueue(self, notification: Notification, sinks: Sequence[str], now: float) -> int:
        dropped = 0
        with self._lock:
            for sink in sinks:
                if (sink, notification.key) in self._keys:
                    continue
                seq, self._next = self._next, self._next + 1
                self._rows[seq] = _Row(sink, notification, now)
                self._keys[(sink, notification.key)] = seq
                pending = self._pending.setdefault(sink, {})
                pending[seq] = None
                while len(pending) > self.max_pending:
                    self._finish(next(iter(pending)), "failed", _DROPPED, now)
                    dropped += 1
        return dropped

    def _finish(self, seq: int, status: str, error: str, now: float) -> None:
        """Move a row from pending to done, pruning the oldest done rows (lock held)."""
        row = self._rows.get(seq)
        if row is None:
            return
        row.status, row.error, row.updated = status, error, now
        self._pending.get(row.sink, {}).pop(seq, None)
        done = self._done.setdefault(row.sink, {})
        done.pop(seq, None)
        done[seq] = None
        while len(done) > self.keep_done:
            old = next(iter(done))
            del done[old]
            gone = self._rows.pop(old)
            del self._keys[(gone.sink, gone.notification.key)]

    def pending(self, sink: str, limit: int) -> list[OutboxEntry]:
        with self._lock:
            seqs = itertools.islice(self._pending.get(sink, {}), limit)
            return [_entry(seq, self._rows[seq]) for seq in seqs]

    def mark_delivered(self, seq: int, now: float) -> None:
        with self._lock:
            self._finish(seq, "delivered", "", now)

    def mark_attempt(self, seq: int, error: str, now: float) -> int:
        with self._lock:
            row = self._rows.get(seq)
            if row is None:
                return 0
            row.attempts += 1
            row.error, row.updated = error, now
            return row.attempts

    def mark_failed(self, seq: int, error: str, now: float) -> None:
        with self._lock:
            self._finish(seq, "failed", error, now)

    def failed(self, sink: str | None = None, limit: int = 100) -> list[OutboxEntry]:
        with self._lock:
            rows = [
                (seq, row)
                for seq, row in self._rows.items()
                if row.status == "failed" and sink in (None, row.sink)
            ]
        rows.sort(key=lambda item: (item[1].updated, item[0]), reverse=True)
        return [_entry(seq, row) for seq, row in rows[:limit]]

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for row in self._rows.values():
                per = out.setdefault(row.sink, {})
                per[row.status] = per.get(row.status, 0) + 1
        return out

    def close(self) -> None:
        """Nothing to release."""


def _entry(seq: int, row: _Row) -> OutboxEntry:
    return OutboxEntry(seq, row.sink, row.notification, row.attempts, row.status, row.error)


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('app', '{APP}');
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, sink TEXT NOT NULL, key TEXT NOT NULL,
    kind TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL, updated REAL NOT NULL, UNIQUE (sink, key)
);
CREATE INDEX IF NOT EXISTS outbox_by_sink ON outbox (sink, status, seq);
"""


class SqliteOutbox:
    """The outbox as table ``outbox`` in LogMonitor's SQLite state file (WAL).

    It has its own connection, shared by the worker threads under one lock, and
    lives beside :class:`~logmonitor.store.Store` in the same file: it creates
    only ``outbox`` (and, in a new file, the ``meta`` row that marks the file as
    LogMonitor's, exactly as the store writes it), and refuses another program's
    database.

    >>> outbox = SqliteOutbox(":memory:")
    >>> outbox.counts()
    {}
    >>> outbox.close()
    """

    def __init__(self, path: str, max_pending: int = 10_000, keep_done: int = 1000) -> None:
        _check_bounds(max_pending, keep_done)
        self.path = path
        self.max_pending = max_pending
        self.keep_done = keep_done
        self._lock = threading.RLock()
        self._db = open_state(path)  # the store's rules: ownership first, then WAL
        try:
            self._db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise unusable(path, exc) from exc

    def __repr__(self) -> str:
        return f"SqliteOutbox({self.path!r})"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def enqueue(self, notification: Notification, sinks: Sequence[str], now: float) -> int:
        payload = json.dumps(notification.to_dict(), ensure_ascii=False, default=str)
        dropped = 0
        with self._transaction() as db:
            for sink in sinks:
                added = db.execute(
                    "INSERT OR IGNORE INTO outbox (sink, key, kind, payload, created, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (sink, notification.key, notification.kind, payload, now, now),
                ).rowcount
                if not added:
                    continue
                (waiting,) = db.execute(
                    "SELECT COUNT(*) FROM outbox WHERE sink = ? AND status = 'pending'", (sink,)
                ).fetchone()
                if waiting > self.max_pending:
                    dropped += db.execute(
                        "UPDATE outbox SET status = 'failed', error = ?, updated = ? WHERE seq IN"
                        " (SELECT seq FROM outbox WHERE sink = ? AND status = 'pending'"
                        " ORDER BY seq LIMIT ?)",
                        (_DROPPED, now, sink, waiting - self.max_pending),
                    ).rowcount
                db.execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE sink = ?"
                    " AND status != 'pending' ORDER BY seq DESC LIMIT -1 OFFSET ?)",
                    (sink, self.keep_done),
                )
        return dropped

    def _entries(self, sql: str, args: Sequence[object]) -> list[OutboxEntry]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [
            OutboxEntry(seq, sink, Notification.from_dict(json.loads(payload)), n, status, error)
            for seq, sink, payload, n, status, error in rows
        ]

    def pending(self, sink: str, limit: int) -> list[OutboxEntry]:
        return self._entries(
            "SELECT seq, sink, payload, attempts, status, error FROM outbox"
            " WHERE sink = ? AND status = 'pending' ORDER BY seq LIMIT ?",
            (sink, limit),
        )

    def failed(self, sink: str | None = None, limit: int = 100) -> list[OutboxEntry]:
        return self._entries(
            "SELECT seq, sink, payload, attempts, status, error FROM outbox"
            " WHERE status = 'failed' AND (? IS NULL OR sink = ?)"
            " ORDER BY updated DESC, seq DESC LIMIT ?",
            (sink, sink, limit),
        )

    def mark_delivered(self, seq: int, now: float) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET status = 'delivered', error = '', updated = ? WHERE seq = ?",
                (now, seq),
            )

    def mark_attempt(self, seq: int, error: str, now: float) -> int:
        with self._transaction() as db:
            row = db.execute(
                "UPDATE outbox SET attempts = attempts + 1, error = ?, updated = ?"
                " WHERE seq = ? RETURNING attempts",
                (error, now, seq),
            ).fetchone()
        return int(row[0]) if row else 0

    def mark_failed(self, seq: int, error: str, now: float) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET status = 'failed', error = ?, updated = ? WHERE seq = ?",
                (error, now, seq),
            )

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            rows = self._db.execute(
                "SELECT sink, status, COUNT(*) FROM outbox GROUP BY sink, status"
            ).fetchall()
        for sink, status, count in rows:
            out.setdefault(sink, {})[status] = count
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass(slots=True)
class _Worker:
    sink: NotificationSink
    rng: random.Random
    wake: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    stats: DeliveryStats = field(default_factory=DeliveryStats)


class Deliverer:
    """Sends each submitted notification to every sink, from one thread per sink.

    It is also a :class:`~logmonitor.sinks.base.Sink`: ``send(alert)`` submits a
    firing notification for that alert, so it can be handed to ``LogMonitor``.
    ``sleep`` (default: wait on the stop signal) and ``clock`` are injectable so
    that tests run the backoff without waiting.

    >>> from logmonitor.sinks.notification import Notification
    >>> class Printer:
    ...     name = "printer"
    ...     def deliver(self, note): print(note.kind, note.title)
    ...     def close(self): pass
    >>> deliverer = Deliverer([Printer()]).start()
    >>> deliverer.submit(Notification.digest("daily", "all quiet", created=0.0))
    >>> deliverer.drain()
    digest daily
    True
    >>> deliverer.close()
    """

    def __init__(
        self,
        sinks: Sequence[NotificationSink],
        outbox: Outbox | None = None,
        *,
        retry: RetryPolicy | None = None,
        batch_size: int = 100,
        clock: Clock | None = None,
        sleep: Callable[[float], object] | None = None,
        seed: int | None = None,
    ) -> None:
        names = [sink.name for sink in sinks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                f"sink names must be unique, {', '.join(map(repr, duplicates))} is repeated;"
                " give each sink its own 'name'"
            )
        if batch_size < 1:
            raise ConfigError(f"batch_size must be 1 or more, not {batch_size!r}")
        self.sinks = list(sinks)
        self.outbox: Outbox = outbox if outbox is not None else MemoryOutbox()
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.clock: Clock = clock or SystemClock()
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        seeder = random.Random(seed)
        self._workers = {
            s.name: _Worker(s, random.Random(seeder.getrandbits(64))) for s in self.sinks
        }
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self.dropped = 0  # undelivered notifications pushed out of a full outbox

    def __repr__(self) -> str:
        return f"Deliverer(sinks={[s.name for s in self.sinks]!r}, outbox={self.outbox!r})"

    def start(self) -> Deliverer:
        """Start the workers; each first sends what its sink still has pending."""
        with self._lock:
            if self._closed:
                raise MonitorStateError("this Deliverer was closed; create a new one")
            if self._started:
                raise MonitorStateError("Deliverer.start() was already called")
            self._started = True
            for name, worker in self._workers.items():
                worker.thread = threading.Thread(
                    target=self._run, args=(worker,), name=f"logmonitor-deliver-{name}", daemon=True
                )
                worker.thread.start()
        return self

    def submit(self, notification: Notification) -> None:
        """Store ``notification`` for every sink and wake the workers; returns at once.

        A failing sink never makes this raise; an outbox that cannot be written
        (a full disk) does, since the notification is then not kept.
        """
        if self._closed:
            raise MonitorStateError("this Deliverer was closed; create a new one")
        dropped = self.outbox.enqueue(notification, list(self._workers), self.clock.now())
        if dropped:
            with self._lock:
                self.dropped += dropped
            logger.warning(
                "outbox full: %d older undelivered notifications dropped; "
                "a sink is failing, see Deliverer.stats()",
                dropped,
            )
        for worker in self._workers.values():
            worker.wake.set()

    def send(self, alert: Alert) -> None:
        """The :class:`Sink` interface: one notification per alert (firing or resolved)."""
        if status_of(alert) == "resolved":
            self.submit(Notification.resolved([alert], created=self.clock.now()))
        else:
            self.submit(Notification.firing([alert], created=self.clock.now()))

    def stats(self) -> dict[str, DeliveryStats]:
        """Per sink: delivered, failed, retried, and the last error (no secrets)."""
        with self._lock:
            return {name: w.stats for name, w in self._workers.items()}

    def pending(self) -> int:
        """Notifications not yet delivered or given up on, over all sinks."""
        return sum(per.get("pending", 0) for per in self.outbox.counts().values())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers; what is pending stays in the outbox for the next start.

        A delivery in flight finishes (bounded by the sink's own timeout).
        """
        self._stopping.set()
        for worker in self._workers.values():
            worker.wake.set()
        for worker in self._workers.values():
            if worker.thread is not None:
                worker.thread.join(timeout)
                if worker.thread.is_alive():
                    logger.warning(
                        "sink %s did not stop within %.0fs; it is still delivering",
                        worker.sink.name,
                        timeout,
                    )

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending (True) or ``timeout`` passed (False)."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers, then close the sinks and the outbox (pending rows stay)."""
        if self._closed:
            return
        self.stop(timeout)
        self._closed = True
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                logger.exception("closing sink %s failed", sink.name)
        self.outbox.close()

    # ------------------------------------------------------------------ workers

    def _note(
        self,
        worker: _Worker,
        *,
        delivered: int = 0,
        failed: int = 0,
        retries: int = 0,
        last_error: str | None = None,
    ) -> None:
        with self._lock:
            old = worker.stats
            worker.stats = DeliveryStats(
                delivered=old.delivered + delivered,
                failed=old.failed + failed,
                retries=old.retries + retries,
                last_error=old.last_error if last_error is None else last_error,
            )

    def _run(self, worker: _Worker) -> None:
        name = worker.sink.name
        while not self._stopping.is_set():
            worker.wake.clear()
            try:
                entries = self.outbox.pending(name, self.batch_size)
                if not entries:
                    worker.wake.wait()
                    continue
                for entry in entries:
                    if self._stopping.is_set():
                        return
                    self._deliver(worker, entry)
            except Exception:
                # The outbox failed (disk full, locked too long): keep the thread
                # alive, count it, and try again after a pause.
                logger.exception("outbox error in the worker of sink %s", name)
                self._note(worker, last_error="outbox error, see the log")
                self._stopping.wait(min(self.retry.maximum, 30.0))

    def _deliver(self, worker: _Worker, entry: OutboxEntry) -> None:
        sink, attempts = worker.sink, entry.attempts
        while not self._stopping.is_set():
            retry_after: float | None = None
            try:
                sink.deliver(entry.notification)
            except DeliveryError as exc:
                error, retryable, retry_after = str(exc), exc.retryable, exc.retry_after
            except Exception as exc:  # noqa: BLE001 - any sink bug must not kill the worker
                # A bug in a sink: its message may hold what it was given (a URL),
                # so only the type is recorded; retried like a transient error.
                error, retryable = f"unexpected {type(exc).__name__} in sink {sink.name}", True
                logger.debug("sink %s raised %s", sink.name, type(exc).__name__)
            else:
                self.outbox.mark_delivered(entry.seq, self.clock.now())
                self._note(worker, delivered=1)
                return
            now = self.clock.now()
            attempts = self.outbox.mark_attempt(entry.seq, error, now)
            if not retryable or attempts >= self.retry.max_attempts:
                reason = (
                    f"permanent error: {error}"
                    if not retryable
                    else f"gave up after {attempts} attempts: {error}"
                )
                self.outbox.mark_failed(entry.seq, reason, now)
                self._note(worker, failed=1, last_error=reason)
                logger.warning(
                    "notification %s not delivered to %s: %s",
                    entry.notification.key,
                    sink.name,
                    reason,
                )
                return
            self._note(worker, retries=1, last_error=error)
            delay = self.retry.delay(attempts, worker.rng, retry_after)
            logger.info(
                "delivery to %s failed (attempt %d, retry in %.1fs): %s",
                sink.name,
                attempts,
                delay,
                error,
            )
            self._sleep(delay)

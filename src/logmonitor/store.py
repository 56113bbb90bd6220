"""LogMonitor's state in one SQLite file (WAL): read offsets, counts, alerts, and
what the stages learned (the template miner's snapshot, as versioned JSON).

Everything one processed chunk changes (its checkpoint, the line and error
counts it adds, the alerts it raised) is written in one transaction, so after a
crash, even ``kill -9``, the state says exactly which lines were processed:
none is lost, none is counted twice, no alert is repeated.

``synchronous=NORMAL`` with WAL survives a killed process; only a power loss
can drop the last transactions (which are then read again, not lost).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .alerts.policy import Mute
from .alerts.summary import ErrorStat
from .errors import MonitorStateError, StateError
from .records import Alert, Sample
from .sources.checkpoint import Checkpoint, FileKey

__all__ = ["APP", "SCHEMA_VERSION", "Store", "open_state", "unusable"]

SCHEMA_VERSION = 2  # 2: the alert lifecycle (columns below, mutes)
APP = "logmonitor"  # the meta row that marks a state file as ours
_APP = APP

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS checkpoints (
    dev INTEGER NOT NULL, ino INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    fp_len INTEGER NOT NULL, source TEXT NOT NULL, path TEXT NOT NULL,
    offset INTEGER NOT NULL, line_number INTEGER NOT NULL,
    PRIMARY KEY (dev, ino)
);
CREATE TABLE IF NOT EXISTS sources (
    source TEXT PRIMARY KEY, lines INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS errors (
    error_type TEXT PRIMARY KEY, count INTEGER NOT NULL, first_seen REAL NOT NULL,
    last_seen REAL NOT NULL, example TEXT NOT NULL, source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, filename TEXT NOT NULL, score REAL NOT NULL,
    threshold REAL NOT NULL, time REAL NOT NULL, window_start REAL NOT NULL,
    window_end REAL NOT NULL, detector TEXT NOT NULL, lines INTEGER NOT NULL,
    errors INTEGER NOT NULL, template_ids TEXT NOT NULL, templates TEXT NOT NULL,
    samples TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts (time);
CREATE TABLE IF NOT EXISTS mutes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, value TEXT NOT NULL,
    until REAL NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    name TEXT PRIMARY KEY, data TEXT NOT NULL, saved_at REAL NOT NULL
);
"""
# Columns schema 2 added to ``alerts`` (ALTER TABLE on a file of schema 1).
_ALERT_COLUMNS = (
    ("fingerprint", "TEXT NOT NULL DEFAULT ''"),
    ("severity", "TEXT NOT NULL DEFAULT 'warning'"),
    ("status", "TEXT NOT NULL DEFAULT 'resolved'"),
    ("first_seen", "REAL NOT NULL DEFAULT 0"),
    ("last_seen", "REAL NOT NULL DEFAULT 0"),
    ("occurrences", "INTEGER NOT NULL DEFAULT 1"),
    ("explanation", "TEXT"),
    ("counts", "TEXT NOT NULL DEFAULT '[]'"),
    ("notified_at", "REAL"),
    ("acked_at", "REAL"),
    ("feedback", "TEXT"),
    ("feedback_at", "REAL"),
    ("feedback_note", "TEXT"),
    ("acked_by", "TEXT"),
    ("end_told", "INTEGER NOT NULL DEFAULT 1"),  # 0: resolved, its end not told yet
)
_ALERT_SELECT = (
    "SELECT id, filename, score, threshold, time, window_start, window_end, detector, lines,"
    " errors, template_ids, templates, samples, fingerprint, severity, status, first_seen,"
    " last_seen, occurrences, explanation, counts, acked_at, feedback, acked_by,"
    " feedback_note, feedback_at FROM alerts"
)
_OTHER_PROGRAM = "belongs to another program; move it away or pass --state with another path"


def unusable(path: str, exc: sqlite3.Error) -> StateError:
    """The error for a state file SQLite cannot use, and what to do about it."""
    return StateError(
        f"{path} is not a usable LogMonitor state file ({exc}); "
        "move it away or pass --state with another path"
    )


def open_state(
    path: str, check: Callable[[Mapping[str, str]], None] | None = None
) -> sqlite3.Connection:
    """A connection to the state file at ``path``, for each of its users (the
    :class:`Store`, the notification outbox): its directory is created, a file that
    is not LogMonitor's is refused before anything in it changes (not even its
    journal mode), ``check`` sees the ``meta`` rows of one that is, then WAL,
    ``synchronous=NORMAL`` and a busy timeout are set. Raises :class:`StateError`.
    """
    if path != ":memory:":
        parent = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot create the state directory {parent}: {exc.strerror}; "
                "pass --state with a writable path"
            ) from exc
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise unusable(path, exc) from exc
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables:  # an empty file is new: it becomes ours
            if "meta" not in tables:
                raise StateError(f"{path} {_OTHER_PROGRAM}")
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("app") != _APP:
                raise StateError(f"{path} {_OTHER_PROGRAM}")
            if check is not None:
                check(meta)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise unusable(path, exc) from exc
    except StateError:
        db.close()
        raise
    return db


def _alert_filter(
    *,
    since_id: int | None = None,
    before_id: int | None = None,
    since_time: float | None = None,
    status: str | None = None,
    source: str | None = None,
    severity: str | None = None,
    feedback: str | None = None,
    acked: bool | None = None,
) -> tuple[str, list[Any]]:
    """The WHERE clause (and its arguments) of the alert queries; None: no filter."""
    where: list[str] = ["1"]
    args: list[Any] = []
    for condition, value in (
        ("id > ?", since_id), ("id < ?", before_id), ("last_seen >= ?", since_time),
        ("status = ?", status), ("filename = ?", source), ("severity = ?", severity),
        ("feedback = ?", feedback),
    ):  # fmt: skip
        if value is not None:
            where.append(condition)
            args.append(value)
    if acked is not None:
        where.append("acked_at IS NOT NULL" if acked else "acked_at IS NULL")
    return " AND ".join(where), args


class Store:
    """The SQLite state file. Safe to share between threads (one lock).

    >>> store = Store(":memory:")
    >>> store.line_counts()
    {}
    >>> store.close()
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = open_state(path, self._check_version)
        try:
            # One transaction, so a crash cannot leave our tables without the meta rows.
            self._db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}")
            have = {row[1] for row in self._db.execute("PRAGMA table_info(alerts)")}
            for name, decl in _ALERT_COLUMNS:
                if name not in have:  # a file of schema 1: add what schema 2 added
                    self._db.execute(f"ALTER TABLE alerts ADD COLUMN {name} {decl}")
            if "first_seen" not in have:
                # Schema 1's alerts: their times and severity from what they kept, so
                # time filters, stats and severity filters find them.
                self._db.execute(
                    "UPDATE alerts SET first_seen = time, last_seen = time, severity = CASE"
                    " WHEN score >= threshold + (1 - threshold) / 2 THEN 'critical'"
                    " ELSE 'warning' END"
                )
            self._db.execute(
                "CREATE INDEX IF NOT EXISTS alerts_open ON alerts (status, fingerprint)"
            )
            # execute(), not executescript(): that would commit before it starts.
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('app', ?)", (_APP,))
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise self._unusable(exc) from exc
        except StateError:
            self._db.close()
            raise

    def _unusable(self, exc: sqlite3.Error) -> StateError:
        return unusable(self.path, exc)

    def _check_version(self, meta: Mapping[str, str]) -> None:
        """Refuse a file a newer LogMonitor wrote (its schema may not be readable)."""
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path} was written by a newer LogMonitor (schema {version}); "
                "upgrade LogMonitor"
            )

    # ------------------------------------------------------------------ reading

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.ProgrammingError as exc:  # closed: the monitor was stopped
                raise MonitorStateError(f"the state file {self.path} is closed ({exc})") from exc

    def checkpoints(self) -> dict[FileKey, Checkpoint]:
        rows = self._all(
            "SELECT dev, ino, fingerprint, fp_len, source, path, offset, line_number"
            " FROM checkpoints"
        )
        return {(r[0], r[1]): Checkpoint(*r) for r in rows}

    def roots(self) -> set[str]:
        return {r[0] for r in self._all("SELECT path FROM roots")}

    def line_counts(self) -> dict[str, int]:
        return dict(self._all("SELECT source, lines FROM sources ORDER BY source"))

    def error_stats(self) -> list[ErrorStat]:
        rows = self._all(
            "SELECT error_type, count, first_seen, last_seen, example, source FROM errors"
        )
        return [ErrorStat(*r) for r in rows]

    def state(self, name: str) -> Any:
        """The JSON value saved under ``name`` (e.g. ``"miner"``), or None.

        A value that is not JSON (the file was edited or damaged) raises
        :class:`StateError`: starting without the learned state would silently
        renumber templates, so the operator decides."""
        rows = self._all("SELECT data FROM state WHERE name = ?", (name,))
        return self._decode(name, rows[0][0]) if rows else None

    def states(self, prefix: str) -> dict[str, Any]:
        """Every saved JSON value whose name starts with ``prefix`` (e.g. the open
        window of each source, ``"window:<source>"``)."""
        rows = self._all(
            "SELECT name, data FROM state WHERE substr(name, 1, ?) = ?", (len(prefix), prefix)
        )
        return {name: self._decode(name, data) for name, data in rows}

    def _decode(self, name: str, data: str) -> Any:
        try:
            return json.loads(data)
        except ValueError as exc:
            raise StateError(
                f"{self.path}: the saved {name!r} state is not valid JSON ({exc}); "
                "move the state file away to start afresh"
            ) from exc

    def alerts(
        self,
        limit: int = 100,
        since_id: int = 0,
        *,
        status: str | None = None,
        source: str | None = None,
        severity: str | None = None,
        since_time: float | None = None,
        before_id: int | None = None,
        feedback: str | None = None,
    ) -> list[Alert]:
        """The newest ``limit`` alerts after ``since_id`` (and before ``before_id``,
        for paging back), filtered, oldest first."""
        clause, args = _alert_filter(
            since_id=since_id, before_id=before_id, since_time=since_time, status=status,
            source=source, severity=severity, feedback=feedback,
        )  # fmt: skip
        rows = self._all(f"{_ALERT_SELECT} WHERE {clause} ORDER BY id DESC LIMIT ?", [*args, limit])
        return [self._alert(r) for r in reversed(rows)]

    def alert_page(
        self,
        limit: int,
        offset: int = 0,
        *,
        since_time: float | None = None,
        source: str | None = None,
        severity: str | None = None,
        status: str | None = None,
        acked: bool | None = None,
    ) -> tuple[list[Alert], int]:
        """One page of matching alerts, newest first, and how many match in all."""
        clause, args = _alert_filter(
            since_time=since_time, source=source, severity=severity, status=status, acked=acked
        )
        with self._lock:  # the page and its total from the same state
            rows = self._all(
                f"{_ALERT_SELECT} WHERE {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            )
            (total,) = self._all(f"SELECT count(*) FROM alerts WHERE {clause}", args)[0]
        return [self._alert(r) for r in rows], int(total)

    def alert_counts(self) -> dict[str, int]:
        """Alerts by severity."""
        return dict(self._all("SELECT severity, count(*) FROM alerts GROUP BY severity"))

    def alert(self, alert_id: int) -> Alert | None:
        rows = self._all(f"{_ALERT_SELECT} WHERE id = ?", (alert_id,))
        return self._alert(rows[0]) if rows else None

    def firing(self) -> tuple[list[Alert], dict[int, float | None]]:
        """The alerts still firing, and when each was last notified (None: never)."""
        rows = self._all(f"{_ALERT_SELECT} WHERE status = 'firing' ORDER BY id")
        notified = dict(self._all("SELECT id, notified_at FROM alerts WHERE status = 'firing'"))
        return [self._alert(r) for r in rows], notified

    def untold_ends(self) -> list[Alert]:
        """Resolved alerts whose end notice has not gone out yet (a rate limit or a
        stop came first): the next run tells them."""
        rows = self._all(f"{_ALERT_SELECT} WHERE status = 'resolved' AND end_told = 0 ORDER BY id")
        return [self._alert(r) for r in rows]

    @staticmethod
    def _alert(r: Sequence[Any]) -> Alert:
        samples = tuple(
            Sample(s["path"], s["line_number"], s["text"], s["template_id"])
            for s in json.loads(r[12])
        )
        return Alert(
            id=r[0], filename=r[1], score=r[2], threshold=r[3], time=r[4], window_start=r[5],
            window_end=r[6], detector=r[7], lines=r[8], errors=r[9],
            template_ids=tuple(json.loads(r[10])), templates=tuple(json.loads(r[11])),
            sample_lines=samples, fingerprint=r[13], severity=r[14], status=r[15],
            first_seen=r[16] or r[4], last_seen=r[17] or r[4], occurrences=r[18],
            explanation=json.loads(r[19]) if r[19] else None,
            counts=tuple((int(t), int(n)) for t, n in json.loads(r[20])),
            acked_at=r[21], feedback=r[22], acked_by=r[23], feedback_note=r[24],
            feedback_at=r[25],
        )  # fmt: skip

    # ------------------------------------------------------------------ feedback

    def feedback_version(self) -> int:
        """Grows with every ack, feedback or mute (from any process): the running
        monitor rereads :meth:`feedback_state` when it changed."""
        rows = self._all("SELECT value FROM meta WHERE key = 'feedback_version'")
        return int(rows[0][0]) if rows else 0

    def feedback_state(self, now: float) -> tuple[list[Mute], set[str], set[int]]:
        """Active mutes, false-positive fingerprints, acknowledged firing ids."""
        mutes = [
            Mute(r[1], r[2], r[3], r[0], r[4])
            for r in self._all(
                "SELECT id, kind, value, until, created FROM mutes WHERE until > ? ORDER BY id",
                (now,),
            )
        ]
        false = {
            r[0]
            for r in self._all(
                "SELECT DISTINCT fingerprint FROM alerts WHERE feedback = 'false-positive'"
            )
        }
        acked = {
            r[0]
            for r in self._all(
                "SELECT id FROM alerts WHERE acked_at IS NOT NULL AND status = 'firing'"
            )
        }
        return mutes, false, acked

    def mutes(self, now: float | None = None) -> list[Mute]:
        sql = "SELECT id, kind, value, until, created FROM mutes"
        args: tuple[Any, ...] = ()
        if now is not None:
            sql, args = sql + " WHERE until > ?", (now,)
        return [Mute(r[1], r[2], r[3], r[0], r[4]) for r in self._all(sql + " ORDER BY id", args)]

    def ack(self, alert_id: int, now: float, by: str = "") -> Alert:
        """Acknowledge an alert (no more repeats; the first ack stands);
        :class:`StateError` if unknown."""
        return self._feedback_write(
            alert_id,
            "UPDATE alerts SET acked_by = CASE WHEN acked_at IS NULL THEN ? ELSE acked_by END,"
            " acked_at = coalesce(acked_at, ?) WHERE id = ?",
            (by, now),
        )

    def set_feedback(self, alert_id: int, verdict: str, now: float, note: str = "") -> Alert:
        """Record ``true-positive`` or ``false-positive`` for an alert (the latest
        verdict replaces earlier ones), with an optional note."""
        if verdict not in ("true-positive", "false-positive"):
            raise ValueError(f"verdict must be true-positive or false-positive, not {verdict!r}")
        return self._feedback_write(
            alert_id,
            "UPDATE alerts SET feedback = ?, feedback_at = ?, feedback_note = ? WHERE id = ?",
            (verdict, now, note),
        )

    def add_mute(self, kind: str, value: str, until: float, now: float) -> Mute:
        if kind not in ("template", "source"):
            raise ValueError(f"kind must be template or source, not {kind!r}")
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cursor = self._db.execute(
                    "INSERT INTO mutes (kind, value, until, created) VALUES (?, ?, ?, ?)",
                    (kind, value, until, now),
                )
                self._bump_feedback()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StateError(f"writing the state file {self.path} failed: {exc}") from exc
        return Mute(kind, value, until, cursor.lastrowid, now)

    def _feedback_write(self, alert_id: int, sql: str, args: tuple[Any, ...]) -> Alert:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                changed = self._db.execute(sql, (*args, alert_id)).rowcount
                if changed:
                    self._bump_feedback()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StateError(f"writing the state file {self.path} failed: {exc}") from exc
        alert = self.alert(alert_id)
        if not changed or alert is None:
            raise StateError(f"no alert {alert_id} in {self.path}; see `logmonitor alerts`")
        return alert

    def _bump_feedback(self) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('feedback_version', '1') ON CONFLICT (key)"
            " DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def feedback_stats(self, bucket_seconds: float = 86400.0) -> list[dict[str, Any]]:
        """Per period (by first seen): alerts, true and false positives, unreviewed,
        and the precision of the reviewed ones (None when none was reviewed)."""
        rows = self._all(
            "SELECT CAST(first_seen / ? AS INTEGER) AS period, count(*),"
            " sum(feedback = 'true-positive'), sum(feedback = 'false-positive')"
            " FROM alerts GROUP BY period ORDER BY period",
            (bucket_seconds,),
        )
        out = []
        for period, total, tp, fp in rows:
            tp, fp = int(tp or 0), int(fp or 0)
            out.append({
                "start": period * bucket_seconds, "alerts": total, "true_positives": tp,
                "false_positives": fp, "unreviewed": total - tp - fp,
                "precision": tp / (tp + fp) if tp + fp else None,
            })  # fmt: skip
        return out

    # ------------------------------------------------------------------ writing

    def commit(
        self,
        checkpoints: Sequence[Checkpoint] = (),
        forget: Sequence[FileKey] = (),
        lines: Mapping[str, int] | None = None,
        errors: Sequence[ErrorStat] = (),
        alerts: Sequence[Alert] = (),
        roots: Sequence[str] = (),
        state: Mapping[str, Any] | None = None,
        saved_at: float = 0.0,
        updates: Sequence[Alert] = (),
        notified: Mapping[int, float] | None = None,
        ends_told: Sequence[int] = (),
    ) -> list[Alert]:
        """Write one processed batch atomically; return ``alerts`` with their ids.

        ``updates`` are stored alerts whose lifecycle moved (occurrences, status);
        ``notified`` maps alert ids to when a notification told of them.
        ``state`` maps names to JSON values that replace what was saved under them
        (``saved_at`` is recorded beside each; None deletes the name), in the same
        transaction as the positions they were learned up to.

        ``roots`` are directories now watched: stored with the start positions of
        the files first found in them, so a crash cannot leave a known root whose
        files have no position (the next run would read their history).
        """
        saved: list[Alert] = []
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(c.dev, c.ino, c.fingerprint, c.fp_len, c.source, c.path, c.offset,
                      c.line_number) for c in checkpoints],
                )  # fmt: skip
                db.executemany("DELETE FROM checkpoints WHERE dev = ? AND ino = ?", list(forget))
                db.executemany(
                    "INSERT OR IGNORE INTO roots (path) VALUES (?)", [(r,) for r in roots]
                )
                db.executemany(
                    "INSERT INTO sources (source, lines) VALUES (?, ?) ON CONFLICT (source)"
                    " DO UPDATE SET lines = lines + excluded.lines",
                    list((lines or {}).items()),
                )
                db.executemany(
                    "INSERT INTO errors VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (error_type) DO UPDATE SET count = count + excluded.count,"
                    " first_seen = min(first_seen, excluded.first_seen),"
                    " last_seen = max(last_seen, excluded.last_seen),"
                    " example = excluded.example, source = excluded.source",
                    [(e.error_type, e.count, e.first_seen, e.last_seen, e.example, e.source)
                     for e in errors],
                )  # fmt: skip
                db.executemany(
                    "INSERT OR REPLACE INTO state (name, data, saved_at) VALUES (?, ?, ?)",
                    [(name, json.dumps(value, separators=(",", ":")), saved_at)
                     for name, value in (state or {}).items() if value is not None],
                )  # fmt: skip
                # None forgets a name (a file's window that closed): no row per file
                # that ever was.
                db.executemany(
                    "DELETE FROM state WHERE name = ?",
                    [(name,) for name, value in (state or {}).items() if value is None],
                )
                for alert in alerts:
                    cursor = db.execute(
                        "INSERT INTO alerts (filename, score, threshold, time, window_start,"
                        " window_end, detector, lines, errors, template_ids, templates, samples,"
                        " fingerprint, severity, status, first_seen, last_seen, occurrences,"
                        " explanation, counts)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            alert.filename, alert.score, alert.threshold, alert.time,
                            alert.window_start, alert.window_end, alert.detector, alert.lines,
                            alert.errors, json.dumps(list(alert.template_ids)),
                            json.dumps(list(alert.templates)),
                            json.dumps(alert.to_dict()["sample_lines"]), alert.fingerprint,
                            alert.severity, alert.status, alert.first_seen or alert.time,
                            alert.last_seen or alert.time, alert.occurrences,
                            None if alert.explanation is None
                            else json.dumps(dict(alert.explanation)),
                            json.dumps([list(c) for c in alert.counts]),
                        ),
                    )  # fmt: skip
                    saved.append(replace(alert, id=cursor.lastrowid))
                db.executemany(
                    "UPDATE alerts SET score = ?, severity = ?, status = ?, last_seen = ?,"
                    " occurrences = ?, window_end = ?, lines = ?, errors = ?,"
                    " end_told = ? WHERE id = ?",
                    [(a.score, a.severity, a.status, a.last_seen, a.occurrences, a.window_end,
                      a.lines, a.errors, 0 if a.status == "resolved" else 1, a.id)
                     for a in updates if a.id is not None],
                )  # fmt: skip
                db.executemany(
                    "UPDATE alerts SET end_told = 1 WHERE id = ?", [(i,) for i in ends_told]
                )
                db.executemany(
                    "UPDATE alerts SET notified_at = ? WHERE id = ?",
                    [(t, i) for i, t in (notified or {}).items()],
                )
                db.execute("COMMIT")
            except BaseException as exc:
                # Any failure, not only SQLite's (a value json cannot encode, an
                # interrupt), must leave no half-written batch behind; and callers
                # must learn that this batch was not saved, whatever the cause.
                self._rollback()
                if isinstance(exc, Exception):
                    raise StateError(f"writing the state file {self.path} failed: {exc}") from exc
                raise
        return saved

    def _rollback(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.ProgrammingError:
            pass  # the connection is closed: nothing was written, nothing to undo

    def close(self) -> None:
        with self._lock:
            self._db.close()

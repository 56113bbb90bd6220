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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .alerts.summary import ErrorStat
from .errors import StateError
from .records import Alert, Sample
from .sources.checkpoint import Checkpoint, FileKey

__all__ = ["SCHEMA_VERSION", "Store"]

SCHEMA_VERSION = 1
_APP = "logmonitor"

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
CREATE TABLE IF NOT EXISTS state (
    name TEXT PRIMARY KEY, data TEXT NOT NULL, saved_at REAL NOT NULL
);
"""
_OTHER_PROGRAM = "belongs to another program; move it away or pass --state with another path"


class Store:
    """The SQLite state file. Safe to share between threads (one lock).

    >>> store = Store(":memory:")
    >>> store.line_counts()
    {}
    >>> store.close()
    """

    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise StateError(
                    f"cannot create the state directory {parent}: {exc.strerror}; "
                    "pass --state with a writable path"
                ) from exc
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._unusable(exc) from exc
        try:
            # Ownership first: another program's database must not be changed at all
            # (not even its journal mode), let alone get our tables.
            self._check_meta()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            # One transaction, so a crash cannot leave our tables without the meta rows.
            self._db.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}"
                f"INSERT OR IGNORE INTO meta (key, value) VALUES ('app', '{_APP}'),"
                f" ('schema_version', '{SCHEMA_VERSION}');"
                "COMMIT;"
            )
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise self._unusable(exc) from exc
        except StateError:
            self._db.close()
            raise

    def _unusable(self, exc: sqlite3.Error) -> StateError:
        return StateError(
            f"{self.path} is not a usable LogMonitor state file ({exc}); "
            "move it away or pass --state with another path"
        )

    def _check_meta(self) -> None:
        """Accept an empty database or one of ours with a schema we can read."""
        tables = {
            row[0]
            for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not tables:
            return
        if "meta" not in tables:
            raise StateError(f"{self.path} {_OTHER_PROGRAM}")
        rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if rows.get("app") != _APP:
            raise StateError(f"{self.path} {_OTHER_PROGRAM}")
        version = int(rows.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path} was written by a newer LogMonitor (schema {version}); "
                "upgrade LogMonitor"
            )

    # ------------------------------------------------------------------ reading

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

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
        if not rows:
            return None
        try:
            return json.loads(rows[0][0])
        except ValueError as exc:
            raise StateError(
                f"{self.path}: the saved {name!r} state is not valid JSON ({exc}); "
                "move the state file away to start afresh"
            ) from exc

    def alerts(self, limit: int = 100, since_id: int = 0) -> list[Alert]:
        """The newest ``limit`` alerts after ``since_id``, oldest first."""
        rows = self._all(
            "SELECT id, filename, score, threshold, time, window_start, window_end, detector,"
            " lines, errors, template_ids, templates, samples FROM alerts WHERE id > ?"
            " ORDER BY id DESC LIMIT ?",
            (since_id, limit),
        )
        return [self._alert(r) for r in reversed(rows)]

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
            sample_lines=samples,
        )  # fmt: skip

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
    ) -> list[Alert]:
        """Write one processed batch atomically; return ``alerts`` with their ids.

        ``state`` maps names to JSON values that replace what was saved under them
        (``saved_at`` is recorded beside each), in the same transaction as the
        positions they were learned up to.

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
                     for name, value in (state or {}).items()],
                )  # fmt: skip
                for alert in alerts:
                    cursor = db.execute(
                        "INSERT INTO alerts (filename, score, threshold, time, window_start,"
                        " window_end, detector, lines, errors, template_ids, templates, samples)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            alert.filename, alert.score, alert.threshold, alert.time,
                            alert.window_start, alert.window_end, alert.detector, alert.lines,
                            alert.errors, json.dumps(list(alert.template_ids)),
                            json.dumps(list(alert.templates)),
                            json.dumps(alert.to_dict()["sample_lines"]),
                        ),
                    )  # fmt: skip
                    saved.append(replace(alert, id=cursor.lastrowid))
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

"""The SQLite state file, on real files: WAL, atomic commits, counts, alerts, ownership."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from logmonitor.alerts.summary import ErrorStat
from logmonitor.errors import LogMonitorError, StateError
from logmonitor.records import Alert, Sample
from logmonitor.sources.checkpoint import Checkpoint
from logmonitor.store import SCHEMA_VERSION, Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(str(db_path))
    yield s
    s.close()


def checkpoint(ino: int = 1, offset: int = 100, path: str = "/logs/a.log") -> Checkpoint:
    return Checkpoint(
        dev=2049, ino=ino, fingerprint="ab" * 16, fp_len=1024, source=path, path=path,
        offset=offset, line_number=offset // 10,
    )  # fmt: skip


def alert(score: float = 0.7, **fields: object) -> Alert:
    base: dict[str, object] = {
        "filename": "/logs/a.log",
        "score": score,
        "time": 1_700_000_000.5,
        "threshold": 0.6,
        "window_start": 1_699_999_940.0,
        "window_end": 1_700_000_000.0,
        "template_ids": (3, 1),
        "templates": ("disk <*> failed", "user <*> logged in"),
        "sample_lines": (
            Sample("/logs/a.log", 41, "disk sda failed: ünïcode ✓", 3),
            Sample("/logs/a.log.1", 42, 'quote " and \\ backslash', 1),
        ),
        "detector": "iforest",
        "lines": 120,
        "errors": 7,
        "fingerprint": "0123456789abcdef",
        "severity": "warning",
        "first_seen": 1_700_000_000.5,
        "last_seen": 1_700_000_000.5,
        "explanation": {"detectors": ["iforest"], "templates": [{"template_id": 3}]},
        "counts": ((3, 100), (1, 20)),
    }
    base.update(fields)
    return Alert(**base)  # type: ignore[arg-type]


def error(kind: str = "java.io.IOException", count: int = 1, t: float = 10.0) -> ErrorStat:
    return ErrorStat(kind, count, t, t, f"example of {kind}", "/logs/a.log")


def reopen(store: Store, db_path: Path) -> Store:
    store.close()
    return Store(str(db_path))


def test_a_new_file_is_created_with_its_directory_and_wal(db_path: Path, store: Store) -> None:
    assert db_path.is_file()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        meta = dict(raw.execute("SELECT key, value FROM meta").fetchall())
    raw.close()
    assert meta == {"app": "logmonitor", "schema_version": str(SCHEMA_VERSION)}
    assert store.line_counts() == {}
    assert store.checkpoints() == {}
    assert store.alerts() == []
    assert store.error_stats() == []


def test_checkpoints_round_trip_and_replace(db_path: Path, store: Store) -> None:
    store.commit(checkpoints=[checkpoint(1, 100), checkpoint(2, 50, "/logs/b.log")])
    store.commit(checkpoints=[checkpoint(1, 300)])
    store = reopen(store, db_path)
    saved = store.checkpoints()
    assert saved == {(2049, 1): checkpoint(1, 300), (2049, 2): checkpoint(2, 50, "/logs/b.log")}
    store.close()


def test_forget_deletes_checkpoints(db_path: Path, store: Store) -> None:
    store.commit(checkpoints=[checkpoint(1), checkpoint(2)])
    store.commit(forget=[(2049, 1), (9, 9)])
    assert set(store.checkpoints()) == {(2049, 2)}
    store = reopen(store, db_path)
    assert set(store.checkpoints()) == {(2049, 2)}
    store.close()


def test_line_counts_accumulate_across_commits_and_reopen(db_path: Path, store: Store) -> None:
    store.commit(lines={"/logs/a.log": 10, "/logs/b.log": 1})
    store.commit(lines={"/logs/a.log": 5})
    assert store.line_counts() == {"/logs/a.log": 15, "/logs/b.log": 1}
    store = reopen(store, db_path)
    store.commit(lines={"/logs/b.log": 2})
    assert store.line_counts() == {"/logs/a.log": 15, "/logs/b.log": 3}
    store.close()


def test_error_counts_accumulate(db_path: Path, store: Store) -> None:
    store.commit(errors=[error(count=2, t=10.0), error("ValueError")])
    store = reopen(store, db_path)
    store.commit(errors=[error(count=3, t=5.0), error(count=1, t=50.0)])
    stats = {s.error_type: s for s in store.error_stats()}
    io = stats["java.io.IOException"]
    assert (io.count, io.first_seen, io.last_seen) == (6, 5.0, 50.0)
    assert stats["ValueError"].count == 1
    store.close()


def test_alerts_get_increasing_ids_and_round_trip(db_path: Path, store: Store) -> None:
    first = store.commit(alerts=[alert(0.7), alert(0.8)])
    second = store.commit(alerts=[alert(0.9, filename="/logs/b.log", template_ids=())])
    ids = [a.id for a in first + second]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert first[0] == alert(0.7, id=ids[0])
    store = reopen(store, db_path)
    loaded = store.alerts()
    assert loaded == first + second  # every field, samples included
    assert loaded[0].sample_lines[0].text == "disk sda failed: ünïcode ✓"
    filename, score = loaded[-1]
    assert (filename, score) == ("/logs/b.log", 0.9)
    store.close()


def test_alerts_limit_and_since(store: Store) -> None:
    saved = store.commit(alerts=[alert(0.5 + i / 100) for i in range(10)])
    ids = [a.id for a in saved]
    assert [a.id for a in store.alerts(limit=3)] == ids[-3:]  # the newest, oldest first
    assert [a.id for a in store.alerts(since_id=ids[6])] == ids[7:]
    # Ids keep increasing after a reopen (AUTOINCREMENT: never reused).
    more = store.commit(alerts=[alert()])
    assert more[0].id is not None
    assert more[0].id > ids[-1]


def test_roots(db_path: Path, store: Store) -> None:
    store.commit(roots=["/logs", "/more"])
    store.commit(roots=["/logs"])
    store = reopen(store, db_path)
    assert store.roots() == {"/logs", "/more"}
    store.close()


def test_commit_is_atomic_when_an_alert_cannot_be_encoded(db_path: Path, store: Store) -> None:
    store.commit(checkpoints=[checkpoint(1, 100)], lines={"/logs/a.log": 10})
    bad = alert(template_ids=(np.int64(3),))  # json cannot encode numpy integers
    with pytest.raises(StateError, match="not JSON serializable") as caught:
        store.commit(
            checkpoints=[checkpoint(1, 999), checkpoint(7)],
            lines={"/logs/a.log": 5},
            errors=[error()],
            alerts=[alert(), bad],
        )
    assert isinstance(caught.value.__cause__, TypeError)

    def assert_unchanged(view: Store) -> None:
        assert view.checkpoints() == {(2049, 1): checkpoint(1, 100)}
        assert view.line_counts() == {"/logs/a.log": 10}
        assert view.error_stats() == []
        assert view.alerts() == []

    # Nothing of the failed batch, seen through this connection or a new one.
    assert_unchanged(store)
    other = Store(str(db_path))
    assert_unchanged(other)
    other.close()
    # And the store is still usable: the failed transaction did not stay open.
    [saved] = store.commit(alerts=[alert()], lines={"/logs/a.log": 1})
    assert store.line_counts() == {"/logs/a.log": 11}
    assert saved.id is not None
    store = reopen(store, db_path)
    assert store.line_counts() == {"/logs/a.log": 11}
    store.close()


def test_commit_is_atomic_when_sqlite_refuses_a_value(db_path: Path, store: Store) -> None:
    store.commit(lines={"/logs/a.log": 10})
    with pytest.raises(StateError, match="writing the state file"):
        store.commit(
            checkpoints=[checkpoint(1)],
            lines={"/logs/a.log": 5},
            alerts=[alert(), alert(lines=object())],
        )
    store = reopen(store, db_path)
    assert store.line_counts() == {"/logs/a.log": 10}
    assert store.checkpoints() == {}
    assert store.alerts() == []
    store.close()


def test_commit_after_close_is_a_state_error(db_path: Path) -> None:
    store = Store(str(db_path))
    store.close()
    with pytest.raises(StateError):
        store.commit(lines={"/logs/a.log": 1})
    reopened = Store(str(db_path))
    assert reopened.line_counts() == {}
    reopened.close()


def test_a_killed_writer_loses_only_uncommitted_work(db_path: Path) -> None:
    store = Store(str(db_path))
    store.commit(lines={"/logs/a.log": 3})
    # A second connection holds an open write transaction when the process "dies".
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("UPDATE sources SET lines = 999")
    raw.close()  # never committed
    store.close()
    reopened = Store(str(db_path))
    assert reopened.line_counts() == {"/logs/a.log": 3}
    reopened.close()


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the bytes of a database\n" * 200)
    with pytest.raises(StateError) as caught:
        Store(str(path))
    message = str(caught.value)
    assert str(path) in message
    assert "move it" in message
    assert "--state" in message
    assert path.read_text().startswith("these are not")


def test_a_sqlite_file_of_another_program_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE contacts (name TEXT)")
    raw.execute("INSERT INTO contacts VALUES ('ada')")
    raw.commit()
    raw.close()
    with pytest.raises(StateError) as caught:
        Store(str(path))
    message = str(caught.value)
    assert "another program" in message
    assert "move it" in message
    assert "--state" in message
    raw = sqlite3.connect(path)
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    journal = raw.execute("PRAGMA journal_mode").fetchone()[0]
    raw.close()
    assert tables == {"contacts"}  # none of ours added
    assert journal == "delete"  # not switched to WAL


@pytest.mark.parametrize(
    "meta",
    [
        [("app", "someone-else"), ("schema_version", "1")],
        [],
    ],
)
def test_a_meta_table_that_is_not_ours_is_refused(
    tmp_path: Path, meta: list[tuple[str, str]]
) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    raw.executemany("INSERT INTO meta VALUES (?, ?)", meta)
    raw.commit()
    raw.close()
    with pytest.raises(StateError, match=r"move it.*--state"):
        Store(str(path))


def test_a_meta_table_of_another_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE meta (id INTEGER, blob BLOB)")
    raw.commit()
    raw.close()
    with pytest.raises(StateError, match=r"move it.*--state"):
        Store(str(path))


def test_a_newer_schema_is_refused(db_path: Path, store: Store) -> None:
    store.commit(lines={"/logs/a.log": 1})
    store.close()
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    raw.commit()
    raw.close()
    with pytest.raises(StateError, match=r"newer LogMonitor") as caught:
        Store(str(db_path))
    assert isinstance(caught.value, LogMonitorError)
    assert "upgrade" in str(caught.value)


def test_an_unwritable_location_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError, match="--state"):
        Store(str(blocker / "state.db"))


def test_a_directory_is_not_a_state_file(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="--state"):
        Store(str(tmp_path))


def test_memory_store() -> None:
    store = Store(":memory:")
    store.commit(lines={"a": 1}, alerts=[alert()])
    assert store.line_counts() == {"a": 1}
    assert len(store.alerts()) == 1
    store.close()


def test_state_values_round_trip_replace_and_commit_atomically(db_path: Path, store: Store) -> None:
    assert store.state("miner") is None
    store.commit(state={"miner": {"version": 1, "n": [1, 2]}}, saved_at=5.0)
    store.commit(state={"miner": {"version": 1, "n": [3]}, "miner.ids": {"floor": 9}})
    store = reopen(store, db_path)
    assert store.state("miner") == {"version": 1, "n": [3]}
    assert store.state("miner.ids") == {"floor": 9}
    with pytest.raises(StateError):  # not JSON: nothing of the batch is written
        store.commit(checkpoints=[checkpoint()], state={"miner": {1, 2}})
    assert store.state("miner") == {"version": 1, "n": [3]}
    assert store.checkpoints() == {}
    store.commit(state={"window:/a.log": {"lines": 3}})
    assert store.states("window:") == {"window:/a.log": {"lines": 3}}
    store.commit(state={"window:/a.log": None})  # None forgets the name
    assert store.states("window:") == {}


def test_a_schema_1_file_is_migrated_and_keeps_its_alerts(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(db_path)) as db, db:
        db.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('app', 'logmonitor'), ('schema_version', '1');"
            "CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, filename TEXT NOT NULL,"
            " score REAL NOT NULL, threshold REAL NOT NULL, time REAL NOT NULL,"
            " window_start REAL NOT NULL, window_end REAL NOT NULL, detector TEXT NOT NULL,"
            " lines INTEGER NOT NULL, errors INTEGER NOT NULL, template_ids TEXT NOT NULL,"
            " templates TEXT NOT NULL, samples TEXT NOT NULL);"
            "INSERT INTO alerts VALUES (NULL, '/a.log', 0.8, 0.5, 100.0, 40.0, 100.0,"
            " 'iforest', 10, 1, '[1]', '[\"x <*>\"]', '[]');"
        )
    with closing(Store(str(db_path))) as store:
        (old,) = store.alerts()
        assert (old.filename, old.score, old.status, old.first_seen) == (
            "/a.log",
            0.8,
            "resolved",
            100.0,
        )
        # Backfilled in SQL, so time filters, stats and severity filters find it.
        assert store.alert_page(10, since_time=50.0)[1] == 1
        assert store.alert_page(10, severity="critical")[1] == 1
        assert store.feedback_stats()[0]["start"] == 0.0
        assert store.untold_ends() == []
        store.commit(alerts=[alert()])
        assert len(store.alerts()) == 2
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "2",
        )


def test_ack_feedback_and_mutes_bump_the_feedback_version(store: Store) -> None:
    (saved,) = store.commit(alerts=[alert()])
    assert saved.id is not None
    version = store.feedback_version()
    acked = store.ack(saved.id, now=5.0)
    assert acked.acked_at == 5.0
    assert store.ack(saved.id, now=9.0).acked_at == 5.0  # the first ack stays
    judged = store.set_feedback(saved.id, "false-positive", now=6.0)
    assert judged.feedback == "false-positive"
    mute = store.add_mute("source", "/logs", until=100.0, now=7.0)
    assert store.feedback_version() == version + 4
    mutes, false_positives, acked_ids = store.feedback_state(now=50.0)
    assert mutes == [mute]
    assert false_positives == {saved.fingerprint}
    assert acked_ids == {saved.id}
    assert store.feedback_state(now=100.0)[0] == []  # expired
    with pytest.raises(StateError, match="no alert 99"):
        store.ack(99, now=1.0)
    with pytest.raises(ValueError, match="verdict"):
        store.set_feedback(saved.id, "maybe", now=1.0)
    (day,) = store.feedback_stats()
    assert (day["alerts"], day["false_positives"], day["precision"]) == (1, 1, 0.0)

"""The tailer and the directory watcher, on real files in temporary directories.

The tailer is driven the way the pipeline drives it, synchronously: ``scan()``,
then ``read(source)`` until ``None`` for every stream that the scan (or ``due``)
named. Time only moves when a test advances the ``FakeClock``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from logmonitor import FakeClock, LogLine
from logmonitor.sources.base import Chunk, SourceStats
from logmonitor.sources.checkpoint import Checkpoint, FileKey
from logmonitor.sources.tail import Tailer, TailSettings
from logmonitor.sources.watch import Watcher

SRC = Path(__file__).resolve().parents[2] / "src"
MIB = 1 << 20
NOBODY = 65534

MakeTailer = Callable[..., Tailer]


# ------------------------------------------------------------------ helpers


@pytest.fixture
def make_tailer(clock: FakeClock) -> Iterator[MakeTailer]:
    """Build tailers on the test's FakeClock; close their descriptors at the end."""
    made: list[Tailer] = []

    def make(
        *paths: Path,
        checkpoints: dict[FileKey, Checkpoint] | None = None,
        known_roots: tuple[str, ...] = (),
        **options: Any,
    ) -> Tailer:
        settings = TailSettings(paths=tuple(str(p) for p in paths), **options)
        tailer = Tailer(settings, clock, checkpoints, known_roots)
        made.append(tailer)
        return tailer

    yield make
    for tailer in made:
        tailer.close()


def drain(tailer: Tailer) -> list[Chunk]:
    """One pipeline pass: scan, then read every stream the scan or ``due`` named."""
    work = tailer.scan() | tailer.due(tailer.clock.now())
    chunks = []
    for source in sorted(work):
        while (chunk := tailer.read(source)) is not None:
            chunks.append(chunk)
    return chunks


def lines_of(chunks: list[Chunk]) -> list[LogLine]:
    return [line for chunk in chunks for line in chunk.lines]


def texts(chunks: list[Chunk]) -> list[str]:
    return [line.text for line in lines_of(chunks)]


def append(path: Path, data: str | bytes) -> None:
    """Append like a logger does: open, write, close."""
    with path.open("ab") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)


def stats_of(tailer: Tailer, source: Path) -> SourceStats:
    return next(s for s in tailer.stats() if s.source == str(source))


def last_checkpoints(chunks: list[Chunk]) -> dict[FileKey, Checkpoint]:
    """What the store would hold after committing these chunks: the last per file."""
    return {chunk.checkpoint.key: chunk.checkpoint for chunk in chunks}


# ------------------------------------------------------ discovery and globs


def test_follows_several_directories_at_once(tmp_path: Path, make_tailer: MakeTailer) -> None:
    """Every configured directory is scanned; each file is a stream named by its path."""
    web, db = tmp_path / "web", tmp_path / "db"
    web.mkdir()
    db.mkdir()
    tailer = make_tailer(web, db)
    assert drain(tailer) == []
    append(web / "access.log", "GET /\n")
    append(db / "postgres.log", "checkpoint complete\n")

    chunks = drain(tailer)

    assert {(c.source, line.text) for c in chunks for line in c.lines} == {
        (str(web / "access.log"), "GET /"),
        (str(db / "postgres.log"), "checkpoint complete"),
    }
    assert tailer.sources() == sorted([str(web / "access.log"), str(db / "postgres.log")])


def test_recurses_into_subdirectories(tmp_path: Path, make_tailer: MakeTailer) -> None:
    """Files in nested directories are found, unless ``recursive=False``."""
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    append(nested / "deep.log", "deep\n")
    append(tmp_path / "top.log", "top\n")

    deep = make_tailer(tmp_path, from_beginning=True)
    flat = make_tailer(tmp_path, from_beginning=True, recursive=False)

    assert sorted(texts(drain(deep))) == ["deep", "top"]
    assert deep.directories() == {str(tmp_path), str(tmp_path / "a"), str(nested)}
    assert texts(drain(flat)) == ["top"]
    assert flat.directories() == {str(tmp_path)}


def test_default_globs_take_logs_and_skip_compressed(
    log_dir: Path, make_tailer: MakeTailer
) -> None:
    """The defaults follow *.log, *.log.[0-9], syslog, messages, *.err, not *.gz or journals."""
    wanted = ["app.log", "app.log.1", "syslog", "messages", "worker.err"]
    unwanted = ["app.log.2.gz", "system.journal", "notes.txt", "app.log.10", "README"]
    for name in wanted + unwanted:
        append(log_dir / name, f"{name}\n")
    tailer = make_tailer(log_dir, from_beginning=True)

    assert sorted(texts(drain(tailer))) == sorted(wanted)
    assert tailer.sources() == sorted(str(log_dir / name) for name in wanted)


def test_custom_include_and_exclude(log_dir: Path, make_tailer: MakeTailer) -> None:
    """A custom include list replaces the defaults; a pattern with '/' matches the path."""
    (log_dir / "archive").mkdir()
    append(log_dir / "app.log", "default glob\n")
    append(log_dir / "trace.txt", "custom glob\n")
    append(log_dir / "archive" / "old.txt", "excluded by path\n")
    tailer = make_tailer(log_dir, from_beginning=True, include=("*.txt",), exclude=("*/archive/*",))

    assert texts(drain(tailer)) == ["custom glob"]


def test_missing_root_is_reported_once_and_followed_when_it_appears(
    tmp_path: Path, make_tailer: MakeTailer, caplog: pytest.LogCaptureFixture
) -> None:
    """A configured directory that does not exist yet is a warning, not an error."""
    later = tmp_path / "later"
    tailer = make_tailer(later)

    assert drain(tailer) == []
    assert drain(tailer) == []
    later.mkdir()
    append(later / "app.log", "hello\n")

    assert texts(drain(tailer)) == ["hello"]
    assert [r.getMessage() for r in caplog.records].count(
        f"cannot read {later}: No such file or directory"
    ) == 1


# ---------------------------------------------------------- start position


def test_first_scan_starts_existing_files_at_their_end(
    log_dir: Path, make_tailer: MakeTailer
) -> None:
    """History is skipped, but a partial last line is kept and completed later."""
    app = log_dir / "app.log"
    append(app, "old 1\nold 2\npart")
    tailer = make_tailer(log_dir)

    assert drain(tailer) == []
    append(app, "ial\nnew\n")
    lines = lines_of(drain(tailer))

    assert [(ln.text, ln.line_number, ln.offset) for ln in lines] == [
        ("partial", 3, len("old 1\nold 2\n")),
        ("new", 4, len("old 1\nold 2\npartial\n")),
    ]


def test_from_beginning_reads_history(log_dir: Path, make_tailer: MakeTailer) -> None:
    """``from_beginning=True`` reads what existing files already hold."""
    append(log_dir / "app.log", "one\ntwo\n")
    tailer = make_tailer(log_dir, from_beginning=True)

    lines = lines_of(drain(tailer))

    assert [(ln.text, ln.line_number, ln.offset) for ln in lines] == [("one", 1, 0), ("two", 2, 4)]


def test_files_created_after_the_first_scan_are_read_from_their_start(
    log_dir: Path, make_tailer: MakeTailer
) -> None:
    """Only the first scan skips history; a file that appears later is new in full."""
    append(log_dir / "old.log", "history\n")
    tailer = make_tailer(log_dir)
    assert drain(tailer) == []

    append(log_dir / "new.log", "first\nsecond\n")

    assert texts(drain(tailer)) == ["first", "second"]


def test_known_root_reads_new_files_from_their_start(
    log_dir: Path, make_tailer: MakeTailer
) -> None:
    """A file without checkpoint under a root an earlier run watched appeared while
    the monitor was down: nothing of it was read, so it is read from its start."""
    append(log_dir / "app.log", "written while down\n")
    tailer = make_tailer(log_dir, known_roots=(str(log_dir),))

    assert texts(drain(tailer)) == ["written while down"]


def test_single_file_root_and_track(tmp_path: Path, log_dir: Path, make_tailer: MakeTailer) -> None:
    """A root may be one file (any name, globs do not apply); ``track`` adds a file
    outside the roots, read from its start, and keeps finding it on later scans."""
    single = tmp_path / "service.output"
    append(single, "history\n")
    extra = tmp_path / "elsewhere.txt"
    append(extra, "tracked 1\n")
    tailer = make_tailer(single, log_dir)
    assert drain(tailer) == []

    assert tailer.track(str(extra)) == str(extra)
    append(single, "appended\n")
    assert sorted(texts(drain(tailer))) == ["appended", "tracked 1"]
    append(extra, "tracked 2\n")
    assert texts(drain(tailer)) == ["tracked 2"]

    with pytest.raises(FileNotFoundError):
        tailer.track(str(tmp_path / "missing.log"))
    with pytest.raises(IsADirectoryError):
        tailer.track(str(log_dir))


# ------------------------------------------------------------------ reading


def test_appends_come_in_order_with_offsets_and_checkpoint(
    log_dir: Path, make_tailer: MakeTailer, clock: FakeClock
) -> None:
    """Line numbers, offsets and end offsets are exact; the checkpoint is after the last line."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir)
    assert drain(tailer) == []

    append(app, "alpha\nbeta\n")
    first = drain(tailer)
    append(app, "gamma\n")
    second = drain(tailer)

    lines = lines_of(first + second)
    assert [(ln.text, ln.line_number, ln.offset, ln.end_offset) for ln in lines] == [
        ("alpha", 1, 0, 6),
        ("beta", 2, 6, 11),
        ("gamma", 3, 11, 17),
    ]
    assert all(ln.source == ln.path == str(app) for ln in lines)
    assert all(ln.read_at == clock.now() for ln in lines)
    st = app.stat()
    for chunk in first + second:
        checkpoint = chunk.checkpoint
        assert checkpoint.offset == chunk.lines[-1].end_offset
        assert checkpoint.line_number == chunk.lines[-1].line_number
        assert checkpoint.key == (st.st_dev, st.st_ino)
        assert (checkpoint.source, checkpoint.path) == (str(app), str(app))
    assert stats_of(tailer, app).lines == 3


def test_lines_split_across_reads_are_reassembled(log_dir: Path, make_tailer: MakeTailer) -> None:
    """With reads smaller than a line (and than a character, or a CRLF), lines and
    byte offsets still come out whole."""
    app = log_dir / "app.log"
    texts_in = [f"línea número {i}" for i in range(1, 21)]
    raw = b"".join(t.encode() + (b"\r\n" if i % 2 else b"\n") for i, t in enumerate(texts_in))
    append(app, raw)
    tailer = make_tailer(log_dir, from_beginning=True, read_chunk_bytes=7)

    lines = lines_of(drain(tailer))

    assert [ln.text for ln in lines] == texts_in
    assert [raw[ln.offset : ln.end_offset] for ln in lines] == raw.splitlines(keepends=True)


# ----------------------------------------------------------------- rotation


def test_rename_rotation_reads_every_line_once_old_file_first(
    log_dir: Path, make_tailer: MakeTailer
) -> None:
    """app.log -> app.log.1 and a new app.log: the old file's tail, then the new file,
    all in the stream app.log, and the rotation is counted."""
    app, rotated = log_dir / "app.log", log_dir / "app.log.1"
    app.touch()
    tailer = make_tailer(log_dir)
    drain(tailer)
    append(app, "old 1\nold 2\n")
    assert texts(drain(tailer)) == ["old 1", "old 2"]

    append(app, "old 3\n")  # written just before the rotation, not read yet
    app.rename(rotated)
    append(app, "new 1\nnew 2\n")
    lines = lines_of(drain(tailer))

    assert [(ln.text, ln.path, ln.line_number) for ln in lines] == [
        ("old 3", str(rotated), 3),
        ("new 1", str(app), 1),
        ("new 2", str(app), 2),
    ]
    assert {ln.source for ln in lines} == {str(app)}
    assert stats_of(tailer, app).rotations == 1
    assert tailer.sources() == [str(app)]

    append(app, "new 3\n")
    assert texts(drain(tailer)) == ["new 3"]


def test_rotation_to_a_name_outside_the_globs_is_drained(
    log_dir: Path, make_tailer: MakeTailer, clock: FakeClock
) -> None:
    """dateext rotation (app.log-20240101, not a followed name) still drains the old
    file through its descriptor, then closes it after ``rotate_wait``."""
    app, dated = log_dir / "app.log", log_dir / "app.log-20240101"
    app.touch()
    tailer = make_tailer(log_dir, rotate_wait=5.0)
    drain(tailer)
    append(app, "before\n")
    old_key = (app.stat().st_dev, app.stat().st_ino)

    app.rename(dated)
    append(dated, "late write by the old handle\n")
    append(app, "after\n")
    lines = lines_of(drain(tailer))

    assert [(ln.text, ln.source) for ln in lines] == [
        ("before", str(app)),
        ("late write by the old handle", str(app)),
        ("after", str(app)),
    ]
    assert stats_of(tailer, app).rotations == 1
    assert tailer.close_gone() == []
    clock.advance(5.0)
    assert tailer.close_gone() == [old_key]
    append(app, "still followed\n")
    assert texts(drain(tailer)) == ["still followed"]


def test_rotation_under_load_loses_and_repeats_nothing(
    log_dir: Path, make_tailer: MakeTailer
) -> None:
    """A writer thread appends and rotates (app.log.N shifted up, new app.log) while the
    tailer scans and reads: every line comes out exactly once, in order per stream."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir, read_chunk_bytes=4096)
    drain(tailer)
    rotations, per_file = 8, 400
    expected = [f"line {n}" for n in range(1, (rotations + 1) * per_file + 1)]
    errors: list[OSError] = []

    def write_and_rotate() -> None:
        try:
            lines = iter(expected)
            for rotation in range(rotations + 1):
                with app.open("a") as fh:
                    for _ in range(per_file):
                        fh.write(next(lines) + "\n")
                        fh.flush()
                if rotation < rotations:
                    for k in range(rotation, 0, -1):
                        os.rename(f"{app}.{k}", f"{app}.{k + 1}")
                    os.rename(app, f"{app}.1")
        except OSError as exc:  # asserted on by the test thread
            errors.append(exc)

    writer = threading.Thread(target=write_and_rotate)
    writer.start()
    seen: list[LogLine] = []
    while writer.is_alive():
        seen += lines_of(drain(tailer))
    writer.join()
    seen += lines_of(drain(tailer))  # everything is written and closed now

    assert errors == []
    assert drain(tailer) == []
    assert Counter(ln.text for ln in seen) == Counter(expected)
    for source in {ln.source for ln in seen}:
        numbers = [int(ln.text.split()[1]) for ln in seen if ln.source == source]
        assert numbers == sorted(numbers), f"{source} out of order"


class RotatingAfterListing(Tailer):
    """A real tailer with one seam: ``rotate`` runs once, after a scan has listed the
    directories and before it opens the new files, which is where a rotation can race."""

    rotate: Callable[[], None] | None = None

    def _walk(self, root: str, dirs: set[str]) -> Iterator[tuple[str, os.stat_result]]:
        yield from super()._walk(root, dirs)
        if self.rotate is not None:
            rotate, self.rotate = self.rotate, None
            rotate()


def test_rotation_between_listing_and_open_does_not_read_a_file_twice(
    log_dir: Path, clock: FakeClock
) -> None:
    """The listing saw a new app.log.1; by the open, the name holds the followed app.log.
    Opening it again would read that file twice: the tailer only adopts what it listed."""
    app, first, second = log_dir / "app.log", log_dir / "app.log.1", log_dir / "app.log.2"
    app.touch()
    tailer = RotatingAfterListing(TailSettings(paths=(str(log_dir),)), clock)
    try:
        drain(tailer)
        append(app, "a 1\n")
        assert texts(drain(tailer)) == ["a 1"]
        append(app, "a 2\n")
        append(first, "older file\n")  # appears now; listed by the next scan

        def rotate() -> None:
            first.rename(second)
            app.rename(first)

        tailer.rotate = rotate
        seen = texts(drain(tailer)) + texts(drain(tailer))
    finally:
        tailer.close()

    assert sorted(seen) == ["a 2", "older file"]


def test_copytruncate_restarts_at_zero(log_dir: Path, make_tailer: MakeTailer) -> None:
    """A file truncated in place (copytruncate) is read again from 0, counted, and the
    lines read before are not repeated."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir)
    drain(tailer)
    append(app, "old line 1\nold line 2\nold line 3\n")
    assert texts(drain(tailer)) == ["old line 1", "old line 2", "old line 3"]

    with app.open("r+b") as fh:
        fh.truncate(0)
    append(app, "fresh\n")
    lines = lines_of(drain(tailer))

    assert [(ln.text, ln.offset, ln.line_number) for ln in lines] == [("fresh", 0, 1)]
    assert stats_of(tailer, app).truncations == 1


def test_copytruncate_with_more_new_bytes_is_detected_by_fingerprint(
    log_dir: Path, make_tailer: MakeTailer
) -> None:
    """Truncated and rewritten past the old read position before the next scan: the
    size alone cannot tell, the fingerprint of the first bytes does."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir)
    drain(tailer)
    append(app, "old\n")
    assert texts(drain(tailer)) == ["old"]

    with app.open("r+b") as fh:
        fh.truncate(0)
    append(app, "rewritten 1\nrewritten 2\n")

    assert texts(drain(tailer)) == ["rewritten 1", "rewritten 2"]
    assert stats_of(tailer, app).truncations == 1


def test_deleted_and_recreated_file(
    log_dir: Path, make_tailer: MakeTailer, clock: FakeClock
) -> None:
    """A deleted file is drained through its descriptor; a new file under the same name
    is read from its start in the same stream; the old one is closed after rotate_wait."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir, rotate_wait=5.0)
    drain(tailer)
    append(app, "first life 1\n")
    assert texts(drain(tailer)) == ["first life 1"]
    old_key = (app.stat().st_dev, app.stat().st_ino)

    with app.open("ab") as writer:  # the application still holds the old file
        writer.write(b"first life 2\n")
        writer.flush()
        app.unlink()
        append(app, "second life 1\n")
        lines = lines_of(drain(tailer))
        assert [(ln.text, ln.source) for ln in lines] == [
            ("first life 2", str(app)),
            ("second life 1", str(app)),
        ]
        assert stats_of(tailer, app).rotations == 1

        clock.advance(5.0)
        writer.write(b"first life 3\n")
        writer.flush()
        assert tailer.close_gone() == [], "still growing: not closed"

    clock.advance(5.0)
    assert texts(drain(tailer)) == ["first life 3"]
    assert tailer.close_gone() == [old_key]
    assert tailer.close_gone() == []
    assert tailer.sources() == [str(app)]
    append(app, "second life 2\n")
    assert texts(drain(tailer)) == ["second life 2"]


# ------------------------------------------------------------- line content


def test_partial_line_is_held_until_its_newline(log_dir: Path, make_tailer: MakeTailer) -> None:
    """A line written in pieces comes out once, whole, when its newline arrives."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir)
    drain(tailer)

    append(app, "complete\nhalf")
    assert texts(drain(tailer)) == ["complete"]
    append(app, " and ")
    assert drain(tailer) == []
    append(app, "half\n")

    assert [(ln.text, ln.offset) for ln in lines_of(drain(tailer))] == [
        ("half and half", len("complete\n"))
    ]


def test_partial_line_is_flushed_after_the_timeout(
    log_dir: Path, make_tailer: MakeTailer, clock: FakeClock
) -> None:
    """A last line that never gets its newline is emitted after partial_line_timeout,
    and ``due`` names its stream so the pipeline comes back for it."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir, partial_line_timeout=5.0)
    drain(tailer)
    append(app, "no newline yet")
    assert drain(tailer) == []

    clock.advance(4.9)
    assert tailer.due(clock.now()) == set()
    assert drain(tailer) == []
    clock.advance(0.1)
    assert tailer.due(clock.now()) == {str(app)}
    lines = lines_of(drain(tailer))

    assert [(ln.text, ln.offset, ln.end_offset) for ln in lines] == [
        ("no newline yet", 0, len("no newline yet"))
    ]
    append(app, "\nnext\n")
    assert texts(drain(tailer)) == ["", "next"]


def test_partial_line_timeout_counts_from_when_that_line_began(
    log_dir: Path, make_tailer: MakeTailer, clock: FakeClock
) -> None:
    """An earlier partial line that was completed does not shorten the wait of the next."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir, partial_line_timeout=5.0)
    drain(tailer)
    append(app, "first ")
    assert drain(tailer) == []

    clock.advance(4.0)
    append(app, "line\nsecond ")
    assert texts(drain(tailer)) == ["first line"]
    clock.advance(4.0)  # 8 s after 'first ', 4 s after 'second '
    assert drain(tailer) == []
    append(app, "line\n")

    assert texts(drain(tailer)) == ["second line"]


def test_crlf_and_invalid_utf8(log_dir: Path, make_tailer: MakeTailer) -> None:
    """CRLF endings lose their \\r; invalid UTF-8 becomes U+FFFD instead of failing."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir)
    drain(tailer)

    append(app, b"windows line\r\n\xff\xfe broken \xc3\n\xc3\xa9t\xc3\xa9\n")

    assert texts(drain(tailer)) == ["windows line", "\ufffd\ufffd broken \ufffd", "été"]


def test_overlong_line_is_cut_to_max_line_bytes(log_dir: Path, make_tailer: MakeTailer) -> None:
    """A 5 MiB line becomes one line of exactly 1 MiB marked truncated, counted; the
    lines after it are intact, and the whole line is never held in memory."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir)  # max_line_bytes and read_chunk_bytes: 1 MiB
    drain(tailer)
    size = 5 * MIB
    append(app, b"before\n" + b"x" * size + b"\nafter 1\nafter 2\n")

    tracemalloc.start()
    try:
        lines = lines_of(drain(tailer))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert [(len(ln.text), ln.truncated, ln.line_number) for ln in lines] == [
        (6, False, 1),
        (MIB, True, 2),
        (7, False, 3),
        (7, False, 4),
    ]
    assert lines[1].text == "x" * MIB
    assert (lines[1].offset, lines[1].end_offset) == (7, 7 + size + 1)
    assert [ln.text for ln in lines[2:]] == ["after 1", "after 2"]
    assert stats_of(tailer, app).truncated_lines == 1
    assert peak < size, f"peak {peak} bytes: the whole line was held"


@pytest.mark.parametrize("read_chunk_bytes", [3, 4, 11, 64])
def test_line_length_limit_is_exact_whatever_the_read_size(
    log_dir: Path, make_tailer: MakeTailer, read_chunk_bytes: int
) -> None:
    """Lines of max_line_bytes pass whole, longer ones are cut to it, however the
    reads split them; offsets stay exact through the discarded bytes."""
    lengths = [9, 10, 11, 35, 10]
    body = "".join(chr(ord("a") + i) * n + "\n" for i, n in enumerate(lengths))
    append(log_dir / "app.log", body)
    tailer = make_tailer(
        log_dir, from_beginning=True, max_line_bytes=10, read_chunk_bytes=read_chunk_bytes
    )

    lines = lines_of(drain(tailer))

    assert [(ln.text, ln.truncated) for ln in lines] == [
        ("a" * 9, False),
        ("b" * 10, False),
        ("c" * 10, True),
        ("d" * 10, True),
        ("e" * 10, False),
    ]
    assert [body[ln.offset : ln.end_offset] for ln in lines] == body.splitlines(keepends=True)
    assert stats_of(tailer, log_dir / "app.log").truncated_lines == 2


def test_overlong_partial_line_is_flushed_cut_after_the_timeout(
    log_dir: Path, make_tailer: MakeTailer, clock: FakeClock
) -> None:
    """An over-long line still waiting for its newline is flushed, cut, after the timeout."""
    app = log_dir / "app.log"
    app.touch()
    tailer = make_tailer(log_dir, max_line_bytes=10, read_chunk_bytes=4)
    drain(tailer)
    append(app, "z" * 25)
    assert drain(tailer) == []

    clock.advance(5.0)
    lines = lines_of(drain(tailer))

    assert [(ln.text, ln.truncated, ln.end_offset) for ln in lines] == [("z" * 10, True, 25)]


def test_binary_file_is_skipped_and_reported(
    log_dir: Path, make_tailer: MakeTailer, caplog: pytest.LogCaptureFixture
) -> None:
    """A NUL byte in the first 8 KiB marks a file binary: skipped, reported once."""
    blob = log_dir / "core.log"
    append(blob, b"ELF\x00\x01\x02" + b"\n" * 10)
    append(log_dir / "text.log", "text\n")
    tailer = make_tailer(log_dir, from_beginning=True)

    assert texts(drain(tailer)) == ["text"]
    append(blob, "more\n")
    assert drain(tailer) == []

    assert tailer.sources() == [str(log_dir / "text.log")]
    assert [r.getMessage() for r in caplog.records] == [f"skipping {blob}: binary file"]


def test_empty_file_that_receives_binary_content_is_skipped(
    log_dir: Path, make_tailer: MakeTailer, caplog: pytest.LogCaptureFixture
) -> None:
    """The binary check runs on the first bytes read, not when the file is opened."""
    blob = log_dir / "dump.log"
    blob.touch()
    tailer = make_tailer(log_dir)
    assert drain(tailer) == []

    append(blob, b"\x00\x00\x00\x01 binary\n")

    assert drain(tailer) == []
    assert drain(tailer) == []
    assert tailer.sources() == []
    assert [r.getMessage() for r in caplog.records] == [f"skipping {blob}: binary file"]


def test_binary_file_present_at_the_first_scan_is_skipped(
    log_dir: Path, make_tailer: MakeTailer, caplog: pytest.LogCaptureFixture
) -> None:
    """A file followed from its end is still judged by its first 8 KiB, so records
    appended to a binary file are never emitted as lines."""
    blob = log_dir / "data.log"
    append(blob, b"\x00\x01\x02 header\n" * 10)
    tailer = make_tailer(log_dir)
    assert drain(tailer) == []

    append(blob, b"\x00\x07 record\n")

    assert drain(tailer) == []
    assert tailer.sources() == []
    assert [r.getMessage() for r in caplog.records] == [f"skipping {blob}: binary file"]


_UNREADABLE_CHILD = r"""
import json, logging, os, sys

sys.path.insert(0, sys.argv[1])
from logmonitor.clock import FakeClock
from logmonitor.sources.tail import TailSettings, Tailer

if os.geteuid() == 0:
    # Root ignores file modes. The interpreter lives under /root (mode 0700), so it
    # cannot be started as nobody: drop to nobody after the imports instead.
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)

warnings = []

class Keep(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            warnings.append(record.getMessage())

logging.getLogger("logmonitor").addHandler(Keep())
directory = sys.argv[2]
path = os.path.join(directory, "secret.log")
clock = FakeClock(1000.0)
tailer = Tailer(TailSettings(paths=(directory,), retry_interval=10.0), clock)

def drain():
    out = []
    for source in sorted(tailer.scan() | tailer.due(clock.now())):
        while (chunk := tailer.read(source)) is not None:
            out += [line.text for line in chunk.lines]
    return out

result = {"euid": os.geteuid(), "empty": drain()}
with open(path, "w") as fh:
    fh.write("one\ntwo\n")
os.chmod(path, 0)
result["denied"] = drain()
clock.advance(10.0)
result["denied_retry"] = drain()
os.chmod(path, 0o644)
result["before_retry_interval"] = drain()
clock.advance(10.0)
result["readable"] = drain()
result["errors"] = [s.errors for s in tailer.stats() if s.source == path]
result["warnings"] = warnings
tailer.close()
print(json.dumps(result))
"""


@pytest.fixture
def nobody_dir() -> Iterator[str]:
    """A directory the unprivileged child can enter and write (tmp_path is under 0700)."""
    directory = tempfile.mkdtemp(dir="/tmp", prefix="logmonitor-test-")
    try:
        os.chmod(directory, 0o755)
        if os.geteuid() == 0:
            os.chown(directory, NOBODY, NOBODY)
        yield directory
    finally:
        shutil.rmtree(directory)


def test_unreadable_file_is_reported_once_and_read_once_readable(nobody_dir: str) -> None:
    """Permission denied is logged once (not raised), retried every retry_interval,
    and the file is read from its start once chmod makes it readable."""
    child = subprocess.run(
        [sys.executable, "-c", _UNREADABLE_CHILD, str(SRC), nobody_dir],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)

    path = os.path.join(nobody_dir, "secret.log")
    assert result["euid"] != 0
    assert result["empty"] == result["denied"] == result["denied_retry"] == []
    assert result["before_retry_interval"] == []
    assert result["readable"] == ["one", "two"]
    assert result["errors"] == [2]
    assert result["warnings"] == [f"cannot open {path}: Permission denied; retrying every 10s"]


# -------------------------------------------------------------- checkpoints


def test_restart_resumes_after_the_last_checkpointed_line(
    log_dir: Path, make_tailer: MakeTailer
) -> None:
    """A tailer built with the chunks' checkpoints and the known roots, as after a
    restart, goes on exactly after the last line, with the line numbers going on."""
    app = log_dir / "app.log"
    app.touch()
    before = make_tailer(log_dir)
    drain(before)
    append(app, "one\ntwo\nthr")
    chunks = drain(before)
    assert texts(chunks) == ["one", "two"]
    before.close()

    append(app, "ee\nfour\n")
    after = make_tailer(log_dir, checkpoints=last_checkpoints(chunks), known_roots=before.roots)
    lines = lines_of(drain(after))

    assert [(ln.text, ln.line_number, ln.offset) for ln in lines] == [
        ("three", 3, 8),
        ("four", 4, 14),
    ]


def test_restart_follows_a_file_rotated_while_down(log_dir: Path, make_tailer: MakeTailer) -> None:
    """Checkpoints are by identity: the old file, renamed while the monitor was down,
    is finished in its stream before the new file is read from its start."""
    app = log_dir / "app.log"
    app.touch()
    before = make_tailer(log_dir)
    drain(before)
    append(app, "old 1\n")
    chunks = drain(before)
    before.close()

    append(app, "old 2\n")
    app.rename(log_dir / "app.log.1")
    append(app, "new 1\n")
    after = make_tailer(log_dir, checkpoints=last_checkpoints(chunks), known_roots=before.roots)
    lines = lines_of(drain(after))

    assert [(ln.text, ln.source, ln.line_number) for ln in lines] == [
        ("old 2", str(app), 2),
        ("new 1", str(app), 1),
    ]


def test_checkpoint_of_a_replaced_file_is_ignored(log_dir: Path, make_tailer: MakeTailer) -> None:
    """A checkpoint whose fingerprint does not match the file (same inode, other
    content) is ignored: the file is read from 0."""
    app = log_dir / "app.log"
    append(app, "original line\n")
    st = app.stat()
    stale = Checkpoint(
        dev=st.st_dev,
        ino=st.st_ino,
        fingerprint="0" * 32,
        fp_len=len("original line\n"),
        source=str(app),
        path=str(app),
        offset=len("original line\n"),
        line_number=1,
    )
    tailer = make_tailer(log_dir, checkpoints={stale.key: stale}, known_roots=(str(log_dir),))

    lines = lines_of(drain(tailer))

    assert [(ln.text, ln.line_number, ln.offset) for ln in lines] == [("original line", 1, 0)]


def test_checkpoint_beyond_the_size_restarts_at_zero(
    log_dir: Path, make_tailer: MakeTailer
) -> None:
    """A file truncated while the monitor was down (same first bytes, smaller than the
    saved offset) is read again from 0, and the truncation is counted."""
    app = log_dir / "app.log"
    app.touch()
    before = make_tailer(log_dir)
    drain(before)
    head = "".join(f"line {i:04d} of a file longer than the fingerprint\n" for i in range(60))
    append(app, head)
    chunks = drain(before)
    before.close()
    assert chunks[-1].checkpoint.offset == len(head)
    assert chunks[-1].checkpoint.fp_len == 1024

    keep = 30 * len(head.splitlines(keepends=True)[0])  # the first 30 lines
    os.truncate(app, keep)
    after = make_tailer(log_dir, checkpoints=last_checkpoints(chunks), known_roots=before.roots)
    lines = lines_of(drain(after))

    assert [ln.text for ln in lines] == head[:keep].splitlines()
    assert (lines[0].offset, lines[0].line_number) == (0, 1)
    assert stats_of(after, app).truncations == 1


# ------------------------------------------------------------------- bounds


def test_max_files_bounds_the_followed_files(
    log_dir: Path, make_tailer: MakeTailer, caplog: pytest.LogCaptureFixture
) -> None:
    """Files beyond max_files are not opened; they are counted and reported once."""
    for name in ("a.log", "b.log", "c.log", "d.log"):
        append(log_dir / name, f"{name}\n")
    tailer = make_tailer(log_dir, from_beginning=True, max_files=2)

    assert len(texts(drain(tailer))) == 2
    assert len(tailer.sources()) == 2
    assert tailer.skipped_files == 2
    drain(tailer)
    assert tailer.skipped_files == 2, "the same files are not counted again"
    assert len([r for r in caplog.records if "max_files=2" in r.getMessage()]) == 1


# ------------------------------------------------------------------ watcher


@pytest.fixture
def watcher() -> Iterator[Watcher]:
    watcher = Watcher()
    if watcher.polling:
        pytest.skip("inotify is not available here")
    yield watcher
    watcher.close()


def test_watcher_reports_appends_and_creations(log_dir: Path, watcher: Watcher) -> None:
    """inotify reports a write to a watched file, and a new or renamed file (which
    asks for a rescan); the events are queued already, so ``wait`` returns at once."""
    app = log_dir / "app.log"
    app.touch()
    watcher.watch([str(log_dir)])

    append(app, "grown\n")
    grown = watcher.wait(30.0)
    assert grown.paths == {str(app)}
    assert grown.rescan is False

    append(log_dir / "new.log", "born\n")
    created = watcher.wait(30.0)
    assert str(log_dir / "new.log") in created.paths
    assert created.rescan is True

    app.rename(log_dir / "app.log.1")
    moved = watcher.wait(30.0)
    assert moved.paths == {str(app), str(log_dir / "app.log.1")}
    assert moved.rescan is True


def test_watcher_events_map_to_tailer_streams(
    log_dir: Path, make_tailer: MakeTailer, watcher: Watcher
) -> None:
    """The tailer's directories feed the watcher, whose paths name the streams to read."""
    (log_dir / "sub").mkdir()
    app = log_dir / "sub" / "app.log"
    app.touch()
    tailer = make_tailer(log_dir)
    drain(tailer)
    watcher.watch(tailer.directories())

    append(app, "line\n")
    events = watcher.wait(30.0)

    assert tailer.sources_for(events.paths) == {str(app)}
    assert texts(drain(tailer)) == ["line"]


def test_watcher_drops_directories_no_longer_wanted(log_dir: Path, watcher: Watcher) -> None:
    """``watch`` keeps exactly the given directories: an unwatched one reports nothing."""
    app = log_dir / "app.log"
    watcher.watch([str(log_dir)])
    watcher.watch([])

    append(app, "unwatched\n")

    assert watcher.wait(0).paths == set()


def test_disabled_watcher_polls() -> None:
    """``Watcher(enabled=False)`` is in polling mode: ``wait`` returns no events."""
    watcher = Watcher(enabled=False)
    watcher.watch(["/nonexistent"])

    events = watcher.wait(0.0)

    assert watcher.polling is True
    assert events.paths == set()
    assert events.rescan is False

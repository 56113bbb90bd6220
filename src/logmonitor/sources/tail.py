"""Follow every log file under a set of directories, through rotation, losing nothing.

Files are tracked by identity (device + inode), not by name, with an open file
descriptor each, so:

* **rename rotation** (``app.log`` -> ``app.log.1``, new ``app.log``): the old file
  is read to its end through its descriptor, then the new one from its start;
  both belong to the stream ``app.log``;
* **copytruncate**: a size below the read position restarts at 0 (counted);
* **deletion / re-creation**: a file that vanished is drained, then closed after
  ``rotate_wait`` seconds without growth; a new file under the same name is a new
  file of the same stream, read from its start;
* a **partial last line** is held until its newline arrives, or emitted after
  ``partial_line_timeout`` seconds;
* **invalid UTF-8** is replaced, lines over ``max_line_bytes`` are cut (counted),
  binary files (a NUL byte in the first 8 KiB) and compressed ones are skipped,
  unreadable files are reported once and retried.

The tailer is synchronous: :meth:`Tailer.scan` looks at the directories,
:meth:`Tailer.read` returns the next :class:`~logmonitor.sources.base.Chunk` of a
stream. Which thread calls them, and when, is the pipeline's business.
"""

from __future__ import annotations

import errno
import fnmatch
import logging
import os
import stat
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from ..clock import Clock
from ..records import LogLine
from .base import Chunk, SourceStats
from .checkpoint import Checkpoint, FileKey, fingerprint, same_file

__all__ = ["DEFAULT_EXCLUDE", "DEFAULT_INCLUDE", "TailSettings", "Tailer"]

logger = logging.getLogger(__name__)

DEFAULT_INCLUDE: tuple[str, ...] = (
    "*.log", "*.log.[0-9]", "*.err", "*.out", "*_log",
    "syslog", "syslog.[0-9]", "messages", "messages.[0-9]", "secure", "secure.[0-9]",
    "maillog", "cron", "debug", "dmesg", "kern", "daemon", "auth", "user",
)  # fmt: skip
DEFAULT_EXCLUDE: tuple[str, ...] = (
    "*.gz", "*.bz2", "*.xz", "*.zst", "*.zip", "*.lz4", "*.lzma", "*.Z", "*.tar", "*.tgz",
    "*.7z", "*.journal", "*.journal~", "*.db", "*.sqlite", "*.sqlite3", "*-wal", "*-shm",
    "lastlog", "wtmp*", "btmp*", "faillog", "*.swp",
)  # fmt: skip
_SNIFF_BYTES = 8192
_COUNT_LINES_LIMIT = 1 << 30  # count the lines before a start offset up to 1 GiB


@dataclass(frozen=True, slots=True)
class TailSettings:
    """How to find and read files. ``paths`` are directories (or single files)."""

    paths: tuple[str, ...]
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    recursive: bool = True
    from_beginning: bool = False
    max_line_bytes: int = 1 << 20
    read_chunk_bytes: int = 1 << 20
    partial_line_timeout: float = 5.0
    rotate_wait: float = 5.0
    retry_interval: float = 10.0
    max_files: int = 1000


class _File:
    """The mutable reading state of one open file."""

    __slots__ = (
        "buf", "discarding", "emitted", "fd", "fp", "fp_len", "gone_since", "head", "key",
        "line_number", "mtime_ns", "partial_since", "path", "read_pos", "sniffed", "source",
    )  # fmt: skip

    def __init__(self, key: FileKey, fd: int, source: str, path: str) -> None:
        self.key = key
        self.fd = fd
        self.source = source
        self.path = path
        self.fp = ""
        self.fp_len = 0
        self.read_pos = 0  # bytes of the file consumed into buf
        self.emitted = 0  # file offset of buf[0]: the end of the last line handed out
        self.line_number = 0
        self.buf = b""
        self.head = b""  # the kept start of an over-long line being discarded
        self.discarding = False
        self.partial_since: float | None = None
        self.gone_since: float | None = None
        self.mtime_ns = 0
        self.sniffed = False

    def reset(self) -> None:
        self.read_pos = self.emitted = self.line_number = 0
        self.buf = self.head = b""
        self.discarding = False
        self.partial_since = None


def _matches(path: str, name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path if "/" in p else name, p) for p in patterns)


class Tailer:
    """Discover and read the files under ``settings.paths``.

    ``checkpoints`` are the saved read positions; ``known_roots`` the directories
    watched by an earlier run. Files under a root no earlier run watched start at
    their end on the first scan (unless ``from_beginning``); every other file
    without a checkpoint (created later, or while the monitor was down) starts at 0.
    """

    def __init__(
        self,
        settings: TailSettings,
        clock: Clock,
        checkpoints: Mapping[FileKey, Checkpoint] | None = None,
        known_roots: Collection[str] = (),
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._checkpoints = dict(checkpoints or {})
        self._known_roots = frozenset(os.path.abspath(r) for r in known_roots)
        self._files: dict[FileKey, _File] = {}
        self._by_source: dict[str, list[_File]] = {}
        self._stats: dict[str, SourceStats] = {}
        self._ignored: dict[FileKey, str] = {}
        self._retry_at: dict[str, float] = {}
        self._reported: set[str] = set()
        self._dirs: set[str] = set()
        self._scanned = False
        self._extra: list[str] = []  # single files asked for by track()
        self._unsaved: list[_File] = []  # adopted, start position not yet saved
        self.skipped_files = 0  # files the last scan left out because of max_files

    # ----------------------------------------------------------------- discovery

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(os.path.abspath(p) for p in self.settings.paths) + tuple(self._extra)

    def directories(self) -> set[str]:
        """Every directory seen by the last scan (for the inotify watcher)."""
        return set(self._dirs)

    def scan(self) -> set[str]:
        """Look at the directories; return the streams that may have lines to read."""
        now = self.clock.now()
        initial = not self._scanned
        self._scanned = True
        self.skipped_files = 0  # counted again below, so the same file counts once
        found: dict[FileKey, tuple[str, os.stat_result, str]] = {}
        dirs: set[str] = set()
        for root in self.roots:
            for path, st in self._walk(root, dirs):
                found.setdefault((st.st_dev, st.st_ino), (path, st, root))
        self._dirs = dirs
        pending: set[str] = set()
        for key, (path, st, root) in found.items():
            tracked = self._files.get(key)
            if tracked is None:
                if key not in self._ignored:
                    opened = self._open(path, root, initial, key)
                    if opened is not None:
                        pending.add(opened.source)
                continue
            self._refresh(tracked, path, st, pending)
        for key, tracked in self._files.items():
            if key not in found and tracked.gone_since is None:
                tracked.gone_since = now  # renamed out of sight or deleted: drain it
                pending.add(tracked.source)
        for key in [k for k in self._ignored if k not in found]:
            del self._ignored[key]
        return pending

    def _walk(self, root: str, dirs: set[str]) -> Iterable[tuple[str, os.stat_result]]:
        try:
            root_stat = os.stat(root)
        except OSError as exc:
            self._report(root, f"cannot read {root}: {exc.strerror}")
            return
        if stat.S_ISREG(root_stat.st_mode):
            yield root, root_stat
            return
        stack = [root]
        while stack:
            directory = stack.pop()
            dirs.add(directory)
            try:
                entries = list(os.scandir(directory))
            except OSError as exc:
                self._report(directory, f"cannot list {directory}: {exc.strerror}")
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if self.settings.recursive:
                            stack.append(entry.path)
                        continue
                    if not _matches(entry.path, entry.name, self.settings.include) or _matches(
                        entry.path, entry.name, self.settings.exclude
                    ):
                        continue
                    st = entry.stat()
                except OSError:
                    continue  # vanished between listing and stat; the next scan decides
                if stat.S_ISREG(st.st_mode):
                    yield entry.path, st

    def track(self, path: str) -> str:
        """Follow one file from its start (or its checkpoint); return its stream name.

        Raises ``FileNotFoundError`` / ``PermissionError`` / ``IsADirectoryError``.
        """
        path = os.path.abspath(path)
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", path)
        if path not in self.roots:
            self._extra.append(path)  # keep finding it on later scans
        tracked = self._files.get((st.st_dev, st.st_ino))
        if tracked is not None:
            return tracked.source
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        return self._adopt(fd, path, start_at_end=False).source

    def _open(self, path: str, root: str, initial: bool, key: FileKey) -> _File | None:
        now = self.clock.now()
        if self._retry_at.get(path, 0.0) > now:
            return None
        if len(self._files) >= self.settings.max_files:
            self.skipped_files += 1  # reset by each scan: the files left out now
            self._report(
                "max_files",
                f"more than max_files={self.settings.max_files} files; "
                f"{path} and later ones are not followed (raise max_files)",
            )
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._retry_at[path] = now + self.settings.retry_interval
            self._report(
                path,
                f"cannot open {path}: {exc.strerror}; retrying every "
                f"{self.settings.retry_interval:g}s",
            )
            self._count_error(path, exc.strerror or str(exc))
            return None
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != key:
            # Rotated between the listing and the open: the name is another file's
            # now, maybe one already followed, which a second descriptor would read
            # twice. The next scan sees both files under their current names.
            os.close(fd)
            return None
        if path in self._retry_at:
            del self._retry_at[path]
            self._reported.discard(path)
            logger.info("%s is readable now", path)
        start_at_end = (
            initial and not self.settings.from_beginning and root not in self._known_roots
        )
        return self._adopt(fd, path, start_at_end)

    def _adopt(self, fd: int, path: str, start_at_end: bool) -> _File:
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        saved = self._checkpoints.pop(key, None)
        if saved is not None and same_file(fd, saved.fingerprint, saved.fp_len):
            tracked = _File(key, fd, saved.source, path)
            if saved.offset <= st.st_size:
                tracked.read_pos = tracked.emitted = saved.offset
                tracked.line_number = saved.line_number
            else:
                self._stat(saved.source, path).truncations += 1
        else:
            tracked = _File(key, fd, path, path)
            if start_at_end and st.st_size > 0:
                start = self._last_line_end(fd, st.st_size)
                tracked.read_pos = tracked.emitted = start
                tracked.line_number = self._count_lines(fd, start)
        tracked.fp, tracked.fp_len = fingerprint(fd)
        tracked.mtime_ns = st.st_mtime_ns
        siblings = self._by_source.setdefault(tracked.source, [])
        if siblings and saved is None:
            # A new file under a stream's name while its older file is still open:
            # the stream was rotated (renamed away, or deleted and re-created).
            self._stat(tracked.source, path).rotations += 1
        siblings.append(tracked)
        self._files[key] = tracked
        if saved is None:
            self._unsaved.append(tracked)
        stats = self._stat(tracked.source, path)
        stats.path = path
        logger.debug("following %s from offset %d", path, tracked.read_pos)
        return tracked

    def _refresh(self, tracked: _File, path: str, st: os.stat_result, pending: set[str]) -> None:
        tracked.path = path
        tracked.gone_since = None
        changed = st.st_mtime_ns != tracked.mtime_ns
        tracked.mtime_ns = st.st_mtime_ns
        if st.st_size < tracked.read_pos or (
            changed and not same_file(tracked.fd, tracked.fp, tracked.fp_len)
        ):
            self._truncated(tracked)
            pending.add(tracked.source)
        elif st.st_size > tracked.read_pos or tracked.buf or tracked.discarding:
            pending.add(tracked.source)
        if changed and tracked.fp_len < 1024 and st.st_size > tracked.fp_len:
            tracked.fp, tracked.fp_len = fingerprint(tracked.fd)

    def _truncated(self, tracked: _File) -> None:
        logger.info("%s was truncated; reading it again from the start", tracked.path)
        tracked.reset()
        tracked.fp, tracked.fp_len = fingerprint(tracked.fd)
        self._stat(tracked.source, tracked.path).truncations += 1

    @staticmethod
    def _last_line_end(fd: int, size: int) -> int:
        """The offset just after the last newline, so a partial last line is kept."""
        pos = size
        while pos > 0:
            step = min(65536, pos)
            block = os.pread(fd, step, pos - step)
            nl = block.rfind(b"\n")
            if nl >= 0:
                return pos - step + nl + 1
            pos -= step
        return 0

    @staticmethod
    def _count_lines(fd: int, upto: int) -> int:
        if upto > _COUNT_LINES_LIMIT:
            return 0  # too big to count at start-up: line numbers count from here
        count, pos = 0, 0
        while pos < upto:
            block = os.pread(fd, min(1 << 22, upto - pos), pos)
            if not block:
                break
            count += block.count(b"\n")
            pos += len(block)
        return count

    # -------------------------------------------------------------------- reading

    def tracks(self, key: FileKey) -> bool:
        """Whether the file with this identity is still followed."""
        return key in self._files

    def sources(self) -> list[str]:
        return sorted(self._by_source)

    def sources_for(self, paths: Iterable[str]) -> set[str]:
        """The streams of the tracked files at ``paths`` (for inotify events)."""
        wanted = set(paths)
        return {f.source for f in self._files.values() if f.path in wanted}

    def due(self, now: float) -> set[str]:
        """Streams with a partial line past its timeout or a vanished file to close."""
        due = set()
        for f in self._files.values():
            if (
                f.partial_since is not None
                and now - f.partial_since >= self.settings.partial_line_timeout
            ) or (f.gone_since is not None and now - f.gone_since >= self.settings.rotate_wait):
                due.add(f.source)
        return due

    def read(self, source: str) -> Chunk | None:
        """The next chunk of lines of ``source``; ``None`` when it has nothing more now.

        Files that were rotated away are read before the current one, so lines
        come in the order they were written.
        """
        files = sorted(
            self._by_source.get(source, ()),
            key=lambda f: (f.gone_since is None, f.path == f.source),
        )
        for tracked in files:
            chunk = self._read_file(tracked)
            if chunk is not None:
                return chunk
        return None

    def _read_file(self, f: _File) -> Chunk | None:
        now = self.clock.now()
        settings = self.settings
        lines: list[LogLine] = []
        bytes_read = 0
        while not lines:
            try:
                data = os.pread(f.fd, settings.read_chunk_bytes, f.read_pos)
            except OSError as exc:
                self._report(f.path, f"cannot read {f.path}: {exc.strerror}")
                self._count_error(f.source, exc.strerror or str(exc))
                return None
            if not data:
                if f.buf or f.discarding:
                    timed_out = f.partial_since is not None and (
                        now - f.partial_since >= settings.partial_line_timeout
                    )
                    if timed_out or f.gone_since is not None:
                        self._flush_partial(f, lines, now)
                break
            if not f.sniffed:
                f.sniffed = True
                # Look at the file's first bytes even when reading starts later (at
                # the end on the first scan, or at a checkpoint), so a binary file
                # that was already there is skipped too.
                head = data if f.read_pos == 0 else os.pread(f.fd, _SNIFF_BYTES, 0)
                if b"\x00" in head[:_SNIFF_BYTES]:
                    self._ignore(f, "binary")
                    return None
            bytes_read += len(data)
            self._split(f, data, lines, now)
        if not lines:
            return None
        stats = self._stat(f.source, f.path)
        stats.lines += len(lines)
        stats.offset = f.emitted
        return Chunk(
            source=f.source,
            lines=tuple(lines),
            checkpoint=self._checkpoint(f),
            bytes_read=bytes_read,
        )

    @staticmethod
    def _checkpoint(f: _File) -> Checkpoint:
        return Checkpoint(
            f.key[0], f.key[1], f.fp, f.fp_len, f.source, f.path, f.emitted, f.line_number
        )

    def new_checkpoints(self) -> list[Checkpoint]:
        """Start positions of the files adopted since the last call, to save at once.

        A file first followed from its end has nothing to read yet, so no chunk
        would record where it starts; without this, the next run (which knows the
        directory) would take the file as new and read its history.
        """
        unsaved, self._unsaved = self._unsaved, []
        return [self._checkpoint(f) for f in unsaved if self.tracks(f.key)]

    def _split(self, f: _File, data: bytes, out: list[LogLine], now: float) -> None:
        limit = self.settings.max_line_bytes
        f.read_pos += len(data)
        ended = False  # whether a line ended here, so held bytes start a new line
        if f.discarding:
            nl = data.find(b"\n")
            if nl < 0:
                return  # still inside the over-long line: drop these bytes
            end = f.read_pos - len(data) + nl + 1
            self._emit(f, f.head, end, True, out, now)
            f.head, f.discarding = b"", False
            data = data[nl + 1 :]
            ended = True
        if f.buf and len(f.buf) + len(data) > limit and b"\n" not in data:
            # The held line outgrows the limit: keep its first bytes without joining
            # the whole read to it, so an over-long line costs about one read of memory.
            # (A held line already set partial_since, and no line ended here.)
            f.head, f.buf, f.discarding = f.buf + data[: limit - len(f.buf)], b"", True
            return
        buf = f.buf + data if f.buf else data
        parts = buf.split(b"\n")
        rest = parts.pop()
        pos = f.emitted
        source, path = f.source, f.path
        number = f.line_number
        cuts = 0
        for part in parts:
            end = pos + len(part) + 1
            cut = len(part) > limit
            if cut:
                part = part[:limit]
                cuts += 1
            if part.endswith(b"\r"):
                part = part[:-1]
            number += 1
            out.append(
                LogLine(source, path, part.decode("utf-8", "replace"), pos, end, number, now, cut)
            )
            pos = end
        if cuts:
            self._stat(source, path).truncated_lines += cuts
        f.line_number = number
        f.emitted = pos
        if len(rest) > limit:
            f.head, f.buf, f.discarding = rest[:limit], b"", True
        else:
            f.buf = rest
        if f.buf or f.discarding:
            if f.partial_since is None or ended or parts:
                # The timeout of a partial line counts from when that line began,
                # not from an earlier partial line that has been completed since.
                f.partial_since = now
        else:
            f.partial_since = None

    def _emit(
        self, f: _File, raw: bytes, end: int, cut: bool, out: list[LogLine], now: float
    ) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        f.line_number += 1
        out.append(
            LogLine(
                f.source,
                f.path,
                raw.decode("utf-8", "replace"),
                f.emitted,
                end,
                f.line_number,
                now,
                cut,
            )
        )
        if cut:
            self._stat(f.source, f.path).truncated_lines += 1
        f.emitted = end

    def _flush_partial(self, f: _File, out: list[LogLine], now: float) -> None:
        if f.discarding:
            self._emit(f, f.head, f.read_pos, True, out, now)
        else:
            self._emit(f, f.buf, f.read_pos, False, out, now)
        f.buf = f.head = b""
        f.discarding = False
        f.partial_since = None

    # ------------------------------------------------------------------ closing

    def close_gone(self) -> list[FileKey]:
        """Close vanished files that were drained and idle for ``rotate_wait``.

        Returns their keys, so the caller can drop their checkpoints.
        """
        now = self.clock.now()
        closed = []
        for key, f in list(self._files.items()):
            if f.gone_since is None or now - f.gone_since < self.settings.rotate_wait:
                continue
            try:
                size = os.fstat(f.fd).st_size
            except OSError:
                size = f.read_pos
            if size > f.read_pos or f.buf or f.discarding:
                f.gone_since = now  # still growing (a writer kept it open): wait again
                continue
            self._forget(f)
            closed.append(key)
        return closed

    def _ignore(self, f: _File, reason: str) -> None:
        self._ignored[f.key] = reason
        self._report(f.path, f"skipping {f.path}: {reason} file")
        self._forget(f)

    def _forget(self, f: _File) -> None:
        self._files.pop(f.key, None)
        siblings = self._by_source.get(f.source, [])
        if f in siblings:
            siblings.remove(f)
        if not siblings:
            self._by_source.pop(f.source, None)
        try:
            os.close(f.fd)
        except OSError as exc:
            logger.warning("closing %s failed: %s", f.path, exc)

    def close(self) -> None:
        for f in list(self._files.values()):
            self._forget(f)

    # -------------------------------------------------------------------- status

    def stats(self) -> list[SourceStats]:
        for f in self._files.values():
            try:
                size = os.fstat(f.fd).st_size
            except OSError:
                continue
            stats = self._stat(f.source, f.path)
            if f.path == f.source or f.gone_since is None:
                stats.size = size
                stats.offset = f.emitted
        return [self._stats[s] for s in sorted(self._stats)]

    def _stat(self, source: str, path: str) -> SourceStats:
        stats = self._stats.get(source)
        if stats is None:
            stats = self._stats[source] = SourceStats(source=source, path=path)
        return stats

    def _count_error(self, source: str, message: str) -> None:
        stats = self._stat(source, source)
        stats.errors += 1
        stats.last_error = message

    def _report(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            logger.warning("%s", message)

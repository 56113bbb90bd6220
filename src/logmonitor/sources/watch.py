"""Wake the pipeline when watched directories change (inotify), or fall back to polling.

inotify tells within milliseconds that a file grew, appeared or moved. When it is
unavailable (not Linux, no watches left) or its queue overflowed, ``wait`` asks
for a full rescan instead, and the pipeline's periodic scan (every
``poll_interval``) finds the changes by ``stat``: slower, never blind.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["WatchEvents", "Watcher"]

logger = logging.getLogger(__name__)

try:  # inotify_simple is Linux-only; elsewhere the watcher polls
    from inotify_simple import INotify, flags
except (ImportError, OSError):  # pragma: no cover - depends on the platform
    INotify = None
    flags = None


@dataclass(slots=True)
class WatchEvents:
    """What changed: paths written to, and whether a full rescan is needed."""

    paths: set[str] = field(default_factory=set)
    rescan: bool = False


class Watcher:
    """inotify watches on a set of directories, with a polling fallback.

    >>> watcher = Watcher(enabled=False)
    >>> watcher.polling
    True
    """

    def __init__(self, enabled: bool = True) -> None:
        self._inotify = None
        self._dirs: dict[int, str] = {}
        self._wds: dict[str, int] = {}
        self.overflows = 0
        if enabled and INotify is not None:
            try:
                self._inotify = INotify()
            except OSError as exc:
                logger.warning("inotify unavailable (%s); polling for changes instead", exc)

    @property
    def polling(self) -> bool:
        return self._inotify is None

    def watch(self, directories: Iterable[str]) -> None:
        """Watch exactly these directories (adds new ones, drops vanished ones)."""
        if self._inotify is None:
            return
        wanted = set(directories)
        mask = (
            flags.MODIFY | flags.CREATE | flags.MOVED_TO | flags.MOVED_FROM | flags.DELETE
            | flags.CLOSE_WRITE | flags.ATTRIB | flags.DELETE_SELF | flags.MOVE_SELF
        )  # fmt: skip
        for directory in sorted(wanted - set(self._wds)):
            try:
                wd = self._inotify.add_watch(directory, mask)
            except OSError as exc:
                if exc.errno == 28:  # ENOSPC: out of inotify watches
                    logger.warning(
                        "out of inotify watches (raise fs.inotify.max_user_watches); "
                        "polling for changes instead"
                    )
                    self.close()
                    return
                continue  # vanished or unreadable: the scan reports it
            self._wds[directory] = wd
            self._dirs[wd] = directory
        for directory in set(self._wds) - wanted:
            wd = self._wds.pop(directory)
            self._dirs.pop(wd, None)
            # The kernel drops the watch itself when the directory is deleted.
            with contextlib.suppress(OSError):
                self._inotify.rm_watch(wd)

    def wait(self, timeout: float) -> WatchEvents:
        """Block up to ``timeout`` seconds for changes."""
        events = WatchEvents()
        if self._inotify is None:
            return events
        try:
            raw = self._inotify.read(timeout=int(timeout * 1000))
        except OSError as exc:
            logger.warning("reading inotify events failed (%s); polling instead", exc)
            self.close()
            events.rescan = True
            return events
        for event in raw:
            if event.mask & flags.Q_OVERFLOW:
                self.overflows += 1
                events.rescan = True
                continue
            directory = self._dirs.get(event.wd)
            if directory is None:
                continue
            if event.mask & (
                flags.CREATE
                | flags.MOVED_TO
                | flags.MOVED_FROM
                | flags.DELETE
                | flags.DELETE_SELF
                | flags.MOVE_SELF
                | flags.ATTRIB
            ):
                events.rescan = True
            if event.name:
                events.paths.add(os.path.join(directory, event.name))
        return events

    def close(self) -> None:
        if self._inotify is not None:
            try:
                self._inotify.close()
            finally:
                self._inotify = None
                self._dirs.clear()
                self._wds.clear()

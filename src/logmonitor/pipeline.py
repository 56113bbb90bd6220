"""The stages wired together, and the only module that knows about threads.

:class:`Pipeline` is synchronous: ``process_source(name)`` reads every line a
stream has now, parses, mines, counts and scores them, and commits the results
together with the read position in one SQLite transaction. It holds a lock, so
the runner thread and a user calling ``LogMonitor.process_log_file`` never
interleave.

:class:`Runner` is the background thread: it waits for inotify events (or polls),
rescans the directories every ``poll_interval`` seconds, and calls the per-file
hook for every stream that has work: new lines, a window to close, a partial
line to flush.

What the miner learned is saved in the same transactions: its snapshot whenever it
changed and ``SNAPSHOT_SECONDS`` have passed (and at :meth:`Pipeline.close`), and,
more often and cheaply, a floor for template ids. After a ``kill -9`` the templates
learned since the last snapshot are learned again when their lines recur, under new
ids above the floor: an id that reached the state file (in an alert) never comes
back meaning another template.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sklearn.ensemble import IsolationForest

from .alerts.policy import AlertPolicy, Feedback, Outcome
from .alerts.summary import ErrorStat, ErrorSummary, ErrorTypeSummary
from .clock import Clock
from .collector import pausing
from .config import Settings
from .detect.rate import RateDetector
from .errors import SourceError, StateError
from .features.sessions import SessionWindows
from .features.windows import WindowCounter, resolve_ids
from .learned import load_ensemble, load_miner, load_windows, window_kind
from .parse.custom import parser_for
from .parse.multiline import MultilineJoiner
from .patterns.stats import TemplateStat, TemplateStats
from .records import Alert, Record, Score, Window
from .sinks.notification import Notification
from .sources.base import SourceStats
from .sources.checkpoint import Checkpoint, FileKey
from .sources.tail import Tailer
from .sources.watch import Watcher
from .store import Store

__all__ = ["SNAPSHOT_SECONDS", "Pipeline", "Processed", "Runner", "Status"]

# How often, at most, the miner's snapshot is rewritten while it keeps learning: the
# snapshot of 10,000 templates is a few MB of JSON, too much for every commit.
SNAPSHOT_SECONDS = 30.0
# Template ids are reserved in blocks of this many (a cheap row, rewritten only when
# the miner comes within a quarter block of the floor).
_ID_BLOCK = 1024

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Processed:
    """What one call of :meth:`Pipeline.process_source` did."""

    source: str
    lines: int = 0
    alerts: list[Alert] = field(default_factory=list)  # new alerts, as stored
    errors: list[ErrorStat] = field(default_factory=list)
    windows: int = 0
    notifications: list[Notification] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Status:
    """A snapshot for status screens and the API."""

    sources: tuple[SourceStats, ...]
    lines: int
    templates: int
    windows_scored: int
    windows_learned: int
    model_ready: bool
    alerts: int
    open_windows: int
    polling: bool
    last_score: float | None
    # What was dropped: files left out by max_files at the last scan, and undelivered
    # notifications pushed out of a full outbox (the monitor's deliverer).
    skipped_files: int = 0
    notifications_dropped: int = 0


class Pipeline:
    """read -> parse -> mine -> count -> score -> alert -> commit, for one stream at a time."""

    def __init__(
        self, settings: Settings, clock: Clock, model: IsolationForest, store: Store
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store
        self._saved_roots = store.roots()
        self.tailer = Tailer(
            settings.tail_settings(), clock, store.checkpoints(), known_roots=self._saved_roots
        )
        self.parser = parser_for(settings.formats, clock)
        # One pending record per file at most, so it never evicts (max_files bounds it).
        self.joiner = MultilineJoiner(max_sources=settings.max_files + 1)
        self._released = 0  # joiner.released_lines already committed
        # Per file: the full checkpoint of its last chunk while a record of it is
        # pending; per source: the file its pending record belongs to.
        self._held: dict[FileKey, Checkpoint] = {}
        self._pending_file: dict[str, FileKey] = {}
        self.miner = load_miner(store, settings.max_templates)
        self._saved_revision = self.miner.revision
        self._saved_at = clock.now()
        self._id_floor = self.miner.next_id
        self.kind = window_kind(settings)
        self.windows: WindowCounter | SessionWindows = load_windows(store, settings)
        self.ensemble = load_ensemble(store, settings, model, self.miner.template)
        self.template_stats = TemplateStats(settings.max_templates)
        self.template_stats.restore(store.state("template_stats"))
        # The newest window scores, for charts: (source, start, end, lines, score).
        self.recent_scores: deque[tuple[str, float, float, int, float]] = deque(maxlen=3600)
        self.policy = AlertPolicy(
            settings.alert_threshold, self.miner.template, settings.lifecycle_settings(),
            sessions=self.kind == "session",
        )  # fmt: skip
        firing, notified = store.firing()
        self.policy.load(firing, notified, store.untold_ends())
        # Where notifications are queued (the monitor's Deliverer), under this lock,
        # before they are recorded as told: queued first, so a crash between the two
        # sends one twice (same key) rather than never.
        self.submit: Callable[[Notification], None] | None = None
        self._feedback_version = -1
        # False-positive alerts already taught to the detectors.
        self._fp_learned: set[int] = set(store.state("fp_taught") or ())
        self.summary = ErrorSummary(bucket_seconds=settings.window_seconds)
        self.summary.load(store.error_stats())
        self.lines = sum(store.line_counts().values())
        self.windows_scored = 0
        self.windows_learned = 0
        self._saved_learning = 0  # windows_learned when the detectors were last saved
        self._last_status: Status | None = None
        self.alerts_raised = 0
        self.last_score: float | None = None
        # The write error that stopped processing; see process_source.
        self.failure: StateError | None = None
        self._lock = threading.RLock()

    def _rate(self) -> RateDetector | None:
        if self.kind != "time":
            return None
        found = self.ensemble.detector(RateDetector.name)
        return found if isinstance(found, RateDetector) else None

    def _learned(
        self, now: float, force: bool = False, source: str | None = None
    ) -> dict[str, Any]:
        """What of the learned state to save with this commit (see the module doc)."""
        out: dict[str, Any] = {}
        if source is not None and isinstance(self.windows, WindowCounter):
            # The open window of the source whose lines this commit holds, exactly.
            out[f"window:{source}"] = self.windows.open_state(source)
        if isinstance(self.windows, SessionWindows):
            # The sessions these lines touched or closed, with the lines' commit.
            meta, changes = self.windows.take_changes()
            if changes:
                out["sessions.meta"] = meta
                out.update((f"session:{name}", state) for name, state in changes.items())
        due = force or now - self._saved_at >= SNAPSHOT_SECONDS
        if due and self.windows_learned != self._saved_learning:
            out["detectors"] = {"windows": self.kind, "ensemble": self.ensemble.to_state()}
            # Saved with the detectors that learned them: taught once, not per start.
            out["fp_taught"] = sorted(self._fp_learned)[-10_000:]
            out["template_stats"] = self.template_stats.to_state()
        miner = self.miner
        if miner.next_id + _ID_BLOCK // 4 > self._id_floor:
            out["miner.ids"] = {"floor": miner.next_id + _ID_BLOCK}
        if due and miner.revision != self._saved_revision:
            out["miner"] = miner.to_snapshot()
        return out

    def _saved(self, state: dict[str, Any], now: float) -> None:
        """Note what a successful commit saved."""
        if "miner.ids" in state:
            self._id_floor = state["miner.ids"]["floor"]
        if "miner" in state:
            self._saved_revision = self.miner.revision
        if "detectors" in state:
            self._saved_learning = self.windows_learned
        if "miner" in state or "detectors" in state:
            self._saved_at = now  # the interval runs from the last snapshot

    # ------------------------------------------------------------- per stream

    def scan(self) -> set[str]:
        """Look at the directories; return the streams with possible work."""
        with self._lock:
            pending = self.tailer.scan()
            # Only new roots and new files' start positions: a write transaction on
            # every scan would be wasted work, and would fail the scan while another
            # process holds the write lock.
            new_roots = set(self.tailer.roots) - self._saved_roots
            starts = self.tailer.new_checkpoints()
            if new_roots or starts:
                self.store.commit(checkpoints=starts, roots=sorted(new_roots))
                self._saved_roots |= new_roots
            return pending

    def process_source(self, source: str) -> Processed:
        """Process everything ``source`` has now; start following it if it is new.

        Raises :class:`SourceError` for a file that does not exist or cannot be read,
        and :class:`StateError` when the results cannot be committed; after that
        every call raises it, because the tailer has already moved past the lines
        of the failed commit and committing a later read position would lose them.
        A restart resumes from the last committed position.
        """
        with self._lock:
            if self.failure is not None:
                raise StateError(
                    f"an earlier write to the state file failed ({self.failure}); "
                    "restart LogMonitor to resume from the last saved position"
                )
            if source not in self.tailer.sources():
                source = self._follow(source)
            done = Processed(source)
            self._refresh_feedback()
            while self._next_chunk(source, done):
                pass
            # Nothing more to read now: a pending record that is not inside a stack
            # trace is complete (a logger writes a record and its trace at once); a
            # stack waits for its next lines up to the joiner's timeout.
            now = self.clock.now()
            due = source in self.joiner.due(now)
            self._release(source, self.joiner.flush_source(source, settled=not due), done)
            closed = self.windows.close_due(source, now)
            silent = self._silent(now, source)
            if closed or silent:
                outcome = self._score(closed, now)
                if silent:  # scored, never learned: silence must not become normal
                    heard = self._score(silent, now, learn=False)
                    outcome.new += heard.new
                    outcome.updated += heard.updated
                done.alerts.extend(self._commit_outcome(outcome, now, source=source))
                done.windows += len(closed) + len(silent)
            self._notify(now, done)
            self.alerts_raised += len(done.alerts)
            return done

    def _commit_outcome(self, outcome: Outcome, now: float, **batch: Any) -> list[Alert]:
        """Commit a batch with the alerts it raised or updated; new alerts join
        their notification group once they have ids."""
        saved = self._commit(alerts=outcome.new, updates=outcome.updated, now=now, **batch)
        self.policy.saved(saved)
        return saved

    def _silent(self, now: float, source: str) -> list[Window]:
        """An empty window for ``source`` if it went silent (once per silence period)."""
        rate = self._rate()
        return [] if rate is None else rate.silent(now, sources={source})

    def _notify(self, now: float, done: Processed) -> None:
        """Notifications due by now (grouped, rate limited): queued, then recorded
        as told. If queueing fails, they are not recorded, and the next run tells
        them (the alerts still look untold)."""
        notes, changed = self.policy.flush(now)
        if not notes and not changed:
            return
        queued = []
        for note in notes:
            if self.submit is not None:
                try:
                    self.submit(note)
                except Exception:
                    logger.exception("could not queue a %s notification; the next run retries",
                                     note.kind)  # fmt: skip
                    continue
            queued.append(note)
        told = {
            a.id: now for n in queued if n.kind == "firing" for a in n.alerts if a.id is not None
        }
        ended = [a.id for n in queued if n.kind == "resolved" for a in n.alerts if a.id]
        self._commit(updates=changed, notified=told, ends_told=ended, now=now)
        done.notifications.extend(queued)

    def _refresh_feedback(self) -> None:
        """Reread acks, mutes and false positives when any process changed them; a
        new false positive's window becomes part of what is normal."""
        version = self.store.feedback_version()
        if version == self._feedback_version:
            return
        self._feedback_version = version
        now = self.clock.now()
        mutes, false_positives, acked = self.store.feedback_state(now)
        self.policy.set_feedback(
            Feedback(tuple(mutes), frozenset(false_positives), frozenset(acked))
        )
        taught = []
        for alert in self.store.alerts(1000, feedback="false-positive"):
            if alert.id is not None and alert.id not in self._fp_learned and alert.counts:
                self._fp_learned.add(alert.id)
                taught.append(
                    Window(alert.filename, alert.window_start, alert.window_end, alert.counts,
                           alert.lines, alert.errors)
                )  # fmt: skip
        if taught:
            self.ensemble.learn(taught)
            self.windows_learned += len(taught)

    def _hold_back(self, source: str, checkpoint: Checkpoint) -> Checkpoint:
        """The checkpoint of a chunk, stopped at the start of a pending multi-line
        record: its lines are not processed yet, so a restart must read them again.
        The pending record's lines are all of this chunk's file (see process_source)."""
        start = self.joiner.pending_start(source)
        if start is None:
            self._held.pop(checkpoint.key, None)
            self._pending_file.pop(source, None)
            return checkpoint
        self._held[checkpoint.key] = checkpoint
        self._pending_file[source] = checkpoint.key
        return replace(checkpoint, offset=start.offset, line_number=start.line_number - 1)

    @pausing
    def _next_chunk(self, source: str, done: Processed) -> bool:
        """Read and process the next chunk of ``source``; False when there is none.
        The collector is paused for the chunk (:mod:`.collector`): its lines,
        records and matches are dropped before it runs again."""
        chunk = self.tailer.read(source)
        if chunk is None:
            return False
        key = chunk.checkpoint.key
        if self._pending_file.get(source, key) != key:
            # A record never spans two files (rotation): complete the older
            # file's pending record first, with that file's checkpoint.
            self._release(source, self.joiner.flush_source(source), done)
        records = self.joiner.feed(self.parser.parse_batch(chunk.lines), self.clock.now())
        self._process(source, records, self._hold_back(source, chunk.checkpoint), done)
        return True

    def _release(self, source: str, records: list[Record], done: Processed) -> None:
        """Process a completed pending record; its file's read position moves to
        where the last chunk of that file ended."""
        if not records:
            return
        key = self._pending_file.pop(source, None)
        held = self._held.pop(key, None) if key is not None else None
        if held is not None and not self.tailer.tracks(held.key):
            held = None  # closed since: its checkpoint was dropped with it
        self._process(source, records, held, done)

    def _process(
        self,
        source: str,
        records: list[Record],
        checkpoint: Checkpoint | None,
        done: Processed,
    ) -> None:
        """Mine, count and score completed records; commit them with ``checkpoint``."""
        matches = self.miner.add_batch(records)
        errors = self.summary.update(records, matches)
        now = self.clock.now()
        closed = self.windows.add(records, matches, now)
        outcome = self._score(closed, now)
        released = self.joiner.released_lines - self._released
        self._released = self.joiner.released_lines
        saved = self._commit_outcome(
            outcome,
            now,
            source=source,
            checkpoints=[checkpoint] if checkpoint is not None else [],
            lines={source: released} if released else None,
            errors=errors,
        )
        self.lines += released
        done.lines += released
        done.alerts.extend(saved)
        done.errors.extend(errors)
        done.windows += len(closed)

    def _commit(
        self,
        checkpoints: list[Checkpoint] | None = None,
        lines: dict[str, int] | None = None,
        errors: list[ErrorStat] | None = None,
        alerts: list[Alert] | None = None,
        now: float | None = None,
        force: bool = False,
        updates: list[Alert] | None = None,
        notified: dict[int, float] | None = None,
        source: str | None = None,
        ends_told: list[int] | None = None,
    ) -> list[Alert]:
        now = self.clock.now() if now is None else now
        state = self._learned(now, force, source)
        try:
            saved = self.store.commit(
                checkpoints=checkpoints or [], lines=lines, errors=errors or [],
                alerts=alerts or [], state=state, saved_at=now, updates=updates or [],
                notified=notified, ends_told=ends_told or [],
            )  # fmt: skip
        except StateError as exc:
            # The tailer is past these lines: committing a later position would lose
            # them, so refuse all further work (see process_source).
            self.failure = exc
            raise
        self._saved(state, now)
        return saved

    def _follow(self, path: str) -> str:
        try:
            return self.tailer.track(path)
        except FileNotFoundError:
            raise SourceError(f"{path} does not exist; pass an existing log file") from None
        except IsADirectoryError:
            raise SourceError(f"{path} is not a regular file; pass a log file") from None
        except OSError as exc:
            raise SourceError(
                f"cannot read {path}: {exc.strerror}; check its permissions"
            ) from None

    def _score(self, windows: list[Window], now: float, learn: bool = True) -> Outcome:
        """Score and learn closed windows; the anomalous ones go to the policy with
        their explanations. Each detector learns by its own rule (the forest only
        from windows that did not alert)."""
        if not windows:
            return Outcome()
        # Count by the ids templates have now, not when their lines arrived.
        windows = [resolve_ids(w, self.miner.resolve) for w in windows]
        if learn:
            verdicts = [v for v in self.ensemble.process(windows) if v.ready]
            self.windows_learned += len(windows)
            self.template_stats.update(windows)
        else:
            verdicts = [v for v in self.ensemble.evaluate(windows) if v.ready]
        if not verdicts:
            return Outcome()
        self.windows_scored += len(verdicts)
        self.last_score = verdicts[-1].score
        self.recent_scores.extend(
            (v.window.source, v.window.start, v.window.end, v.window.lines, v.score)
            for v in verdicts
        )
        scores = [Score(v.window, v.score, v.detector) for v in verdicts]
        return self.policy.evaluate(scores, now, [v.explanation.to_dict() for v in verdicts])

    # ------------------------------------------------------------- housekeeping

    def due(self) -> set[str]:
        """Streams that have a window to close or a partial line to flush by now."""
        with self._lock:
            now = self.clock.now()
            tracked = set(self.tailer.sources())
            return (
                (set(self.windows.due(now)) & tracked)
                | self.tailer.due(now)
                | set(self.joiner.due(now))
                | (self.policy.due_sources(now) & tracked)
                | self._silent_sources(now)
            )

    def _silent_sources(self, now: float) -> set[str]:
        rate = self._rate()
        if rate is None:
            return set()
        return rate.silent(now, mark=False) & set(self.tailer.sources())

    def tick(self) -> Processed:
        """Work that no file's new lines bring: windows of files no longer followed
        (deleted, or gone since the last run) are closed and scored by time, and due
        notifications (a group's wait, an end notice, a repeat) go out even while
        every log is quiet."""
        with self._lock:
            done = Processed("")
            if self.failure is not None:
                return done
            self._refresh_feedback()  # an ack or mute since the last file's lines counts
            now = self.clock.now()
            tracked = set(self.tailer.sources())
            for source in set(self.windows.due(now)) - tracked:
                closed = self.windows.close_due(source, now)
                if closed:
                    outcome = self._score(closed, now)
                    done.alerts.extend(self._commit_outcome(outcome, now, source=source))
                    done.windows += len(closed)
            if self.policy.due_sources(now):
                self._notify(now, done)
            self.alerts_raised += len(done.alerts)
            return done

    def sources_for(self, paths: set[str]) -> set[str]:
        with self._lock:
            return self.tailer.sources_for(paths)

    def directories(self) -> set[str]:
        with self._lock:
            return self.tailer.directories()

    def close_gone(self) -> None:
        """Close rotated-away files that were read to the end; drop their checkpoints."""
        with self._lock:
            keys = self.tailer.close_gone()
            if keys:
                self.store.commit(forget=keys)

    def error_counts(self) -> dict[str, int]:
        """A snapshot of the error summary (under the lock: another thread may be
        counting a batch into it)."""
        with self._lock:
            return self.summary.counts()

    def patterns(self, limit: int) -> list[TemplateStat]:
        """The most frequent templates with counts, first/last seen and examples."""
        with self._lock:
            return self.template_stats.rows(limit, self.miner.template)

    def scores(self, limit: int) -> list[tuple[str, float, float, int, float]]:
        """The newest window scores, oldest first: (source, start, end, lines, score)."""
        with self._lock:
            return list(self.recent_scores)[-limit:] if limit > 0 else []

    def error_report(self, n: int | None = None) -> list[ErrorTypeSummary]:
        """The error types with their files, example and trend (under the lock)."""
        with self._lock:
            return self.summary.report(n)

    def status(self, polling: bool = False) -> Status:
        """A snapshot; ``polling`` is the runner's, which the pipeline cannot see.

        While a long read holds the lock (a backlog after downtime), the last
        snapshot is returned after a short wait, so health checks and the
        dashboard do not hang."""
        if not self._lock.acquire(timeout=0.25):
            last = self._last_status
            if last is not None:
                return replace(last, polling=polling)
            self._lock.acquire()
        try:
            self._last_status = Status(
                sources=tuple(self.tailer.stats()),
                lines=self.lines,
                templates=len(self.miner),
                windows_scored=self.windows_scored,
                windows_learned=self.windows_learned,
                model_ready=self.ensemble.ready,
                alerts=self.alerts_raised,
                open_windows=self.windows.open_windows(),
                polling=polling,
                last_score=self.last_score,
                skipped_files=self.tailer.skipped_files,
            )
            return self._last_status
        finally:
            self._lock.release()

    def close(self) -> None:
        """Save what the miner learned since the last snapshot; release the files."""
        with self._lock:
            try:
                if self.failure is None and self.miner.revision != self._saved_revision:
                    self._commit(force=True)
            except StateError:
                logger.warning("could not save the template snapshot: %s", self.failure)
            finally:
                self.tailer.close()


class Runner:
    """The background thread that drives a :class:`Pipeline`.

    ``on_source`` is called with a stream name whenever it has work; it is
    ``LogMonitor.process_log_file``, so subclasses see every file as it changes.
    An exception from it is logged with its traceback and counted, never fatal,
    except :class:`StateError`: when results cannot be saved, going on would
    lose lines, so the runner stops and keeps the error in ``failure``.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        on_source: Callable[[str], None],
        poll_interval: float = 1.0,
        use_inotify: bool = True,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.on_source = on_source
        self.on_tick = on_tick  # called once per loop (about every 0.25 s): timers
        self.poll_interval = poll_interval
        self.watcher = Watcher(enabled=use_inotify)
        self.hook_errors = 0
        self.scans = 0
        self.failure: Exception | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._first_scan = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def polling(self) -> bool:
        return self.watcher.polling

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="logmonitor-pipeline", daemon=True)
        self._thread.start()

    def wait_started(self, timeout: float | None = None) -> bool:
        """Block until the first directory scan is done (files are being followed)."""
        return self._first_scan.wait(timeout)

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.watcher.close()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the runner stops (or ``timeout``); True if it stopped."""
        return self._stop.wait(timeout)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:
            # Kept for monitor_logs() to raise in the caller's thread.
            self.failure = exc
            logger.exception("the monitoring loop failed; stopping")
            self._stop.set()
        finally:
            self._first_scan.set()

    def _loop(self) -> None:
        next_scan = 0.0
        rescan = True
        dirty: set[str] = set()
        while not self._stop.is_set():
            if rescan or time.monotonic() >= next_scan:
                dirty |= self.pipeline.scan()
                self.watcher.watch(self.pipeline.directories())
                self.scans += 1
                next_scan = time.monotonic() + self.poll_interval
                self._first_scan.set()
            dirty |= self.pipeline.due()
            for source in sorted(dirty):
                if self._stop.is_set():
                    return
                self._call(source)
            dirty.clear()
            self.pipeline.close_gone()
            if self.on_tick is not None:
                try:
                    self.on_tick()
                except Exception:  # timers must not stop the monitor (they log)
                    logger.exception("a timer failed; continuing")
            timeout = max(0.0, min(next_scan - time.monotonic(), 0.25))
            if self.watcher.polling:
                self._stop.wait(timeout)
                rescan = False
                continue
            events = self.watcher.wait(timeout)
            rescan = events.rescan
            if events.paths:
                dirty |= self.pipeline.sources_for(events.paths)

    def _call(self, source: str) -> None:
        try:
            self.on_source(source)
        except StateError:
            raise
        except SourceError as exc:
            self.hook_errors += 1
            logger.warning("%s", exc)
        except Exception:
            # A subclass's hook (sending mail, say) must not stop the monitor.
            self.hook_errors += 1
            logger.exception("process_log_file(%r) failed; continuing", source)

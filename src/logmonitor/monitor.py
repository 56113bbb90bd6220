"""``LogMonitor``: the original API, backed by the streaming pipeline.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as logs:
...     monitor = LogMonitor([logs], alert_threshold=0.6)
...     monitor.alert_threshold, type(monitor.model).__name__
(0.6, 'IsolationForest')
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any

from .alerts.digest import DigestSchedule, build_digest
from .alerts.summary import ErrorTypeSummary
from .clock import Clock, SystemClock
from .config import Settings
from .detect.iforest import make_model
from .errors import ConfigError, MonitorStateError
from .patterns.stats import TemplateStat
from .pipeline import Pipeline, Processed, Runner, Status
from .records import Alert
from .sinks.base import Sink
from .sinks.delivery import Deliverer
from .sinks.factory import build_deliverer
from .store import Store

__all__ = ["LogMonitor"]

logger = logging.getLogger(__name__)


class LogMonitor:
    """Watch log directories, learn what normal looks like, and raise alerts.

    ``log_dirs`` are directories (or files) to follow; ``alert_threshold`` is the
    anomaly score in (0, 1] at or above which a window alerts (0.5 is the
    Isolation Forest paper's boundary). Every other setting can be given by
    keyword (see :class:`~logmonitor.config.Settings`), or all of them at once
    as ``settings=``.

    Read while it runs, from any thread:

    * ``error_summary``: a ``defaultdict(int)``, error type -> count;
    * ``alerts``: a list of :class:`~logmonitor.records.Alert`, each unpacking as
      ``(filename, score)``;
    * ``model``: the scikit-learn ``IsolationForest`` that scores windows.

    Both attributes are replaced (never mutated) when new results arrive, so a
    reader always holds a consistent snapshot.

    Subclass hooks: ``process_log_file(filename)`` runs for every file with new
    work (call ``super()`` first, then look at ``self.alerts``), and
    ``notify(alert)`` runs once for each new alert.

    Notifications (grouped, deduplicated, rate limited: see
    :mod:`logmonitor.alerts.policy`) go to the ``[[sinks]]`` of the settings
    (webhook, Slack, email...) through a :class:`~logmonitor.sinks.delivery.Deliverer`
    that retries and keeps what is undelivered in the state file; their secrets are
    read from ``environ`` (default ``os.environ``) when the monitor starts. Pass
    ``deliverer=`` to deliver elsewhere. ``sinks=`` takes such tables too (as
    dicts, e.g. ``{"type": "slack", "url_env": "SLACK_WEBHOOK_URL"}``), and
    :class:`~logmonitor.sinks.base.Sink` objects, which receive every new alert at
    once, ungrouped (the CLI prints them).
    """

    def __init__(
        self,
        log_dirs: list[str],
        alert_threshold: float = 0.5,
        *,
        settings: Settings | None = None,
        sinks: Sequence[Sink | Mapping[str, Any]] = (),
        clock: Clock | None = None,
        deliverer: Deliverer | None = None,
        environ: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        if isinstance(log_dirs, (str, bytes)):
            raise ConfigError(
                f"log_dirs must be a list of directories, not the string {log_dirs!r}; "
                f"write LogMonitor([{log_dirs!r}], ...)"
            )
        if not isinstance(log_dirs, (list, tuple)):
            raise ConfigError(
                f"log_dirs must be a list of directories, not {type(log_dirs).__name__}; "
                "write LogMonitor(['/var/log'], ...)"
            )
        if isinstance(alert_threshold, bool) or not isinstance(alert_threshold, (int, float)):
            raise ConfigError(
                f"alert_threshold must be a number in (0, 1], not {alert_threshold!r}; "
                "0.5 is the usual boundary"
            )
        base = settings if settings is not None else Settings()
        tables = tuple(dict(s) for s in sinks if isinstance(s, Mapping))
        if tables:
            options["sinks"] = (*base.sinks, *tables)
        try:
            merged = base.replace(
                log_dirs=tuple(log_dirs), alert_threshold=float(alert_threshold), **options
            )
        except TypeError as exc:
            raise ConfigError(f"{exc}; see logmonitor.config.Settings for the options") from None
        self.settings = merged.validate("LogMonitor(...)")
        self.log_dirs = list(log_dirs)
        self.alert_threshold = float(alert_threshold)
        self.model = make_model(self.settings.seed)
        self.error_summary: defaultdict[str, int] = defaultdict(int)
        self.alerts: list[Alert] = []
        self.sinks: list[Sink] = [s for s in sinks if not isinstance(s, Mapping)]
        self.deliverer = deliverer
        self._environ = environ
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._pipeline: Pipeline | None = None
        self._store: Store | None = None
        self._runner: Runner | None = None
        self._lock = threading.RLock()
        self._stopped = False
        self._digest_from: float | None = None  # start of the period the next digest tells

    # ---------------------------------------------------------------- life cycle

    def _ready(self) -> Pipeline:
        with self._lock:
            if self._stopped:
                raise MonitorStateError("this LogMonitor was stopped; create a new one")
            if self._pipeline is None:
                # The deliverer first: a sink that cannot be built (a missing secret)
                # must fail every start, not leave a monitor that never notifies.
                if self.deliverer is None and self.settings.sinks:
                    self.deliverer = build_deliverer(
                        self.settings.sinks,
                        os.environ if self._environ is None else self._environ,
                        delivery=self.settings.delivery,
                        state=self.settings.state,
                        origin="the settings' sinks",
                    )
                store = Store(self.settings.state or ":memory:")
                try:
                    pipeline = Pipeline(self.settings, self.clock, self.model, store)
                except BaseException:
                    store.close()
                    raise
                self._store, self._pipeline = store, pipeline
                self.error_summary = defaultdict(int, pipeline.error_counts())
                if self.deliverer is not None:
                    self.deliverer.start()
                    pipeline.submit = self.deliverer.submit
            return self._pipeline

    def start(self) -> LogMonitor:
        """Start following the directories in a background thread; returns at once
        after the first scan, so lines written from now on are all seen."""
        with self._lock:
            if self._runner is not None:
                raise MonitorStateError("start() was already called; a LogMonitor runs once")
            pipeline = self._ready()
            self._runner = Runner(
                pipeline, self.process_log_file, self.settings.poll_interval,
                self.settings.inotify, on_tick=self._tick,
            )  # fmt: skip
            self._runner.start()
        self._runner.wait_started()
        logger.info("watching %s", ", ".join(self.log_dirs))
        return self

    def stop(self) -> None:
        """Stop following and close the state file. Safe to call more than once."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            runner, pipeline, store = self._runner, self._pipeline, self._store
        if runner is not None:
            runner.stop()
        if pipeline is not None:
            pipeline.close()
        if store is not None:
            store.close()
        if self.deliverer is not None:
            # Undelivered notifications stay in the outbox for the next run.
            self.deliverer.close()
        for sink in self.sinks:
            sink.close()

    def monitor_logs(self) -> None:
        """Monitor until :meth:`stop` is called (from another thread or a hook) or
        Ctrl-C; then shut down cleanly. Every processed line is checkpointed."""
        if self._runner is None:
            self.start()
        runner = self._runner
        if runner is None:  # pragma: no cover - start() sets it
            raise MonitorStateError("the monitor did not start")
        try:
            while not runner.wait(0.5):
                pass
        except KeyboardInterrupt:
            logger.info("interrupted; stopping")
        finally:
            self.stop()
        if runner.failure is not None:
            raise MonitorStateError(f"monitoring stopped on an error: {runner.failure}") from (
                runner.failure
            )

    def __enter__(self) -> LogMonitor:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True once the first directory scan is done and until :meth:`stop`: from
        then on every line written to a followed file is seen."""
        runner = self._runner
        return (
            runner is not None and runner.running and runner.wait_started(0) and not self._stopped
        )

    @property
    def failure(self) -> Exception | None:
        """The error that stopped monitoring (the background thread's, or a write to
        the state file that failed, after which no line is processed), or ``None``."""
        runner, pipeline = self._runner, self._pipeline
        if runner is not None and runner.failure is not None:
            return runner.failure
        return None if pipeline is None else pipeline.failure

    # --------------------------------------------------------------------- hooks

    def process_log_file(self, filename: str) -> None:
        """Process the new lines of ``filename`` (and close its due windows).

        The monitor calls this for every file with new work. Override it to act
        per file, calling ``super().process_log_file(filename)`` first; it can
        also be called directly, with or without the monitor running, to process
        a file now (a file outside ``log_dirs`` is followed from its start).
        """
        self._publish(self._ready().process_source(filename))

    def notify(self, alert: Alert) -> None:
        """Called once for each new alert; by default it logs a warning and sends
        the alert to the configured sinks. Override to send it elsewhere."""
        logger.warning(
            "anomaly in %s: score %.3f >= %.2f (%d lines)",
            alert.filename, alert.score, alert.threshold, alert.lines,
        )  # fmt: skip
        for sink in self.sinks:
            sink.send(alert)

    def _publish(self, done: Processed) -> None:
        pipeline = self._pipeline
        if pipeline is None:  # pragma: no cover - process_source needed it
            return
        # The runner and a direct process_log_file() call may publish at once: the
        # lock keeps either from replacing the other's newer snapshot.
        with self._lock:
            if done.errors:
                self.error_summary = defaultdict(int, pipeline.error_counts())
            if done.alerts:
                self.alerts = [*self.alerts, *done.alerts][-self.settings.max_alerts :]
        for alert in done.alerts:
            try:
                self.notify(alert)
            except Exception:
                # A failing notification must not lose the next ones.
                logger.exception("notify() failed for alert %s", alert.id)
        # A period may end while lines keep coming: the digest is checked here (a
        # cheap comparison) as well as on the runner's timer.
        try:
            self._maybe_digest()
        except Exception:
            logger.exception("the digest could not be sent; trying again next period")

    def _tick(self) -> None:
        """The runner's timer: what no file's new lines bring (see
        :meth:`Pipeline.tick`), then the digest through :meth:`_publish`. Nothing
        here may stop the monitor: a failure is logged and retried next time."""
        pipeline = self._pipeline
        try:
            if pipeline is not None and not self._stopped:
                self._publish(pipeline.tick())
        except Exception:
            logger.exception("timed work failed; trying again")

    def _maybe_digest(self) -> None:
        if self.deliverer is None or self.settings.digest == "off" or self._store is None:
            return
        schedule = DigestSchedule(self.settings.digest, time.localtime().tm_gmtoff)
        now = self.clock.now()
        current = schedule.period_start(now)
        with self._lock:
            if self._digest_from is None:
                saved = self._store.state("digest")
                self._digest_from = float(saved["from"]) if saved else current
            start = self._digest_from
            if current <= start:
                return  # the period in progress
            self._digest_from = current
        try:
            # Only the last whole period: after a long stop, one digest, not a backlog.
            told_from = max(start, current - schedule.seconds)
            alerts, total = self.find_alerts(50, since=told_from)
            patterns = [p for p in self.patterns(10_000) if p.first_seen >= told_from]
            digest = build_digest(
                told_from, current, self.summary(10), patterns, alerts, self.status().lines,
                total_alerts=total,
            )  # fmt: skip
            self.deliverer.submit(digest)
        except BaseException:
            with self._lock:
                self._digest_from = start  # not queued: the next tick tries again
            raise
        # Queued: this run will not send it again even if recording it fails (a
        # restart might, with the same key).
        self._store.commit(state={"digest": {"from": current}}, saved_at=now)

    # -------------------------------------------------------------------- status

    def summary(self, top: int | None = None) -> list[ErrorTypeSummary]:
        """The error summary in full: per error type (most frequent first) its count,
        first and last time seen, the files it came from, one example line and its
        trend (counts per window over the last ten windows, newest last).

        ``error_summary`` holds just the counts; this is the story behind them.
        """
        return self._ready().error_report(top)

    def status(self) -> Status:
        """Sources, counts and the model's state, for status screens."""
        runner = self._runner
        status = self._ready().status(polling=runner is not None and runner.polling)
        deliverer = self.deliverer
        if deliverer is not None and deliverer.dropped:
            status = replace(status, notifications_dropped=deliverer.dropped)
        return status

    def alert(self, alert_id: int) -> Alert | None:
        """One stored alert by id (None if there is none)."""
        return self._state().alert(alert_id)

    def find_alerts(
        self,
        limit: int = 50,
        offset: int = 0,
        *,
        since: float | None = None,
        source: str | None = None,
        severity: str | None = None,
        status: str | None = None,
        acked: bool | None = None,
    ) -> tuple[list[Alert], int]:
        """Stored alerts matching the filters, newest first, and the total count."""
        return self._state().alert_page(
            limit, offset, since_time=since, source=source, severity=severity, status=status,
            acked=acked,
        )  # fmt: skip

    def alerts_after(self, alert_id: int, limit: int = 100) -> list[Alert]:
        """Alerts stored after ``alert_id``, oldest first (the newest ``limit``)."""
        return self._state().alerts(limit, since_id=alert_id)

    def alert_counts(self) -> dict[str, int]:
        """Stored alerts by severity."""
        return self._state().alert_counts()

    def ack(self, alert_id: int, by: str = "") -> Alert:
        """Acknowledge an alert: it is not repeated while it lasts. Raises
        :class:`~logmonitor.errors.StateError` for an unknown id."""
        return self._state().ack(alert_id, self.clock.now(), by)

    def feedback(self, alert_id: int, verdict: str, note: str = "") -> Alert:
        """``true-positive`` or ``false-positive``. A false positive's pattern is
        learned as normal and the same condition does not alert again."""
        return self._state().set_feedback(alert_id, verdict, self.clock.now(), note)

    def patterns(self, limit: int = 100) -> list[TemplateStat]:
        """The most frequent templates with counts, first/last seen and examples."""
        return self._ready().patterns(limit)

    def recent_scores(self, limit: int = 600) -> list[tuple[str, float, float, int, float]]:
        """The newest window scores, oldest first: (source, start, end, lines, score)."""
        return self._ready().scores(limit)

    def _state(self) -> Store:
        self._ready()
        if self._store is None:  # pragma: no cover - _ready() sets it
            raise MonitorStateError("the state file is not open")
        return self._store

    def recent_alerts(self, limit: int = 100) -> list[Alert]:
        """Alerts from the state file, this run's and earlier runs', oldest first."""
        return self._state().alerts(limit)

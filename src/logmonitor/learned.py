"""What the stages learned, back from the state file at start.

The pipeline saves the miner's snapshot, the detectors, the session table and
each file's open window in its commits (see :mod:`logmonitor.pipeline`); these
functions rebuild them, or make new ones when nothing (usable) was saved. A
saved state this version cannot read is a :class:`StateError` that says so:
starting without it would silently renumber templates and warm up again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from sklearn.ensemble import IsolationForest

from .config import Settings
from .detect.ensemble import Ensemble, default_ensemble
from .errors import StateError
from .features.sessions import SessionWindows
from .features.windows import WindowCounter
from .patterns.miner import TemplateMiner
from .store import Store

__all__ = ["load_ensemble", "load_miner", "load_windows", "window_kind"]


def window_kind(settings: Settings) -> Literal["session", "time"]:
    """Session windows when a ``session_id`` regex is set, else time windows."""
    return "session" if settings.session_id else "time"


def load_miner(store: Store, max_templates: int) -> TemplateMiner:
    """The miner of the last run (same template ids), else a new one. Raises
    :class:`StateError` for a snapshot this version cannot read."""
    saved = store.state("miner")
    if saved is None:
        miner = TemplateMiner(max_templates=max_templates)
    else:
        try:
            miner = TemplateMiner.from_snapshot(saved)
        except StateError as exc:
            raise StateError(
                f"{store.path}: the saved template miner state cannot be read ({exc}); "
                "upgrade LogMonitor if a newer one wrote it, else move the state file "
                "away to start afresh"
            ) from exc
        miner.max_templates = max_templates  # the setting wins; a smaller cap evicts
    # Ids given after the snapshot (or before a first one) were saved only as a
    # floor: start above it.
    ids = store.state("miner.ids")
    if isinstance(ids, dict) and isinstance(ids.get("floor"), int):
        miner.reserve_ids(ids["floor"])
    return miner


def load_windows(store: Store, settings: Settings) -> WindowCounter | SessionWindows:
    """The windows in progress of the last run: a restart keeps counting into
    them. Session windows come back only if keyed by the same regex."""
    if settings.session_id is None:
        counter = WindowCounter(settings.window_seconds, settings.window_grace)
        counter.restore(store.states("window:").values())
        return counter
    sessions = SessionWindows(
        settings.session_id, settings.session_timeout, settings.session_max_seconds,
        max_open=settings.max_open_sessions,
    )  # fmt: skip
    sessions.restore(store.state("sessions.meta"), store.states("session:").values())
    sessions.track_changes = True  # the pipeline saves them with each commit
    return sessions


def load_ensemble(
    store: Store,
    settings: Settings,
    model: IsolationForest,
    template_text: Callable[[int], str | None],
) -> Ensemble:
    """The detectors as the last run left them (no second warm-up), else new."""
    saved = store.state("detectors")
    kind = window_kind(settings)
    if isinstance(saved, dict) and saved.get("windows") == kind:
        try:
            ensemble = Ensemble.from_state(saved["ensemble"], template_text, model)
        except (StateError, KeyError) as exc:
            raise StateError(
                f"{store.path}: the saved detector state cannot be read ({exc}); "
                "upgrade LogMonitor if a newer one wrote it, else move the state file "
                "away to start afresh"
            ) from exc
        ensemble.threshold = settings.alert_threshold
        return ensemble
    return default_ensemble(
        settings.alert_threshold, kind, template_text, model,
        warmup_windows=settings.warmup_windows if kind == "time" else None,
        refit_every=settings.refit_every, history_size=settings.history_size,
    )  # fmt: skip

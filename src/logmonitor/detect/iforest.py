"""The default detector: an Isolation Forest over template-count windows.

Liu, Ting and Zhou (ICDM 2008) define the anomaly score of a point as
s(x, n) = 2^(-E[h(x)] / c(n)): about 0.5 and below for ordinary points, near 1 for
points isolated in few splits. scikit-learn's ``score_samples`` returns exactly
the negation of s, so ``-score_samples`` is the paper's score in [0, 1] and
``alert_threshold=0.5`` is the paper's boundary.

The forest is first fitted after ``warmup_windows`` windows, then refitted every
``refit_every`` windows on a bounded history (``history_size``) of recent windows
that did not alert, so what normal looks like can drift without anomalies
teaching themselves in.

State (:meth:`IsolationForestDetector.to_state`) is the bounded training history
and the counters, never a pickled forest: :meth:`~IsolationForestDetector.from_state`
refits on that history with the saved seed, which gives the same forest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from ..errors import MonitorStateError, StateError
from ..features.vectors import CountVectorizer, window_from_state, window_to_state
from ..records import Window

__all__ = ["IsolationForestDetector", "make_model"]

_STATE_VERSION = 1


def make_model(seed: int = 0, n_estimators: int = 100) -> IsolationForest:
    """The forest ``LogMonitor.model`` holds: the paper's defaults, a fixed seed."""
    return IsolationForest(
        n_estimators=n_estimators, max_samples="auto", contamination="auto", random_state=seed
    )


class IsolationForestDetector:
    """Isolation Forest scores for windows, with warm-up and periodic refits."""

    name = "iforest"

    def __init__(
        self,
        model: IsolationForest | None = None,
        warmup_windows: int = 20,
        refit_every: int = 50,
        history_size: int = 2000,
        max_templates: int = 256,
    ) -> None:
        self.model = model if model is not None else make_model()
        self.warmup_windows = warmup_windows
        self.refit_every = refit_every
        self.history_size = history_size
        self.vectorizer = CountVectorizer(max_templates)
        self.history_: deque[Window] = deque(maxlen=history_size)
        self.fitted_ = False
        self.fits_ = 0
        self._since_fit = 0

    @property
    def ready(self) -> bool:
        return self.fitted_

    def learn(self, windows: Sequence[Window]) -> None:
        self.history_.extend(windows)
        self._since_fit += len(windows)
        due = (
            self._since_fit >= self.refit_every
            if self.fitted_
            else (len(self.history_) >= self.warmup_windows)
        )
        if due:
            self.fit()

    def fit(self) -> IsolationForestDetector:
        history = list(self.history_)
        if len(history) < 2:
            raise MonitorStateError("the Isolation Forest needs at least 2 windows to fit")
        self.vectorizer.fit(history)
        self.model.fit(self.vectorizer.transform(history))
        self.fitted_ = True
        self.fits_ += 1
        self._since_fit = 0
        return self

    def score(self, windows: Sequence[Window]) -> list[float]:
        if not self.fitted_:
            raise MonitorStateError("score() before the warm-up ended; check .ready first")
        if not windows:
            return []
        raw = self.model.score_samples(self.vectorizer.transform(windows))
        # The one sign flip: scikit-learn returns -s(x, n); LogMonitor's convention
        # (and the paper's) is s in [0, 1] with higher meaning more anomalous.
        return [float(s) for s in np.clip(-raw, 0.0, 1.0)]

    # -- state -----------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The training history and counters as plain JSON-able data."""
        params = self.model.get_params()
        return {
            "kind": self.name,
            "version": _STATE_VERSION,
            "params": {
                "warmup_windows": self.warmup_windows,
                "refit_every": self.refit_every,
                "history_size": self.history_size,
                "max_templates": self.vectorizer.max_templates,
                "seed": params.get("random_state"),
                "n_estimators": params.get("n_estimators"),
            },
            "fitted": self.fitted_,
            "fits": self.fits_,
            "since_fit": self._since_fit,
            "history": [window_to_state(w) for w in self.history_],
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], model: IsolationForest | None = None
    ) -> IsolationForestDetector:
        """Rebuild a detector saved by :meth:`to_state`, refitting deterministically.

        ``model`` (``LogMonitor.model``) is refitted in place when given, so the
        monitor's public attribute stays the forest that scores."""
        from .novelty import _check_state

        _check_state(state, cls.name, _STATE_VERSION)
        try:
            params = state["params"]
            seed = params["seed"]
            if model is None:
                model = make_model(0 if seed is None else int(seed), int(params["n_estimators"]))
            detector = cls(
                model, int(params["warmup_windows"]), int(params["refit_every"]),
                int(params["history_size"]), int(params["max_templates"]),
            )  # fmt: skip
            detector.history_.extend(window_from_state(w) for w in state["history"])
            fitted = bool(state["fitted"])
            since_fit = int(state["since_fit"])
            fits = int(state["fits"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"saved iforest state is malformed ({exc!r})") from None
        if fitted and len(detector.history_) >= 2:
            detector.fit()
        detector.fits_ = fits
        detector._since_fit = since_fit
        return detector

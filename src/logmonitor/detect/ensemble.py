"""Several detectors, one verdict per window: a score in [0, 1] and why.

Each member detector scores the window in [0, 1] and its score is multiplied by
the member's ``weight``; the verdict's score is the largest weighted score of the
members that are ready (``combine="max"``: one detector that is sure is enough,
which is what an operator wants from "new error template" or "source went
silent"), or their weighted mean (``combine="mean"``: members must agree). The
verdict is compared with ``threshold`` and carries every member's score and an
:class:`~logmonitor.detect.explain.Explanation`. The detectors' deviations, the
costly part of an explanation, are gathered only for verdicts at or above
``explain_from`` (the threshold unless given): below it nothing alerts, and the
explanation holds the scores, who fired, the new templates and the samples.

Learning: frequency baselines (novelty, rate) learn every window by default,
because a rare event stays rare however often it is counted and an anomaly that
recurs for good becomes the new normal; the Isolation Forest learns only windows
that did not alert (``learn_alerted=False``), so anomalies do not teach
themselves in. During the warm-up (no member ready) every member learns every
window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sklearn.ensemble import IsolationForest

from ..errors import ConfigError, StateError
from ..records import Window
from .explain import Deviation, Explanation, explain
from .iforest import IsolationForestDetector, make_model
from .novelty import NoveltyDetector, _check_state
from .rate import RateDetector

__all__ = ["Ensemble", "Member", "Verdict", "default_ensemble"]

_STATE_VERSION = 1

Combine = Literal["max", "mean"]


class _Stateful(Protocol):
    name: str

    @property
    def ready(self) -> bool: ...

    def learn(self, windows: Sequence[Window]) -> None: ...

    def score(self, windows: Sequence[Window]) -> list[float]: ...

    def to_state(self) -> dict[str, Any]: ...


# kind -> how to rebuild a member from its saved state
_KINDS: dict[str, Callable[[dict[str, Any]], _Stateful]] = {
    NoveltyDetector.name: NoveltyDetector.from_state,
    RateDetector.name: RateDetector.from_state,
    IsolationForestDetector.name: IsolationForestDetector.from_state,
}


@dataclass(frozen=True, slots=True)
class Member:
    """A detector in an ensemble, its weight and whether it learns alerted windows."""

    detector: _Stateful
    weight: float = 1.0
    learn_alerted: bool = True


@dataclass(frozen=True, slots=True)
class Verdict:
    """One window's combined score, each ready member's score and the explanation
    (without deviations when the score is below the ensemble's ``explain_from``)."""

    window: Window
    score: float
    scores: tuple[tuple[str, float], ...]
    explanation: Explanation
    ready: bool = True  # False: no member was ready, the score is 0 by default

    @property
    def detector(self) -> str:
        """The member with the highest weighted score (names the alert's detector)."""
        fired = self.explanation.fired
        if fired:
            return fired[0] if len(fired) == 1 else "+".join(fired)
        return max(self.scores, key=lambda kv: kv[1])[0] if self.scores else "ensemble"


class Ensemble:
    """Combines member detectors into one verdict per window; see the module docstring.

    >>> from logmonitor.records import Window
    >>> ensemble = Ensemble([Member(NoveltyDetector(warmup_windows=2))], threshold=0.5)
    >>> _ = ensemble.process([Window("a", 0, 1, ((1, 3),), 3, 0)] * 50)
    >>> verdict = ensemble.process([Window("a", 0, 1, ((1, 3), (7, 1)), 4, 1)])[0]
    >>> verdict.score > 0.5, verdict.explanation.template_ids[0]
    (True, 7)
    """

    name = "ensemble"

    def __init__(
        self,
        members: Sequence[Member],
        threshold: float = 0.5,
        combine: Combine = "max",
        template_text: Callable[[int], str | None] | None = None,
        explain_from: float | None = None,
    ) -> None:
        if not members:
            raise ConfigError("an ensemble needs at least one member detector")
        names = [m.detector.name for m in members]
        if len(set(names)) != len(names):
            raise ConfigError(f"ensemble members must have distinct names, got {names}")
        for member in members:
            if not 0.0 < member.weight <= 1.0:
                raise ConfigError(
                    f"weight of {member.detector.name!r} must be in (0, 1], got {member.weight}"
                )
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"alert_threshold must be in (0, 1], got {threshold}")
        if combine not in ("max", "mean"):
            raise ConfigError(f"combine must be 'max' or 'mean', got {combine!r}")
        self.members = tuple(members)
        self.threshold = threshold
        self.combine: Combine = combine
        self.template_text = template_text
        # Scores from which a verdict's explanation gathers the detectors' deviations;
        # None: the threshold, whatever it is later set to.
        self._explain_from: float | None = None
        if explain_from is not None:
            self.explain_from = explain_from

    @property
    def explain_from(self) -> float:
        """The score from which a verdict's explanation gathers the detectors'
        deviations: ``threshold`` unless set."""
        return self.threshold if self._explain_from is None else self._explain_from

    @explain_from.setter
    def explain_from(self, value: float) -> None:
        if not value >= 0.0:
            raise ConfigError(f"explain_from must be 0 or more, got {value}")
        self._explain_from = value

    @property
    def ready(self) -> bool:
        return any(m.detector.ready for m in self.members)

    def detector(self, name: str) -> _Stateful:
        for member in self.members:
            if member.detector.name == name:
                return member.detector
        raise KeyError(name)

    # -- scoring ---------------------------------------------------------------------

    def evaluate(self, windows: Sequence[Window]) -> list[Verdict]:
        """Score ``windows`` without learning them."""
        if not windows:
            return []
        ready = [m for m in self.members if m.detector.ready]
        per_member = [m.detector.score(windows) for m in ready]
        verdicts = []
        explain_from = self.explain_from
        for i, window in enumerate(windows):
            scores = {m.detector.name: s[i] for m, s in zip(ready, per_member, strict=True)}
            weighted = [m.weight * s[i] for m, s in zip(ready, per_member, strict=True)]
            if not weighted:
                score = 0.0
            elif self.combine == "max":
                score = max(weighted)
            else:
                score = sum(weighted) / sum(m.weight for m in ready)
            score = min(1.0, max(0.0, score))
            verdicts.append(
                Verdict(window, score, tuple(scores.items()),
                        self._explain(window, score, scores, score >= explain_from),
                        ready=bool(ready))
            )  # fmt: skip
        return verdicts

    def _explain(
        self, window: Window, score: float, scores: dict[str, float], deviate: bool
    ) -> Explanation:
        deviations: list[Deviation] = []
        for member in self.members if deviate else ():
            method = getattr(member.detector, "deviations", None)
            if method is not None and member.detector.ready:
                deviations.extend(method(window, 5))
        return explain(window, score, self.threshold, scores, deviations, self.template_text)

    def learn(self, windows: Sequence[Window], verdicts: Sequence[Verdict] | None = None) -> None:
        """Teach the members ``windows``; with ``verdicts``, members that do not learn
        alerted windows skip those at or above the threshold."""
        if not windows:
            return
        if verdicts is not None and len(verdicts) != len(windows):
            raise ConfigError(f"{len(verdicts)} verdicts for {len(windows)} windows")
        calm = (
            list(windows)
            if verdicts is None or not self.ready
            else [v.window for v in verdicts if v.score < self.threshold]
        )
        for member in self.members:
            member.detector.learn(windows if member.learn_alerted else calm)

    def process(self, windows: Sequence[Window]) -> list[Verdict]:
        """Streaming: score ``windows`` with what was learned before, then learn them."""
        verdicts = self.evaluate(windows)
        self.learn(windows, verdicts)
        return verdicts

    def score(self, windows: Sequence[Window]) -> list[float]:
        """The :class:`~logmonitor.detect.base.Detector` view: combined scores only."""
        return [v.score for v in self.evaluate(windows)]

    # -- state -----------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Every member's learned state as plain JSON-able data."""
        return {
            "kind": self.name,
            "version": _STATE_VERSION,
            "threshold": self.threshold,
            "combine": self.combine,
            "members": [
                {
                    "weight": m.weight,
                    "learn_alerted": m.learn_alerted,
                    "state": m.detector.to_state(),
                }
                for m in self.members
            ],
        }

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        template_text: Callable[[int], str | None] | None = None,
        model: IsolationForest | None = None,
    ) -> Ensemble:
        """Rebuild an ensemble saved by :meth:`to_state`; ``model`` (the monitor's
        ``LogMonitor.model``) becomes the restored Isolation Forest's, refitted."""
        _check_state(state, cls.name, _STATE_VERSION)
        try:
            members = []
            for saved in state["members"]:
                kind = saved["state"]["kind"]
                if kind not in _KINDS:
                    raise StateError(f"saved ensemble has an unknown detector {kind!r}")
                detector = (
                    IsolationForestDetector.from_state(saved["state"], model)
                    if kind == IsolationForestDetector.name and model is not None
                    else _KINDS[kind](saved["state"])
                )
                members.append(
                    Member(detector, float(saved["weight"]), bool(saved["learn_alerted"]))
                )
            return cls(members, float(state["threshold"]), state["combine"], template_text)
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"saved ensemble state is malformed ({exc!r})") from None


def default_ensemble(
    threshold: float = 0.5,
    windows: Literal["session", "time"] = "session",
    template_text: Callable[[int], str | None] | None = None,
    model: IsolationForest | None = None,
    warmup_windows: int | None = None,
    refit_every: int = 50,
    history_size: int = 2000,
) -> Ensemble:
    """LogMonitor's default detectors for session or time windows.

    Sessions: template novelty and rarity alone. On the HDFS sessions it reaches F1
    0.95 where an Isolation Forest on the same counts reaches ROC-AUC 0.79, and
    any vote of the forest only adds false alerts (bench/bench_detection.py).
    Time windows: novelty, rate (spikes, dips, silence: meaningless for a
    session) and the Isolation Forest over log-scaled counts, which learns only
    windows that did not alert; ``model`` is the forest to use (the monitor's
    ``LogMonitor.model``), else a new seeded one. ``warmup_windows`` (when given)
    is every member's warm-up; ``refit_every`` and ``history_size`` are the forest's.
    """
    warm = {} if warmup_windows is None else {"warmup_windows": warmup_windows}
    if windows == "session":
        members = [Member(NoveltyDetector(**warm))]
    else:
        # Tuned on bench/bench_incidents.py (steady loghub traffic, four injected
        # incidents): a time window holds many templates by chance, so rarity needs
        # a far lower probability than a session's to mean something (0.5 at 0.5%,
        # and at 1% for a template with error-level lines: rare errors matter more);
        # the rate baseline adapts slowly (alpha 0.02) so a slow drift still stands
        # out, and a source is silent after two window lengths; the forest counts
        # at 0.9, so its vote alone alerts from s(x, n) = 0.56, above the noise of
        # its scores on normal windows. Before: 14.7 false alerts/h; after: 0.5.
        # The rate detector's CUSUM (drift_k 1, drift_half 8) then caught the slow
        # drift at 11-12 windows instead of 16-17 (or never, on seed 1) at 0.52
        # false alerts/h over seeds 0-2 (0.39-0.52 without it).
        members = [
            Member(NoveltyDetector(half_probability=0.005, error_half_probability=0.01, **warm)),
            Member(RateDetector(alpha=0.02, silence_windows=2.0, **warm)),
            Member(
                IsolationForestDetector(
                    model if model is not None else make_model(),
                    refit_every=refit_every, history_size=history_size, **warm,
                ),
                weight=0.9,
                learn_alerted=False,
            ),
        ]  # fmt: skip
    return Ensemble(members, threshold, "max", template_text)

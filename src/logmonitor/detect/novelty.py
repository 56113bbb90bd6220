"""New and rare templates: how surprising is the set of templates a window holds?

The detector learns, online, in how many windows each template appeared. A window
is surprising when it holds a template that few windows held (a template never
seen is the extreme case), or lacks one that nearly every window holds (an HDFS
block that was allocated but never received: a step is missing). This is the
signal the literature finds on HDFS: anomalous sessions contain event types normal
ones lack, or lack events normal ones have (Invariants Mining, DeepLog).

For a window, each template ``t`` of the vocabulary has a *state*, present or
absent, and the learned probability of that state,
``p_t = (windows with t + 1/2) / (windows + 1)`` if present, else ``1 - p_t``
(Krichevsky-Trofimov smoothing, so a never-seen template has probability
``1/2 / (n + 1)``). The window's *rarity* is ``r = max_t -ln(p_state)``: the most
surprising single fact about it. The score maps rarity into [0, 1] as
``r / (r + r_half)`` with ``r_half = -ln(half_probability)``: a window scores 0.5
exactly when its rarest fact has probability ``half_probability`` (default 3 %),
and an alert threshold ``a`` means "a fact rarer than ``half_probability ** (a /
(1 - a))``" (0.4: 9.6 %, 0.6: 0.5 %, 0.7: 0.03 %), so raising the threshold
trades recall for precision monotonically.

Bounds: at most ``max_templates`` templates are tracked; past that the ones seen in
the fewest windows are forgotten (they become new again, which can only raise a
later score). The counts are halved whenever ``horizon`` windows have been
learned since the last halving, so the baseline follows slow drift and the
numbers stay bounded.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, MonitorStateError, StateError
from ..records import Window
from .explain import Deviation, Kind

__all__ = ["NoveltyDetector", "Surprise"]

_STATE_VERSION = 1
_PRIOR = 0.5  # Krichevsky-Trofimov: half a window for each state
_MAX_CHAIN = 20  # uncommon templates per window whose pairs are counted


@dataclass(frozen=True, slots=True)
class Surprise:
    """One fact about a window and how improbable the learned baseline found it."""

    template_id: int
    present: bool
    observed: int  # the count in this window
    expected: float  # the mean count per learned window
    probability: float  # of this state (present/absent) in a learned window
    new: bool  # never seen by the detector
    given: int | None = None  # the less rare template present that explains it

    @property
    def rarity(self) -> float:
        return -math.log(self.probability)


class NoveltyDetector:
    """Scores windows by the rarest template present (or usual template absent).

    >>> from logmonitor.records import Window
    >>> detector = NoveltyDetector(warmup_windows=3)
    >>> detector.learn([Window("a", 0, 1, ((1, 2),), 2, 0)] * 40)
    >>> [round(s, 2) for s in detector.score([Window("a", 0, 1, ((1, 2),), 2, 0),
    ...                                        Window("a", 0, 1, ((1, 2), (9, 1)), 3, 1)])]
    [0.0, 0.56]
    """

    name = "novelty"

    def __init__(
        self,
        warmup_windows: int = 50,
        half_probability: float = 0.03,
        error_half_probability: float | None = None,
        max_templates: int = 10_000,
        horizon: int = 100_000,
        max_pairs: int = 100_000,
    ) -> None:
        if warmup_windows < 1:
            raise ConfigError(f"warmup_windows must be at least 1, got {warmup_windows}")
        if not 0.0 < half_probability < 0.5:
            raise ConfigError(
                f"half_probability must be in (0, 0.5), got {half_probability}; "
                "it is the probability at which a window scores 0.5 (default 0.03)"
            )
        if max_templates < 1:
            raise ConfigError(f"max_templates must be at least 1, got {max_templates}")
        if max_pairs < 0:
            raise ConfigError(f"max_pairs must be 0 or more, got {max_pairs}")
        if horizon < warmup_windows:
            raise ConfigError(f"horizon ({horizon}) must be at least warmup_windows")
        self.warmup_windows = warmup_windows
        self.half_probability = half_probability
        if error_half_probability is not None and not 0.0 < error_half_probability < 0.5:
            raise ConfigError(
                f"error_half_probability must be in (0, 0.5), got {error_half_probability}"
            )
        # Templates with an error-level line in the window (Window.error_templates)
        # may use a laxer scale: a rare error is worth an alert sooner than a rare
        # info line. None: the same scale for all.
        self.error_half_probability = error_half_probability
        self.max_templates = max_templates
        self.horizon = horizon
        self.max_pairs = max_pairs
        self.windows_ = 0.0  # learned windows (halved with the counts)
        self.present_: dict[int, float] = {}  # template -> windows that held it
        self.total_: dict[int, float] = {}  # template -> its summed count
        # (a, b), a < b -> windows that held both, for pairs of uncommon templates
        self.pairs_: dict[tuple[int, int], float] = {}
        self.learned_ = 0  # windows learned, ever (for ready)
        self._since_halving = 0
        self._usual: list[int] | None = None  # cache: templates rarely absent

    @property
    def ready(self) -> bool:
        return self.learned_ >= self.warmup_windows

    @property
    def r_half(self) -> float:
        return -math.log(self.half_probability)

    def learn(self, windows: Sequence[Window]) -> None:
        present, total = self.present_, self.total_
        for window in windows:
            self.windows_ += 1.0
            self.learned_ += 1
            if self.max_pairs:
                self._learn_pairs(window)
            for template, count in window.counts:
                present[template] = present.get(template, 0.0) + 1.0
                total[template] = total.get(template, 0.0) + count
            self._since_halving += 1
            if self._since_halving >= self.horizon:
                self._halve()
        if len(present) > self.max_templates:
            self._forget(len(present) - self.max_templates)
        if len(self.pairs_) > self.max_pairs:
            excess = len(self.pairs_) - self.max_pairs
            for pair, _ in heapq.nsmallest(excess, self.pairs_.items(), key=lambda kv: kv[1]):
                del self.pairs_[pair]
        self._usual = None

    def _uncommon(self, window: Window) -> list[int]:
        """The window's templates held by at most half the learned windows, most
        common first (at most ``_MAX_CHAIN`` of the rarest)."""
        half = (self.windows_ + 2 * _PRIOR) / 2
        found = [
            (self.present_.get(t, 0.0), t)
            for t, _ in window.counts
            if self.present_.get(t, 0.0) + _PRIOR <= half
        ]
        found.sort(key=lambda ct: (-ct[0], ct[1]))
        return [t for _, t in found[-_MAX_CHAIN:]]

    def _learn_pairs(self, window: Window) -> None:
        uncommon = self._uncommon(window)
        pairs = self.pairs_
        for i, a in enumerate(uncommon):
            for b in uncommon[i + 1 :]:
                key = (a, b) if a < b else (b, a)
                pairs[key] = pairs.get(key, 0.0) + 1.0

    def _halve(self) -> None:
        self.windows_ /= 2.0
        self.present_ = {t: c / 2.0 for t, c in self.present_.items()}
        self.total_ = {t: c / 2.0 for t, c in self.total_.items()}
        self.pairs_ = {k: c / 2.0 for k, c in self.pairs_.items()}
        self._since_halving = 0

    def _forget(self, excess: int) -> None:
        rarest = heapq.nsmallest(excess, self.present_.items(), key=lambda kv: (kv[1], kv[0]))
        for template, _ in rarest:
            del self.present_[template]
            self.total_.pop(template, None)
        if rarest:
            gone = {t for t, _ in rarest}
            self.pairs_ = {k: c for k, c in self.pairs_.items() if gone.isdisjoint(k)}

    def _usual_templates(self) -> list[int]:
        # Only a template present in more than 1 - half_probability of windows can
        # be surprising by its absence at score >= 0.5; checking only those keeps
        # scoring O(window) instead of O(vocabulary). Templates a bit less usual
        # are included down to 1 - 0.5 so lower thresholds see them too.
        if self._usual is None:
            n = self.windows_ + 2 * _PRIOR
            self._usual = [t for t, c in self.present_.items() if (c + _PRIOR) / n > 0.5]
        return self._usual

    def surprises(self, window: Window, limit: int = 5) -> list[Surprise]:
        """The ``limit`` most improbable facts about ``window``, rarest first."""
        n = self.windows_ + 2 * _PRIOR
        denominator = max(self.windows_, 1.0)
        out: list[Surprise] = []
        counts = window.count_map()
        explained = self._explained(window) if self.max_pairs else {}
        for template, count in counts.items():
            seen = self.present_.get(template)
            p = ((seen or 0.0) + _PRIOR) / n
            given = None
            if template in explained:
                conditional, given = explained[template]
                if conditional <= p:
                    given = None
                else:
                    p = conditional
            expected = self.total_.get(template, 0.0) / denominator
            out.append(Surprise(template, True, count, expected, p, seen is None, given))
        for template in self._usual_templates():
            if template not in counts:
                p = 1.0 - (self.present_[template] + _PRIOR) / n
                expected = self.total_[template] / denominator
                out.append(Surprise(template, False, 0, expected, p, False))
        return heapq.nsmallest(limit, out, key=lambda s: (s.probability, s.template_id))

    def _explained(self, window: Window) -> dict[int, tuple[float, int]]:
        """For each uncommon template after the first: the highest probability of it
        given a more common uncommon template of the window, and that template."""
        uncommon = self._uncommon(window)
        out: dict[int, tuple[float, int]] = {}
        pairs, present = self.pairs_, self.present_
        for i in range(1, len(uncommon)):
            b = uncommon[i]
            if b not in present:
                continue  # never seen: nothing explains a new template
            best, by = 0.0, uncommon[0]
            for a in uncommon[:i]:
                both = pairs.get((a, b) if a < b else (b, a), 0.0)
                p = (both + _PRIOR) / (present.get(a, 0.0) + 2 * _PRIOR)
                if p > best:
                    best, by = p, a
            out[b] = (best, by)
        return out

    def rarity(self, window: Window) -> float:
        """``-ln`` of the probability of the window's rarest fact (0 for nothing rare)."""
        rarest = self.surprises(window, limit=1)
        return rarest[0].rarity if rarest else 0.0

    def _strength(self, s: Surprise, errors: frozenset[int]) -> float:
        """A fact's score: ``r / (r + r_half)``, on the error scale for a template
        present with error-level lines."""
        r_half = self.r_half
        if self.error_half_probability is not None and s.present and s.template_id in errors:
            r_half = -math.log(self.error_half_probability)
        r = s.rarity
        return r / (r + r_half)

    def deviations(self, window: Window, limit: int = 5) -> list[Deviation]:
        """The window's rarest facts as explanation records (see :mod:`.explain`)."""
        errors = frozenset(window.error_templates)
        out = []
        for s in self.surprises(window, limit):
            kind: Kind = "new" if s.new else ("rare" if s.present else "missing")
            strength = self._strength(s, errors)
            out.append(Deviation(s.template_id, kind, s.observed, s.expected, self.name, strength))
        return out

    def score(self, windows: Sequence[Window]) -> list[float]:
        if not self.ready:
            raise MonitorStateError("score() before the warm-up ended; check .ready first")
        scores = []
        for window in windows:
            if self.error_half_probability is None or not window.error_templates:
                r = self.rarity(window)
                scores.append(r / (r + self.r_half))
                continue
            errors = frozenset(window.error_templates)
            facts = self.surprises(window, limit=1 << 30)  # every fact: scales differ
            scores.append(max((self._strength(s, errors) for s in facts), default=0.0))
        return scores

    # -- state ---------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The learned baseline as plain JSON-able data (``from_state`` restores it)."""
        return {
            "kind": self.name,
            "version": _STATE_VERSION,
            "params": {
                "warmup_windows": self.warmup_windows,
                "half_probability": self.half_probability,
                "error_half_probability": self.error_half_probability,
                "max_templates": self.max_templates,
                "horizon": self.horizon,
            },
            "windows": self.windows_,
            "learned": self.learned_,
            "since_halving": self._since_halving,
            "templates": [
                [t, self.present_[t], self.total_.get(t, 0.0)] for t in sorted(self.present_)
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NoveltyDetector:
        """Rebuild a detector saved by :meth:`to_state`."""
        _check_state(state, cls.name, _STATE_VERSION)
        try:
            detector = cls(**state["params"])
            detector.windows_ = float(state["windows"])
            detector.learned_ = int(state["learned"])
            detector._since_halving = int(state["since_halving"])
            for template, present, total in state["templates"]:
                detector.present_[int(template)] = float(present)
                detector.total_[int(template)] = float(total)
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"saved {cls.name} state is malformed ({exc!r})") from None
        return detector


def _check_state(state: dict[str, Any], kind: str, version: int) -> None:
    if not isinstance(state, dict) or state.get("kind") != kind:
        found = state.get("kind") if isinstance(state, dict) else type(state).__name__
        raise StateError(f"saved detector state is for {found!r}, not {kind!r}")
    if state.get("version") != version:
        raise StateError(
            f"saved {kind} state has version {state.get('version')!r}; this LogMonitor "
            f"reads version {version}: delete the state file to relearn"
        )

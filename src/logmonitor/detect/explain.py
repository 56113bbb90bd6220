"""Why a window was scored as it was: the evidence every alert carries.

An :class:`Explanation` names the detectors that fired (their score reached the
threshold) with every detector's score, the templates whose counts deviate most
from the learned baseline (observed against expected, strongest first), the
templates seen for the first time, and up to five sample lines with their file
and line number, lines of the deviating templates first. It is frozen and turns
into a plain dict for JSON (:meth:`Explanation.to_dict`), with a one-line
:meth:`Explanation.reason` for consoles.

Detectors that can say why implement ``deviations(window, limit)`` returning
:class:`Deviation` records; :func:`explain` merges them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ..records import Sample, Window

__all__ = ["Deviation", "Explanation", "Kind", "explain"]

Kind = Literal["new", "rare", "missing", "spike", "dip", "silent", "rising", "falling"]
_KIND_ORDER: tuple[Kind, ...] = (
    "new", "spike", "rising", "rare", "silent", "missing", "dip", "falling",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Deviation:
    """One template (or, with ``template_id`` None, a source's whole line count)
    that differs from its baseline, as one detector saw it."""

    template_id: int | None
    kind: Kind
    observed: float
    expected: float
    detector: str
    strength: float  # this fact alone, on the detector's [0, 1] score scale
    template: str | None = None

    def describe(self) -> str:
        what = f"template {self.template_id}" if self.template_id is not None else "all lines"
        if self.template:
            what += f" {self.template!r}"
        return f"{self.kind} {what}: {self.observed:g} seen, {self.expected:.3g} expected"

    def to_dict(self) -> dict[str, object]:
        return {
            "template_id": self.template_id,
            "template": self.template,
            "kind": self.kind,
            "observed": self.observed,
            "expected": round(self.expected, 6),
            "detector": self.detector,
            "strength": round(self.strength, 6),
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """The evidence for one window's verdict; see the module docstring."""

    score: float
    threshold: float
    scores: tuple[tuple[str, float], ...]  # detector -> score, in ensemble order
    fired: tuple[str, ...]  # detectors whose score reached the threshold
    deviations: tuple[Deviation, ...]  # strongest first
    new_templates: tuple[int, ...]
    samples: tuple[Sample, ...]

    @property
    def template_ids(self) -> tuple[int, ...]:
        """The deviating templates, strongest first, each once."""
        seen: dict[int, None] = {}
        for deviation in self.deviations:
            if deviation.template_id is not None:
                seen.setdefault(deviation.template_id, None)
        return tuple(seen)

    def reason(self) -> str:
        """One line for a console: who fired and the strongest deviation."""
        fired = ", ".join(self.fired) or "no detector"
        head = f"{fired} (score {self.score:.2f} vs threshold {self.threshold:.2f})"
        if self.deviations:
            head += f": {self.deviations[0].describe()}"
        if len(self.deviations) > 1:
            head += f" (+{len(self.deviations) - 1} more)"
        return head

    def to_dict(self) -> dict[str, object]:
        return {
            "score": round(self.score, 6),
            "threshold": self.threshold,
            "reason": self.reason(),
            "scores": {name: round(score, 6) for name, score in self.scores},
            "fired": list(self.fired),
            "deviations": [d.to_dict() for d in self.deviations],
            "new_templates": list(self.new_templates),
            "samples": [
                {
                    "path": s.path,
                    "line_number": s.line_number,
                    "text": s.text,
                    "template_id": s.template_id,
                }
                for s in self.samples
            ],
        }


def explain(
    window: Window,
    score: float,
    threshold: float,
    scores: Mapping[str, float],
    deviations: Sequence[Deviation],
    template_text: Callable[[int], str | None] | None = None,
    max_deviations: int = 5,
    max_samples: int = 5,
) -> Explanation:
    """Assemble the explanation of ``window`` from its scores and the detectors'
    deviations (the strongest ``max_deviations`` kept, one per template and kind).

    ``template_text`` maps an id to its current text (``TemplateMiner.template``),
    so an explanation names the template, not only its number.
    """
    # Equal strength: what appeared before what vanished, as an operator reads it.
    ranked = sorted(
        deviations,
        key=lambda d: (-round(d.strength, 3), _KIND_ORDER.index(d.kind), d.template_id or -1),
    )
    kept: list[Deviation] = []
    seen: set[tuple[int | None, str]] = set()
    for deviation in ranked:
        key = (deviation.template_id, deviation.kind)
        if key in seen:
            continue
        seen.add(key)
        if template_text is not None and deviation.template_id is not None:
            text = template_text(deviation.template_id)
            if text is not None and text != deviation.template:
                deviation = Deviation(
                    deviation.template_id, deviation.kind, deviation.observed,
                    deviation.expected, deviation.detector, deviation.strength, text,
                )  # fmt: skip
        kept.append(deviation)
        if len(kept) >= max_deviations:
            break
    order = {d.template_id: i for i, d in reversed(list(enumerate(kept)))}
    samples = sorted(
        window.samples, key=lambda s: (order.get(s.template_id, len(kept)), s.line_number)
    )[:max_samples]
    return Explanation(
        score=score,
        threshold=threshold,
        scores=tuple(scores.items()),
        fired=tuple(name for name, s in scores.items() if s >= threshold),
        deviations=tuple(kept),
        new_templates=window.new_templates,
        samples=tuple(samples),
    )

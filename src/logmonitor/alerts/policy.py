"""Turn scored windows into alerts.

A window whose score is at or above ``threshold`` becomes an :class:`Alert` that
names its source, its score, the templates behind it (first seen in the window
first, then by count) and up to five sample lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..records import Alert, Score

__all__ = ["AlertPolicy"]


class AlertPolicy:
    """Threshold scored windows into alerts.

    ``template_text`` looks a template id up (the miner's), for readable alerts.
    """

    def __init__(
        self,
        threshold: float,
        template_text: Callable[[int], str | None],
        max_templates: int = 10,
    ) -> None:
        self.threshold = threshold
        self.template_text = template_text
        self.max_templates = max_templates

    def evaluate(self, scores: Sequence[Score], now: float) -> list[Alert]:
        alerts = []
        for scored in scores:
            if scored.score < self.threshold:
                continue
            window = scored.window
            ranked = list(dict.fromkeys([*window.new_templates, *(t for t, _ in window.counts)]))
            ids = tuple(ranked[: self.max_templates])
            alerts.append(
                Alert(
                    filename=window.source,
                    score=scored.score,
                    time=now,
                    threshold=self.threshold,
                    window_start=window.start,
                    window_end=window.end,
                    template_ids=ids,
                    templates=tuple(self.template_text(t) or f"<template {t}>" for t in ids),
                    sample_lines=window.samples,
                    detector=scored.detector,
                    lines=window.lines,
                    errors=window.errors,
                )
            )
        return alerts

"""Turn windows into fixed-length numeric vectors for the detectors.

Columns: ``log1p`` of the count of each of the ``max_templates`` templates seen in
the most training windows (the vocabulary, fixed at fit time), then four shape
features: ``log1p`` of the line count, the error-level ratio, ``log1p`` of the
number of templates first seen in the window, and ``log1p`` of the lines whose
template is outside the vocabulary. Log scaling keeps one chatty template from
drowning the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..records import Window

__all__ = [
    "SHAPE_FEATURES",
    "CountVectorizer",
    "window_from_state",
    "window_to_state",
]

SHAPE_FEATURES = ("lines", "error_ratio", "new_templates", "unknown_templates")


class CountVectorizer:
    """Template-count vectors over a vocabulary learned from training windows."""

    def __init__(self, max_templates: int = 256) -> None:
        self.max_templates = max_templates
        self.vocabulary_: dict[int, int] = {}

    def fit(self, windows: Sequence[Window]) -> CountVectorizer:
        frequency: Counter[int] = Counter()
        for window in windows:
            frequency.update(template for template, _ in window.counts)
        top = sorted(frequency.items(), key=lambda kv: (-kv[1], kv[0]))[: self.max_templates]
        self.vocabulary_ = {template: column for column, (template, _) in enumerate(top)}
        return self

    @property
    def n_features(self) -> int:
        return len(self.vocabulary_) + len(SHAPE_FEATURES)

    def feature_names(self) -> list[str]:
        names = [""] * len(self.vocabulary_)
        for template, column in self.vocabulary_.items():
            names[column] = f"template:{template}"
        return names + list(SHAPE_FEATURES)

    def transform(self, windows: Sequence[Window]) -> npt.NDArray[np.float64]:
        vocabulary = self.vocabulary_
        width = len(vocabulary)
        matrix = np.zeros((len(windows), width + len(SHAPE_FEATURES)), dtype=np.float64)
        for row, window in enumerate(windows):
            unknown = 0
            for template, count in window.counts:
                column = vocabulary.get(template)
                if column is None:
                    unknown += count
                else:
                    matrix[row, column] = count
            matrix[row, width] = window.lines
            matrix[row, width + 1] = window.errors / window.lines if window.lines else 0.0
            matrix[row, width + 2] = len(window.new_templates)
            matrix[row, width + 3] = unknown
        np.log1p(matrix[:, :width], out=matrix[:, :width])
        for column in (width, width + 2, width + 3):
            np.log1p(matrix[:, column], out=matrix[:, column])
        return matrix


def window_to_state(window: Window) -> list[Any]:
    """A window as compact JSON-able data for saved learning state (samples are not
    kept: detectors learn from counts)."""
    return [
        window.source, window.start, window.end, [list(c) for c in window.counts],
        window.lines, window.errors, list(window.new_templates),
    ]  # fmt: skip


def window_from_state(data: Sequence[Any]) -> Window:
    """The inverse of :func:`window_to_state`."""
    source, start, end, counts, lines, errors, new = data
    return Window(
        str(source), float(start), float(end),
        tuple((int(t), int(c)) for t, c in counts), int(lines), int(errors),
        tuple(int(t) for t in new),
    )  # fmt: skip

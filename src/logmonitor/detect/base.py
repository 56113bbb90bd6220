"""The interface every detector implements: learn from windows, score windows.

Scores follow one convention everywhere: a float in [0, 1], higher is more
anomalous ("a high score is indicative of an anomaly", as in river).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..records import Window

__all__ = ["Detector"]


class Detector(Protocol):
    """Learns what normal windows look like and scores new ones in [0, 1]."""

    name: str

    @property
    def ready(self) -> bool:
        """Whether :meth:`score` can be called (the warm-up is over)."""
        ...

    def learn(self, windows: Sequence[Window]) -> None:
        """Take these windows as normal."""
        ...

    def score(self, windows: Sequence[Window]) -> list[float]:
        """One score per window, in [0, 1]; only when :attr:`ready`."""
        ...

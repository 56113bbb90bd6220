"""What every source hands to the pipeline: chunks of lines with a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

from ..records import LogLine
from .checkpoint import Checkpoint

__all__ = ["Chunk", "SourceStats"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """Lines read from one file in one go, and where to resume after them.

    The pipeline commits ``checkpoint`` to the store in the same transaction as
    the results of processing ``lines``.
    """

    source: str
    lines: tuple[LogLine, ...]
    checkpoint: Checkpoint
    bytes_read: int


@dataclass(slots=True)
class SourceStats:
    """Counters of one source (a stream known by its first path), for status screens."""

    source: str
    path: str
    offset: int = 0
    size: int = 0
    lines: int = 0
    truncated_lines: int = 0
    rotations: int = 0
    truncations: int = 0
    errors: int = 0
    last_error: str | None = None

"""Variable tokens replaced before template mining, so ``took 12 ms`` and
``took 13 ms`` are one pattern. Ordered: the first mask that matches a span wins."""

from __future__ import annotations

__all__ = ["DEFAULT_MASKS"]

# (regex, mask name). Anchored on non-word boundaries so words that contain
# digits (``ipv6``, ``utf8``) stay words.
DEFAULT_MASKS: tuple[tuple[str, str], ...] = (
    (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "UUID"),
    (r"blk_-?\d+", "BLK"),
    (r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])", "IP"),
    (r"(?<![\w:])(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}(?![\w:])", "MAC"),
    (r"(?<!\w)0x[0-9a-fA-F]+(?!\w)", "HEX"),
    (r"(?<![\w/])(?:/[\w.@+-]+){2,}/?", "PATH"),
    (r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:ms|us|ns|s|m|h|KB|MB|GB|kB|B)?(?![\w.])", "NUM"),
    (r"(?<![\w.])[0-9a-fA-F]{16,}(?![\w.])", "ID"),
)

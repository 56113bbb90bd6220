"""What the parser's and the miner's shape caches share.

Both key a cache by a text with its digits folded, so that lines differing only in
their numbers share one entry, and both keep two generations of entries.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DIGIT_FOLD", "rotate"]

DIGIT_FOLD = bytes.maketrans(b"123456789", b"000000000")
"""``bytes.translate`` table folding every ASCII digit to ``0``:
``text.encode().translate(DIGIT_FOLD)`` is the same for two texts that differ only
in their digits, and keeps every offset. (Bytes, because ``bytes.translate`` is a
plain table lookup and several times faster than ``str.translate``.)"""


def rotate(young: dict[Any, Any], old: dict[Any, Any]) -> None:
    """Age a two-generation cache: the young entries become the old ones and the
    previous old ones are dropped. In place, because the callers hold ``young.get``
    for a whole batch."""
    old.clear()
    old.update(young)
    young.clear()

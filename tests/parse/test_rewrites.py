"""Rewritten-for-speed pieces of the parser give what the originals gave."""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from logmonitor.parse import formats
from logmonitor.parse.timestamps import parse_numeric

# The context pattern as first written: one character, or one nested bracket, a time.
ORIGINAL_CONTEXT = re.compile(r"^\[(?:[^\[\]]|\[[^\[\]]*\])*\]\s*(?:-\s+)?")


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="[]- a\t\n-", max_size=30))
def test_the_unrolled_context_pattern_matches_as_the_original(text: str) -> None:
    old, new = ORIGINAL_CONTEXT.match(text), formats._CONTEXT.match(text)
    assert (old and old.span()) == (new and new.span())


def test_the_context_pattern_stays_linear_without_a_closing_bracket() -> None:
    start = time.perf_counter()
    formats._CONTEXT.match("[" + "a [b] " * 20_000)
    assert time.perf_counter() - start < 1.0  # a hang guard, not a speed assertion


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_the_hdfs_clock_is_cut_as_before(clock: str) -> None:
    now = 1_700_000_000.0
    before = parse_numeric("081109", ":".join(re.findall("..", clock)), "yymmdd", now)
    assert formats._hdfs_stamp("081109", clock, now) == before

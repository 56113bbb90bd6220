"""The records: the fast constructors build the same objects as the classes."""

from __future__ import annotations

import doctest
from dataclasses import FrozenInstanceError, dataclass

import pytest

from logmonitor import records
from logmonitor.records import LogLine, Match, Record, Sample, slot_constructor


def test_doctests() -> None:
    failed, tried = doctest.testmod(records)
    assert tried > 0
    assert failed == 0


def test_fast_records_equal_and_stay_frozen() -> None:
    line = LogLine("s", "/var/log/a.log", "text", 0, 5, 1, 0.5)
    fast = slot_constructor(Record)(line, "msg", 1.0, "error", "app", "ValueError", "iso")
    assert fast == Record(line, "msg", 1.0, "error", "app", "ValueError", "iso")
    assert fast.is_error
    with pytest.raises(FrozenInstanceError):
        fast.message = "changed"  # type: ignore[misc]
    assert slot_constructor(Match)(1, "a <*>", "created", ("x",)) == Match(
        1, "a <*>", "created", ("x",)
    )
    assert slot_constructor(Sample)("p", 1, "t", 2) == Sample("p", 1, "t", 2)


def test_a_class_with_post_init_keeps_its_own_constructor() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    assert slot_constructor(Checked) is Checked

"""The miner's hex tier (miner._hex_plan, miner._hex_entry): a message whose fast key
with hex letters folded is another's, and which passes the entry's checks, splits into
values at the same places and gets what the shape path would give it."""

from __future__ import annotations

import random
import re
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmonitor.patterns import miner as miner_module
from logmonitor.patterns.masking import VARIABLE
from logmonitor.patterns.miner import TemplateMiner, _hex_entry, _hex_plan
from logmonitor.records import LogLine, Match, Record
from logmonitor.shapes import DIGIT_FOLD

from .test_miner_caches import uncached

HEX = "0123456789abcdefABCDEF"
HEX_FOLD = bytes.maketrans(b"abcdefABCDEF", b"000000000000")

# Pieces a message is made of: hex runs of every length, numbers with separators,
# 0x values, words with and without hex letters, and the characters around values
# that VARIABLE's lookarounds look at.
_PIECES = st.one_of(
    st.text(alphabet=HEX, min_size=1, max_size=40),
    st.from_regex(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", fullmatch=True),
    st.from_regex(r"-?[0-9]{1,6}([.:,/][0-9]{1,4}){0,3}", fullmatch=True),
    st.from_regex(r"[0-9][xX][0-9a-fA-F]{1,10}", fullmatch=True),
    st.sampled_from(["bad", "fed", "cafe", "deadbeef", "failed", "block", "req", "ssh2", "x"]),
    st.text(alphabet="-./:,_=[]() \"'xXgzG", min_size=1, max_size=3),
)
_MESSAGES = st.lists(_PIECES, min_size=1, max_size=12).map("".join)


_TEMPLATE: Any = SimpleNamespace(id=1, text="t", version=0)  # the checks are what is tested


def _mutate(message: str, rng: random.Random, rate: float) -> str:
    """``message`` with some of its hex characters replaced by others: the same fast
    key with hex letters folded."""
    return "".join(rng.choice(HEX) if c in HEX and rng.random() < rate else c for c in message)


def _spans(message: str) -> list[tuple[int, int]]:
    return [m.span(1) for m in VARIABLE.finditer(message)]


def _passes(entry: tuple[Any, ...], message: str) -> bool:
    key = message.encode().translate(DIGIT_FOLD)
    texts_at, texts, values_at, values = entry[4:8]
    return (texts_at is None or texts_at(message) == texts) and (
        values_at is None or values_at(key) == values
    )


@settings(max_examples=400, deadline=None)
@given(_MESSAGES, st.integers(0, 2**32), st.sampled_from([0.1, 0.5, 1.0]))
def test_a_message_that_passes_the_checks_splits_alike(
    original: str, seed: int, rate: float
) -> None:
    parts = VARIABLE.split(original)
    plan = _hex_plan(original, parts)
    if plan is None:
        return
    key = original.encode().translate(DIGIT_FOLD)
    entry = _hex_entry(_TEMPLATE, original, key, parts, (), plan, 0)
    rng = random.Random(seed)
    for _ in range(20):
        other = _mutate(original, rng, rate)
        assert other.encode().translate(DIGIT_FOLD).translate(HEX_FOLD) == key.translate(HEX_FOLD)
        if _passes(entry, other):
            assert _spans(other) == _spans(original), (original, other)
            assert VARIABLE.split(other)[::2] == parts[::2], (original, other)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("status: 200 for deadbeef", "status: abc for deadbeef"),  # a number turns hex
        ("id 0x1f done", "id ax1f done"),  # no longer 0x: its first character
        ("took 12ab3 ms", "took abcde ms"),  # 5 hex characters need a digit
        ("run 12345678ms now", "run 1234abcdms now"),  # glued to a word: not free
        ("v-12 up", "v-ab up"),  # the minus sign reads on into the value
        ("the bad one 0a1b2c3d4e", "the fed one 0a1b2c3d4e"),  # text around: compared
    ],
)
def test_lookalikes_are_not_served(first: str, second: str) -> None:
    key = first.encode().translate(DIGIT_FOLD).translate(HEX_FOLD)
    assert second.encode().translate(DIGIT_FOLD).translate(HEX_FOLD) == key
    parts = VARIABLE.split(first)
    plan = _hex_plan(first, parts)
    if plan is None:
        return  # the tier never holds this shape
    entry = _hex_entry(_TEMPLATE, first, first.encode().translate(DIGIT_FOLD), parts, (), plan, 0)
    assert not _passes(entry, second)


def _record(text: str, n: int) -> Record:
    return Record(LogLine("s", "s", text, 0, 0, n, 0.0), message=text)


def _view(matches: list[Match]) -> list[tuple[object, ...]]:
    return [(m.template_id, m.template, m.change, m.params) for m in matches]


class _CountingSplit:
    def __init__(self) -> None:
        self.calls = 0

    def split(self, message: str) -> list[str]:
        self.calls += 1
        return VARIABLE.split(message)


def test_the_tier_serves_and_agrees_with_the_shape_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines of volatile shapes (request ids, hashes, 0x addresses), their hex
    characters redrawn, some redrawn into lookalikes: the miner with the tier gives
    what a miner without caches gives, and splits far fewer messages."""
    rng = random.Random(7)
    shapes = [
        "[req-{u} {h} {h} - - -] 10.11.10.1 GET /v2/{h}/servers/detail status: 200",
        "Deleting block {h} file /data/{h}.tmp at 0x{x}",
        "commit {h} by bad user fed in 12 ms",
        "dev=0x{x} vis={h} mask=ffffffff diff={h}",
    ]

    def draw(n: int) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    texts = []
    for _ in range(3000):
        shape = rng.choice(shapes)
        uuid = "-".join(draw(k) for k in (8, 4, 4, 4, 12))
        text = shape.format(u=uuid, h=draw(32), x=draw(6))
        if rng.random() < 0.2:
            text = _mutate(text, rng, 0.3)  # lookalikes: words and numbers too
        texts.append(text)
    records = [_record(t, n) for n, t in enumerate(texts, 1)]
    counted = _CountingSplit()
    monkeypatch.setattr(miner_module, "VARIABLE", counted)
    cached = TemplateMiner()
    served = []
    for n in range(0, len(records), 500):
        served += cached.add_batch(records[n : n + 500])
    with_tier = counted.calls
    plain = uncached()
    expected = []
    for n in range(0, len(records), 500):
        expected += plain.add_batch(records[n : n + 500])
    assert _view(served) == _view(expected)
    assert cached.to_snapshot() == plain.to_snapshot()
    assert with_tier < len(records) / 2
    assert counted.calls - with_tier >= len(records)  # the uncached one splits every line


def test_non_ascii_messages_stay_off_the_tier() -> None:
    miner = TemplateMiner()
    lines = [f"réf {n:08x}{n:08x} ok" for n in range(50)]
    miner.add_batch([_record(t, n) for n, t in enumerate(lines, 1)])
    assert not miner._hex
    assert not miner._hex_old
    assert re.fullmatch(r"réf <\*> ok", miner.template(1) or "")

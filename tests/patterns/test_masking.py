"""Masking for TemplateMiner: what is a value, units, param places; and the doctests of
the pattern modules."""

from __future__ import annotations

import ast
import doctest
import random
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmonitor.parse import formats, timestamps
from logmonitor.patterns import drain3, masking, miner, snapshot
from logmonitor.patterns.masking import (
    DIGIT_FOLD,
    VARIABLE,
    VARIABLE_REFERENCE,
    WILDCARD,
    affix,
    mask,
    param_places,
    read,
    split_units,
)


def _source_doctests(module: ModuleType, source: Path) -> tuple[int, int]:
    """(failed, tried) of the examples in ``source``'s docstrings, each run in a copy
    of ``module``'s namespace."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, kinds) and (text := ast.get_docstring(node)) and ">>>" in text:
            line = getattr(node, "lineno", 0)
            test = parser.get_doctest(text, dict(vars(module)), module.__name__, str(source), line)
            runner.run(test)
    failed, tried = runner.summarize(verbose=False)
    return failed, tried


@pytest.mark.parametrize("module", [drain3, masking, miner, snapshot, formats, timestamps])
def test_doctests(module: ModuleType) -> None:
    path = Path(str(module.__file__))
    if path.suffix == ".py":
        failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    else:  # compiled (logmonitor.compiled): doctest finds no docstrings there, so
        # they are read from the source and run against the compiled module
        source = path.with_name(module.__name__.rsplit(".", 1)[-1] + ".py")
        failed, tried = _source_doctests(module, source)
    assert tried > 0
    assert failed == 0


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("took 12 ms", "took <*> ms"),
        ("offset -42 read", "offset <*> read"),
        ("conn 10.0.0.1:8080, 192.168.1.2", "conn <*>, <*>"),
        ("lists 10.0.0.1,10.0.0.2 and 1/2/3", "lists <*> and <*>"),
        ("at 07:57:30 on 2005-07-01", "at <*> on <*>-<*>-<*>"),
        ("blk_-1608999687919862906 and node-12", "blk_<*> and node-<*>"),
        ("addr 0xdeadBEEF fault", "addr <*> fault"),
        ("id 123e4567-e89b-12d3-a456-426614174000 ok", "id <*> ok"),
        ("hex 0000000d 9b04807 ffffffff", "hex <*> <*> <*>"),
        # Names with digits glued to letters, and short hex-looking words, stay.
        ("ssh2 eth0 wl0: ipv6 utf8 c6b3 face", "ssh2 eth0 wl0: ipv6 utf8 c6b3 face"),
        ("deadbeef is hex, beef is not", "<*> is hex, beef is not"),
    ],
)
def test_what_is_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet="0123456789abcdefxX.-:,/ _ghz<>*", max_size=40), st.randoms())
def test_messages_that_differ_only_in_digits_split_alike(text: str, rng: random.Random) -> None:
    """The fast cache keys on the digit-folded message: it relies on this."""
    other = "".join(rng.choice("0123456789") if c.isdigit() else c for c in text)
    assert text.encode().translate(DIGIT_FOLD) == other.encode().translate(DIGIT_FOLD)
    a, b = VARIABLE.split(text), VARIABLE.split(other)
    assert [len(p) for p in a] == [len(p) for p in b]


# Every character class VARIABLE tells apart, and neighbours of each: digits, hex
# letters (both cases), x, the separators, '-', '_', other letters, a non-ASCII letter
# and digit (both word characters), spaces, a newline (which '.' does not match).
_VALUE_ALPHABET = "0123456789abcdefABCDEFxX.:,/-_ gGz\u00e9\u0663\n<*>"


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.text(alphabet=_VALUE_ALPHABET + "\t\u3000", max_size=60))
def test_masking_keeps_every_token_it_does_not_mask(text: str) -> None:
    """Masks replace text, never whitespace: the masked message has as many tokens
    as the message, and a token holding no value is left as it was."""
    tokens, masked = text.split(), mask(text).split()
    assert len(masked) == len(tokens)
    for before, after in zip(tokens, masked, strict=True):
        if VARIABLE.search(before) is None:
            assert after == before


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(st.text(alphabet=_VALUE_ALPHABET, max_size=48))
def test_variable_splits_as_its_reference(text: str) -> None:
    """VARIABLE is VARIABLE_REFERENCE rewritten to start with a character class."""
    assert VARIABLE.split(text) == VARIABLE_REFERENCE.split(text)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_variable_splits_any_text_as_its_reference(text: str) -> None:
    assert VARIABLE.split(text) == VARIABLE_REFERENCE.split(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "5",
        "-5",
        "--5 -a5 a-5 _5 \u00e95 \u06635 5\u00e9 5_",
        "12345.6 1234.5 12345678.5 -12345.6 0x1f 0xg 1x1 00x1 9b04807 9b0480 abcde abcd1",
        "123e4567-e89b-12d3-a456-426614174000 123e4567-e89b-12d3-a456-42661417400",
        "deadbeef-1 deadbeefg abcdefab-abcd-abcd-abcd-abcdefabcdef",
        "\n1\n-1 .1 1. 1..2 1.2.3.4:80/x 07:57:30 2005/07/01,2",
        "<*>1 1<*> x<*>0x1f",
    ],
)
def test_variable_splits_edge_cases_as_its_reference(text: str) -> None:
    assert VARIABLE.split(text) == VARIABLE_REFERENCE.split(text)


def test_variable_splits_loghub_as_its_reference(shared_data: Path) -> None:
    lines = 0
    for path in sorted((shared_data / "loghub-2k").glob("*/*_2k.log")):
        for text in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
            assert VARIABLE.split(text) == VARIABLE_REFERENCE.split(text), text
            lines += 1
    assert lines >= 16 * 2000


@pytest.mark.parametrize(
    ("text", "units", "gaps"),
    [
        (
            "connection at Fri Jul  1 07:57:30 2005 closed",
            ("connection", "at", "<*>", "closed"),
            (),
        ),
        ("Jul is a month", ("Jul", "is", "a", "month"), ()),
        ("size 850.0 B, free 12 KB", ("size", "<*>,", "free", "<*>"), ()),
        ("lifetime <1 sec", ("lifetime", "<*>"), ()),
        ("name an14 an15 an16 an17 end", ("name", "<*>", "end"), ()),
        ("name an14 an15 end", ("name", "an14", "an15", "end"), ()),
        ("delete 1 2 3 4", ("delete", "<*>"), ()),
        ("sent 10 bytes (1.2 KB) ok", ("sent", "<*>", "bytes", "ok"), ((3, 3, 5),)),
        ("from [10.0.0.1] (7) now", ("from", "now"), ((1, 1, 3),)),
    ],
)
def test_units(text: str, units: tuple[str, ...], gaps: tuple[tuple[int, int, int], ...]) -> None:
    cut = split_units(mask(text))
    assert cut.texts == units
    assert cut.gaps == gaps
    # Spans and gaps cover every token once, in order.
    covered = sorted([*cut.spans, *((s, e) for _, s, e in cut.gaps)])
    assert [t for s, e in covered for t in range(s, e)] == list(range(len(text.split())))


def test_param_places_read_params_out_of_any_message_of_the_shape() -> None:
    first = "rhost=10.0.0.1 user=root sent 10 bytes (1.2 KB) at Fri Jul  1 07:57:30 2005"
    parts = VARIABLE.split(first)
    units = split_units(WILDCARD.join(parts[::2]))
    assert units.texts == ("rhost=<*>", "user=root", "sent", "<*>", "bytes", "at", "<*>")
    variable = [False] * len(units.texts)
    variable[1] = True  # "user=root": a wildcard position keeping "user="
    gaps = {before for before, _, _ in units.gaps}
    places, checks, plain = param_places(units, parts, variable, {1: ("user=", "")}, gaps)
    assert not plain
    assert checks == ()
    # Another message of the same shape (same masked text), values of other lengths.
    second = (
        "rhost=192.168.100.200 user=root sent 123456 bytes (120.5 KB) at Fri Jul  3 01:02:03 2011"
    )
    parts = VARIABLE.split(second)
    assert WILDCARD.join(parts[::2]) == WILDCARD.join(VARIABLE.split(first)[::2])
    assert [read(parts, p) for p in places] == [
        "192.168.100.200",
        "root",
        "123456",
        "(120.5 KB)",
        "Fri Jul  3 01:02:03 2011",
    ]


def test_affix_keeps_text_up_to_punctuation() -> None:
    assert affix(["user=alice", "user=bob"]) == ("user=", "")
    assert affix(["com.apple.a.b:", "com.apple.c:"]) == ("com.apple.", ":")
    assert affix(["alpha", "alps"]) == ("", "")  # no punctuation: nothing kept
    assert affix(["<*>", "<<*>"]) == ("", "")  # "<" of a wildcard is not text

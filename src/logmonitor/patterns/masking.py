"""Masking: the variable parts of a message, found before template mining.

Two layers, both cheap enough for the per-line budget:

* :data:`VARIABLE`, one regular expression run over every message the miner has not
  seen in this shape: numbers (with ``.``, ``:``, ``,`` or ``/`` between digit runs,
  so IPv4 addresses with ports, times, dates and version numbers are one value), a
  leading minus sign, ``0x`` hex, UUIDs, and hex words (8+ hex letters, or 5+ with a
  digit). Digits glued to a letter on their left (``ssh2``, ``eth0``, ``wl0``) are
  not masked: they are part of names far more often than values, and the miner
  still turns such a position into a wildcard when it sees it vary. Masks only replace
  text, never whitespace, so the masked message splits into as many tokens as the
  message.
* :func:`split_units`, run on the masked message only when the miner meets a new
  shape: it groups tokens into *units*, the positions the miner compares. A date
  written with words (``Fri Jul  1 07:57:30 2005``) and a quantity with its unit
  (``12.8 KB``, ``<1 sec``) become one wildcard; a run of three or more tokens of one
  shape (``an14 an15 an16``) and adjacent wildcards collapse into one wildcard, so a
  list of any length gives one template; and a bracketed wildcard such as
  ``(12.8 KB)`` or ``[10.0.0.1]`` is set aside as an optional *gap*, so a message
  with or without it gives the same template.

``DEFAULT_MASKS`` is the named mask list :class:`~logmonitor.patterns.miner.Drain3Miner`
hands to Drain3.

>>> masked = mask("took 12 ms on 10.0.0.1:8080, id 0x1f")
>>> masked
'took <*> ms on <*>, id <*>'
>>> split_units(mask("Fri Jul  1 07:57:30 2005 sent 1190 bytes (1.16 KB)")).texts
('<*>', 'sent', '<*>', 'bytes')
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from ..shapes import DIGIT_FOLD

__all__ = [
    "DEFAULT_MASKS",
    "DIGIT_FOLD",
    "VARIABLE",
    "WILDCARD",
    "Place",
    "Units",
    "affix",
    "fits",
    "looks_variable",
    "mask",
    "param_places",
    "read",
    "split_units",
]

WILDCARD = "<*>"

# (regex, mask name), for Drain3Miner. Ordered: the first mask that matches a span
# wins. Anchored on non-word boundaries so words that contain digits (``ipv6``,
# ``utf8``) stay words.
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

# VARIABLE.split(message) gives [text, value, text, value, ..., text]. No branch
# depends on *which* digit it sees (each class holds all ten), so two messages that
# differ only in their digits split alike: the miner keys its fastest cache on the
# message with its digits folded (DIGIT_FOLD), and compares separately the few
# digits this mask leaves in place (ssh2).
VARIABLE = re.compile(
    r"""
    (                                # one group, so VARIABLE.split keeps the values
        [-0-9a-fA-F]                 # the value's first character, c (see below)
        (?<![A-Za-z0-9].)            # c is not glued to a word on the left
        (?:
            (?<=[0-9a-fA-F])(?=[0-9a-fA-F]{4})(?:   # runs of 5+ hex characters:
                [0-9a-fA-F]{7}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}
              | [0-9a-fA-F]{7,}(?!\w)                                     # ffffffff
              | (?=[0-9a-fA-F]{4,}(?!\w))(?:(?<=[0-9])[0-9a-fA-F]*|[0-9a-fA-F]*[0-9][0-9a-fA-F]*)
            )                                                             # 9b04807
          | (?<=[0-9])[xX][0-9a-fA-F]+                                    # 0x1f
          | (?:(?<=-)[0-9]+|(?<=[0-9])[0-9]*)(?:[.:,/][0-9]+)*  # 42, -7, 1.5, 10.0.0.1:80
        )
    )
    """,
    re.VERBOSE,
)
"""What is a value, as this regular expression reads it at each position, from left
to right: a character ``c`` in ``[-0-9a-fA-F]`` that no ASCII letter or digit precedes,
then

* a run of five or more hex characters: a UUID; or eight or more, followed by no word
  character; or five or more with a digit, followed by no word character;
* or ``0x`` hex (``c`` a digit);
* or a number: ``-`` or a digit, digits, then ``.``, ``:``, ``,`` or ``/`` and digits
  any number of times (``07:57:30``, ``10.0.0.1:80``, ``2005/07/01``).

It is written to start by consuming ``c`` (the lookarounds after it look back at it)
because ``re`` can then skip, in C, every character that cannot start a value; it
splits exactly as :data:`VARIABLE_REFERENCE`, the same rules written from the value's
start, does (the tests compare the two on Loghub and generated text).
"""

VARIABLE_REFERENCE = re.compile(
    r"""
    (?=[-0-9a-fA-F])                 # (a speed-up only: lets re skip other characters)
    (?<![A-Za-z0-9])                 # not glued to a word on the left
    (                                # one group, so VARIABLE.split keeps the values
        (?=[0-9a-fA-F]{5})(?:        # runs of 5+ hex characters:
            [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}
          | [0-9a-fA-F]{8,}(?!\w)                                    # ffffffff
          | (?=[0-9a-fA-F]{5,}(?!\w))[0-9a-fA-F]*[0-9][0-9a-fA-F]*    # 9b04807
        )
      | [0-9][xX][0-9a-fA-F]+        # 0x1f
      | -?[0-9]+(?:[.:,/][0-9]+)*    # 42, -7, 1.5, 10.0.0.1:80, 07:57:30, 2005/07/01
    )
    """,
    re.VERBOSE,
)
"""The rules of :data:`VARIABLE` as first written, from the value's start: slower
(``re`` tries the whole pattern at every character), kept as the reference the tests
compare :data:`VARIABLE` with."""


_MONTHS = frozenset(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
)
_WEEKDAYS = frozenset(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
# Units that belong to the number before them: sizes, and "sec" (as in "<1 sec",
# where the number alone would be "<1"). Other units stay words: "took <*> ms" and
# "for <*> seconds" read better, and are how people write such templates.
_UNITS = "KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|kB|B|sec|secs"
_QUANTITY = re.compile(rf"(.*?)[<>~]?<\*>(?:{_UNITS})([^A-Za-z0-9]*)")
_QUANTITY_HEAD = re.compile(r"(.*?)[<>~]?<\*>")
_UNIT_TAIL = re.compile(rf"(?:{_UNITS})([^A-Za-z0-9]*)")
_BRACKETED = re.compile(r"[(\[{]<\*>[)\]}][,.;:]?")
_UNMASKED_DIGITS = re.compile(r"[0-9]+")
_RUN = 3  # tokens of one shape in a row that make a list


def mask(message: str) -> str:
    """``message`` with every :data:`VARIABLE` span replaced by ``<*>``."""
    return VARIABLE.sub(WILDCARD, message)


class Units(NamedTuple):
    """A masked message cut into the positions the miner compares.

    ``texts[j]`` is unit ``j`` (a masked token, or ``<*>`` for a merged date,
    quantity or list); ``spans[j]`` the half-open range of whitespace tokens of the
    message it covers. ``gaps`` are the bracketed wildcards set aside, each
    ``(before, start, end)``: it sat before unit ``before`` (``len(texts)`` for the
    end) and covered tokens ``start:end``.
    """

    texts: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    gaps: tuple[tuple[int, int, int], ...]


def _merged_end(tokens: list[str], i: int) -> tuple[str, int]:
    """The unit starting at token ``i``: its text and the token just after it."""
    n = len(tokens)
    token = tokens[i]
    # A date in words: [Weekday[,]] Month <day> [<time> [<year>]].
    month = i + 1 if token.rstrip(",") in _WEEKDAYS and i + 1 < n else i
    if tokens[month] in _MONTHS and month + 1 < n and tokens[month + 1].rstrip(",") == WILDCARD:
        end = month + 2
        while end < n and tokens[end] == WILDCARD:
            end += 1
        return WILDCARD, end
    # A list: three or more tokens of one digit-bearing shape (an14 an15 an16).
    shape = _UNMASKED_DIGITS.sub(WILDCARD, token)
    if shape != token:
        end = i + 1
        while end < n and _UNMASKED_DIGITS.sub(WILDCARD, tokens[end]) == shape:
            end += 1
        if end - i >= _RUN:
            return WILDCARD, end
    if WILDCARD in token:
        # A quantity: <*>KB in one token, or <*> and its unit in two.
        one = _QUANTITY.fullmatch(token)
        if one is not None:
            return one[1] + WILDCARD + one[2], i + 1
        head = _QUANTITY_HEAD.fullmatch(token)
        if head is not None and i + 1 < n:
            tail = _UNIT_TAIL.fullmatch(tokens[i + 1])
            if tail is not None:
                return head[1] + WILDCARD + tail[1], i + 2
    return token, i + 1


def split_units(masked: str) -> Units:
    """Cut a masked message (see :func:`mask`) into units, gaps set aside.

    >>> units = split_units("delete <*> <*> <*> now (<*>)")
    >>> units.texts, units.spans, units.gaps
    (('delete', '<*>', 'now'), ((0, 1), (1, 4), (4, 5)), ((3, 5, 6),))
    """
    tokens = masked.split()
    texts: list[str] = []
    spans: list[tuple[int, int]] = []
    gaps: list[tuple[int, int, int]] = []
    i = 0
    while i < len(tokens):
        text, end = _merged_end(tokens, i)
        if _BRACKETED.fullmatch(text):
            if gaps and gaps[-1][0] == len(texts) and gaps[-1][2] == i:
                gaps[-1] = (len(texts), gaps[-1][1], end)  # extend the gap just before
            else:
                gaps.append((len(texts), i, end))
        elif text == WILDCARD and texts and texts[-1] == WILDCARD:
            # Adjacent wildcards are one value; a gap between them joins it too.
            if gaps and gaps[-1][0] == len(texts):
                gaps.pop()
            spans[-1] = (spans[-1][0], end)
        else:
            texts.append(text)
            spans.append((i, end))
        i = end
    return Units(tuple(texts), tuple(spans), tuple(gaps))


Place = tuple[int, int, int, int]
"""Where a param sits in ``VARIABLE.split(message)``: ``(part, offset, part, offset)``,
from ``offset`` characters into the first part to ``offset`` into the second."""

_TOKEN = re.compile(r"\S+")
_DIGIT = re.compile(r"[0-9]")
_ALNUM = re.compile(r"[A-Za-z0-9]")


def param_places(
    units: Units,
    parts: Sequence[str],
    variable: Sequence[bool],
    affixes: Mapping[int, tuple[str, str]],
    gaps: Collection[int],
) -> tuple[tuple[Place, ...], tuple[Place, ...], bool]:
    """How to read the params of every message of one shape.

    ``units`` are the shape's units and ``parts`` the ``VARIABLE.split`` of one of
    its messages (text, value, text, ..., text); from one message of the shape to the
    next only the values' lengths change, so places in ``parts`` hold for all. A
    template has one param per wildcard-bearing token: ``variable[j]`` says unit
    ``j`` is a wildcard position whose kept ``affixes[j]`` (prefix, suffix) are cut
    off; a masked unit such as ``rhost=<*>`` loses the text around its wildcards;
    ``gaps`` are the optional wildcards the template has (empty where this shape
    has no bracketed value there).

    Returns the place of each param; the places of the tokens whose digits the
    mask left in place and that decide the template (a cache that folds digits must
    compare them); and whether the params are simply the values, in order.

    >>> parts = VARIABLE.split("rhost=10.0.0.1 user=root")
    >>> units = split_units(WILDCARD.join(parts[::2]))
    >>> places, _, plain = param_places(units, parts, [False, True], {1: ("user=", "")}, ())
    >>> [read(parts, place) for place in places], plain
    (['10.0.0.1', 'root'], False)
    """
    bounds: list[int] = []  # where each part starts in the masked message
    position = 0
    for n, part in enumerate(parts):
        bounds.append(position)
        position += len(WILDCARD) if n % 2 else len(part)
    masked = WILDCARD.join(parts[::2])
    tokens = [m.span() for m in _TOKEN.finditer(masked)]

    def place(start: int, end: int) -> Place:
        first = bisect_right(bounds, start) - 1
        last = bisect_right(bounds, end) - 1
        if first % 2 and start > bounds[first]:
            start = bounds[first]  # never cut a value: take all of it
        if last % 2 and end > bounds[last]:
            last, end = last + 1, bounds[last + 1]
        return first, start - bounds[first], last, end - bounds[last]

    gap_tokens = {before: (start, end) for before, start, end in units.gaps}
    places: list[Place] = []
    checks: list[Place] = []
    for j in range(len(units.texts) + 1):
        if j in gaps:
            start, end = gap_tokens.get(j, (0, 0))
            places.append(place(tokens[start][0], tokens[end - 1][1]) if end else (0, 0, 0, 0))
        if j == len(units.texts):
            break
        start, end = units.spans[j]
        text = units.texts[j]
        cut = None
        if variable[j]:
            prefix, suffix = affixes[j]
            cut = len(prefix), len(suffix)
            if _DIGIT.search(prefix + suffix):
                checks.extend(place(*tokens[t]) for t in range(start, end))
        else:
            if WILDCARD in text:
                cut = text.index(WILDCARD), len(text) - text.rindex(WILDCARD) - len(WILDCARD)
            if end == start + 1 and _DIGIT.search(text):
                checks.append(place(*tokens[start]))
        if cut is not None:
            begin, stop = tokens[start][0] + cut[0], tokens[end - 1][1] - cut[1]
            places.append(place(begin, max(begin, stop)))
    values = len(parts) // 2
    plain = masked.count(WILDCARD) == values and places == [
        (2 * k + 1, 0, 2 * k + 2, 0) for k in range(values)
    ]
    return tuple(places), tuple(checks), plain


def read(parts: Sequence[str], place: Place) -> str:
    """The text at ``place`` (see :func:`param_places`) of a split message."""
    first, start, last, end = place
    if first == last:
        return parts[first][start:end]
    return parts[first][start:] + "".join(parts[first + 1 : last]) + parts[last][:end]


def looks_variable(value: str) -> bool:
    """Whether a token looks like a value on its own: it holds a masked part, a path
    (``/``) or a dotted name (two dots or more)."""
    return WILDCARD in value or "/" in value or value.count(".") >= 2


def affix(values: Sequence[str]) -> tuple[str, str]:
    """The literal text all ``values`` share before and after their variable part,
    cut back to punctuation, so a template keeps ``rhost=<*>`` or ``com.apple.<*>:``;
    never part of a wildcard.

    >>> affix(["rhost=10.0.0.1", "rhost=ec2.example.com"]), affix(["cyrus", "news"])
    (('rhost=', ''), ('', ''))
    >>> affix(["com.apple.cache.daily:", "com.apple.icloud:"])
    ('com.apple.', ':')
    """
    heads = [v.split(WILDCARD, 1)[0] for v in values]  # the text before a masked part
    tails = [v.rsplit(WILDCARD, 1)[-1] for v in values]
    prefix = _common_prefix(heads)
    while prefix and _ALNUM.match(prefix[-1]):
        prefix = prefix[:-1]
    suffix = _common_prefix([t[::-1] for t in tails])[::-1]
    while suffix and _ALNUM.match(suffix[0]):
        suffix = suffix[1:]
    if not all(fits(v, prefix, suffix) for v in values):
        suffix = ""
    return prefix, suffix


def fits(value: str, prefix: str, suffix: str) -> bool:
    """Whether ``value``'s literal text starts with ``prefix`` and ends with
    ``suffix``, the two not overlapping."""
    if WILDCARD not in value and len(value) < len(prefix) + len(suffix):
        return False
    head, tail = value.split(WILDCARD, 1)[0], value.rsplit(WILDCARD, 1)[-1]
    return head.startswith(prefix) and tail.endswith(suffix)


def _common_prefix(texts: Sequence[str]) -> str:
    first, last = min(texts), max(texts)  # what these two share, all the others share
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]

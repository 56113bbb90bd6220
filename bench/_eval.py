"""Log-parsing accuracy: GA, PA and FGA as Loghub-2.0 computes them, as pure functions.

Based on the evaluation code of Loghub-2.0 (Jiang et al., "A Large-scale Evaluation
for Log Parsing Techniques: How Far are We?", ISSTA 2024), repository
``logpai/loghub-2.0``, commit 8f5be26:

* **GA** and **FGA**: ``benchmark/logparser/utils/evaluator.py``, ``get_accuracy``.
  The messages are grouped by their ground-truth template. A ground-truth group is
  *correctly grouped* when all its messages got one parsed template and that parsed
  template holds no other message; GA is the share of messages in correctly grouped
  groups. FGA is the F1 of precision = correctly grouped groups / parsed templates
  and recall = correctly grouped groups / ground-truth templates.
* **PA**: ``benchmark/evaluation/utils/PA_calculator.py``,
  ``calculate_parsing_accuracy``: the share of messages whose parsed template string
  equals the ground-truth template string.
* **Normalisation** before PA: ``PA_calculator.py`` itself compares raw strings; the
  template post-processing Loghub-2.0 applies to parser output is
  ``correct_single_template`` in ``benchmark/evaluation/utils/post_process.py``
  (the rules of Khan et al., ICSE 2022: double spaces, digit-only tokens, words glued
  to a variable, dot-separated and consecutive variables). :func:`normalize_template`
  ports that function, after first turning named placeholders (``<NUM>``,
  ``<:IP:>``, Loghub's ``<*>``) into ``<*>``, as Loghub's own parsers do
  (``re.sub(r"<.{1,5}>", "<*>", ...)`` in its ``Drain.py``). It is applied to
  *both* sides, so a literal ``42`` in a ground-truth template and a ``<NUM>`` in the
  parsed one compare equal.

Where these functions take ids they accept any hashable key: Loghub-2.0 groups by the
template *string* on both sides; the benchmark passes the miner's template id for the
parsed side (what LogMonitor counts windows by) and the ground-truth ``EventId``
(one-to-one with ``EventTemplate`` in every loghub-2k file).

``python -m bench._eval`` runs the doctests and the hand-made checks below.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = [
    "GroupingScores",
    "fga",
    "grouping_accuracy",
    "grouping_scores",
    "normalize_template",
    "parsing_accuracy",
]


@dataclass(frozen=True, slots=True)
class GroupingScores:
    """GA and FGA with the counts they come from."""

    ga: float
    fga: float
    precision: float  # correctly grouped / parsed templates
    recall: float  # correctly grouped / ground-truth templates
    correct_groups: int
    truth_groups: int
    parsed_groups: int
    messages: int


def grouping_scores(
    truth_ids: Sequence[Hashable], parsed_ids: Sequence[Hashable]
) -> GroupingScores:
    """GA and FGA of ``parsed_ids`` against ``truth_ids`` (one entry per message).

    >>> s = grouping_scores(["a", "a", "b"], [1, 1, 2])
    >>> s.ga, s.fga
    (1.0, 1.0)
    >>> s = grouping_scores(["a", "a", "b"], [1, 1, 1])  # merged: nothing is right
    >>> s.ga, s.fga
    (0.0, 0.0)
    """
    if len(truth_ids) != len(parsed_ids):
        raise ValueError(
            f"{len(truth_ids)} ground-truth ids but {len(parsed_ids)} parsed ids; "
            "pass one of each per message"
        )
    if not truth_ids:
        raise ValueError("no messages to score; pass at least one")
    parsed_sizes = Counter(parsed_ids)
    groups: dict[Hashable, Counter[Hashable]] = defaultdict(Counter)
    for truth, parsed in zip(truth_ids, parsed_ids, strict=True):
        groups[truth][parsed] += 1
    correct_messages = correct_groups = 0
    for parsed_in_group in groups.values():
        if len(parsed_in_group) != 1:
            continue  # split across several parsed templates
        ((parsed, size),) = parsed_in_group.items()
        if parsed_sizes[parsed] == size:  # the parsed template holds exactly this group
            correct_messages += size
            correct_groups += 1
    precision = correct_groups / len(parsed_sizes)
    recall = correct_groups / len(groups)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return GroupingScores(
        ga=correct_messages / len(truth_ids),
        fga=f1,
        precision=precision,
        recall=recall,
        correct_groups=correct_groups,
        truth_groups=len(groups),
        parsed_groups=len(parsed_sizes),
        messages=len(truth_ids),
    )


def grouping_accuracy(truth_ids: Sequence[Hashable], parsed_ids: Sequence[Hashable]) -> float:
    """GA: the share of messages whose whole ground-truth group, and nothing else, got
    one parsed template.

    >>> grouping_accuracy(["a", "a", "b", "b"], [1, 2, 3, 3])  # group a is split
    0.5
    """
    return grouping_scores(truth_ids, parsed_ids).ga


def fga(truth_ids: Sequence[Hashable], parsed_ids: Sequence[Hashable]) -> float:
    """FGA: the F1 of correctly grouped templates (precision over parsed templates,
    recall over ground-truth templates).

    >>> round(fga(["a", "a", "b", "b"], [1, 2, 3, 3]), 4)  # P = 1/3, R = 1/2
    0.4
    """
    return grouping_scores(truth_ids, parsed_ids).fga


# Named placeholders of Drain3 (``<NUM>``, ``<:IP:>`` with the example's prefix) and
# LogMonitor (``<BLK>``, ``<PATH>``), and Loghub's ``<*>``. Upper case only, so
# literal text such as ``<ok>`` or ``<memory:...`` in a message stays text.
_PLACEHOLDER = re.compile(r"<:?(?:\*|[A-Z][A-Z0-9_]*):?>")
_TOKEN_DELIMITERS = re.compile(r"""([\s,!;:=|"'\[\](){}.\-+@#$%&])""")
_DIGITS = re.compile(r"^\d+$")
_GLUED_VARIABLE = re.compile(r"^[^\s/]*<\*>[^\s/]*$")
_SPACES = re.compile(r"\s+")
# ``correct_single_template``'s final replacements, in its order.
_COLLAPSE = (
    (" #<*># ", " <*> "),
    (" #<*> ", " <*> "),
    ("<*>:<*>", "<*>"),
    ("<*>#<*>", "<*>"),
    ("<*>/<*>", "<*>"),
    ("<*>@<*>", "<*>"),
    ("<*>.<*>", "<*>"),
    (' "<*>" ', " <*> "),
    (" '<*>' ", " <*> "),
    ("<*><*>", "<*>"),
)


def normalize_template(template: str) -> str:
    """A template in Loghub-2.0's post-processed form, placeholders written ``<*>``.

    A port of ``correct_single_template`` (``benchmark/evaluation/utils/post_process.py``
    of logpai/loghub-2.0): collapse whitespace; split on delimiters (kept); a
    digit-only token becomes ``<*>``; a token containing ``<*>`` (no space or ``/``)
    becomes ``<*>``; ``<*>.<*>`` and ``<*><*>`` collapse; then the literal
    replacements of :data:`_COLLAPSE`, each repeated until nothing changes.

    >>> normalize_template("Received block blk_<NUM> of size <NUM> from /<IP>")
    'Received block <*> of size <*> from /<*>'
    >>> normalize_template("Received block blk_-1608 of size 91178 from 10.250.19.102")
    'Received block blk_-<*> of size <*> from <*>'
    >>> normalize_template("took  <:NUM:>ms  at <*>:<*>")
    'took <*> at <*>'
    """
    template = _PLACEHOLDER.sub("<*>", template)
    template = _SPACES.sub(" ", template.strip())
    tokens = []
    for token in _TOKEN_DELIMITERS.split(template):
        if _DIGITS.match(token):
            token = "<*>"
        if _GLUED_VARIABLE.match(token) and token != "<*>/<*>":
            token = "<*>"
        tokens.append(token)
    template = "".join(tokens)
    template = _repeat(template, "<*>.<*>", "<*>")
    template = _repeat(template, "<*><*>", "<*>")
    for old, new in _COLLAPSE:
        template = _repeat(template, old, new)
    return template


def _repeat(text: str, old: str, new: str) -> str:
    while old in text:
        text = text.replace(old, new)
    return text


def parsing_accuracy(
    truth_templates: Sequence[str], parsed_templates: Sequence[str], *, normalize: bool = True
) -> float:
    """PA: the share of messages whose parsed template equals the ground truth, both
    passed through :func:`normalize_template` unless ``normalize=False``.

    >>> parsing_accuracy(["send <*> bytes", "bye"], ["send <NUM> bytes", "bye <NUM>"])
    0.5
    """
    if len(truth_templates) != len(parsed_templates):
        raise ValueError(
            f"{len(truth_templates)} ground-truth templates but {len(parsed_templates)} "
            "parsed templates; pass one of each per message"
        )
    if not truth_templates:
        raise ValueError("no messages to score; pass at least one")
    cache: dict[str, str] = {}

    def norm(template: str) -> str:
        if not normalize:
            return template
        if (done := cache.get(template)) is None:
            done = cache[template] = normalize_template(template)
        return done

    correct = sum(
        norm(t) == norm(p) for t, p in zip(truth_templates, parsed_templates, strict=True)
    )
    return correct / len(truth_templates)


def _self_test() -> None:
    """Hand-made cases with known answers (Loghub-2.0's definitions worked by hand)."""
    truth = ["A"] * 4 + ["B"] * 3 + ["C"] * 2 + ["D"]
    checks: list[tuple[str, GroupingScores, tuple[float, float, float, float]]] = [
        # name, scores, (GA, precision, recall, FGA)
        ("perfect", grouping_scores(truth, [7] * 4 + [8] * 3 + [9] * 2 + [5]), (1, 1, 1, 1)),
        # B and C in one parsed template: 5 messages and 2 groups lost.
        (
            "merge",
            grouping_scores(truth, [1] * 4 + [2] * 5 + [3]),
            (0.5, 2 / 3, 2 / 4, 2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4)),
        ),
        # A split in two: its 4 messages are wrong, the others right.
        (
            "split",
            grouping_scores(truth, [1, 1, 2, 2] + [3] * 3 + [4] * 2 + [5]),
            (0.6, 3 / 5, 3 / 4, 2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4)),
        ),
        # Ids are only labels: the same partition under other names scores the same.
        (
            "relabelled",
            grouping_scores(truth, ["x"] * 4 + ["y"] * 3 + ["z"] * 2 + ["w"]),
            (1, 1, 1, 1),
        ),
        # Everything in one template: only a one-group truth could be right.
        ("all-in-one", grouping_scores(truth, [0] * 10), (0.0, 0.0, 0.0, 0.0)),
        # Every message alone: only the singleton group D is right.
        (
            "all-apart",
            grouping_scores(truth, list(range(10))),
            (0.1, 0.1, 0.25, 2 * 0.1 * 0.25 / 0.35),
        ),
    ]
    for name, got, (ga, precision, recall, f1) in checks:
        wanted = {"ga": ga, "precision": precision, "recall": recall, "fga": f1}
        for field, value in wanted.items():
            if abs(getattr(got, field) - value) > 1e-12:
                raise SystemExit(f"_eval self-test {name!r}: {field} = {getattr(got, field)}, "
                                 f"expected {value}")  # fmt: skip
    pa_cases = [
        # (truth, parsed, equal after normalisation?)
        ("PacketResponder <*> for block blk_<*> terminating",
         "PacketResponder <NUM> for block <BLK> terminating", True),
        ("Connection from <*> port <*>", "Connection from <IP> port <NUM>", True),
        ("session opened for user root", "session opened for user <*>", False),
        ("jk2_init() Found child <*> in scoreboard slot <*>",
         "jk2_init() Found child <NUM> in scoreboard slot <NUM>", True),
        ("Got exception <*> <*>", "Got exception <NUM> <NUM>", True),
        # "<*> <*>" is two variables in Loghub-2.0 (its rule for it is commented out).
        ("Got exception <*>", "Got exception <NUM> <NUM>", False),
        ("a <*> b", "a <*>  b", True),
        ("x=<*>", "x=<NUM>", True),
        ("time <*>:<*>:<*>", "time <*>", True),
        ("size <*>", "size", False),
    ]  # fmt: skip
    for truth_t, parsed_t, equal in pa_cases:
        got_equal = normalize_template(truth_t) == normalize_template(parsed_t)
        if got_equal != equal:
            raise SystemExit(
                f"_eval self-test PA: {truth_t!r} vs {parsed_t!r} -> "
                f"{normalize_template(truth_t)!r} / {normalize_template(parsed_t)!r}, "
                f"expected equal={equal}"
            )
    if parsing_accuracy(["a <*>", "b"], ["a <NUM>", "c"]) != 0.5:
        raise SystemExit("_eval self-test PA: parsing_accuracy")
    if parsing_accuracy(["a <*>"], ["a <NUM>"], normalize=False) != 0.0:
        raise SystemExit("_eval self-test PA: normalize=False should compare raw strings")


if __name__ == "__main__":
    import doctest
    import sys

    failed, tried = doctest.testmod()
    _self_test()
    print(f"bench._eval: {tried} doctests, {failed} failed; hand-made checks passed")
    sys.exit(1 if failed else 0)

"""The slow path of :class:`~.miner.TemplateMiner`: families of templates.

A shape the miner's caches cannot answer is cut into units and handed to
:meth:`Families._assign`, which finds the most similar family of the same length
(through an index from ``(length, position, token)``), records the units' values,
turns positions that vary enough into wildcards, and returns the template, creating
or generalising one as needed. Merged templates become aliases of the oldest; past
``max_templates`` the least recently matched 1 % are evicted. The algorithm is told
in :mod:`.miner`'s docstring; this module holds the state it learns, and
:meth:`Families.revision` counts its changes so that the state is saved only when
it changed.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import Literal

from ..errors import ConfigError
from .masking import WILDCARD, Units, affix, fits, looks_variable

__all__ = ["Change", "Families"]

Change = Literal["created", "updated", "unchanged"]
W = WILDCARD

# A value after one of these words names an identifier, so two values are enough.
_NAME_WORDS = frozenset({"user", "username", "host", "hostname"})


class _Family:
    """Templates of one length that agree on most constant units (see module doc)."""

    __slots__ = ("affixes", "core", "id", "templates", "values", "variable")

    def __init__(self, family_id: int, texts: Sequence[str]) -> None:
        self.id = family_id
        self.core: list[str | None] = list(texts)  # None where members disagree
        self.variable = [False] * len(texts)
        self.values: dict[int, list[str]] = {}  # disagreeing positions: distinct values
        self.affixes: dict[int, tuple[str, str]] = {}  # wildcard positions: kept text
        self.templates: dict[tuple[str, ...], _Template] = {}

    def key(self, texts: Sequence[str]) -> tuple[str, ...]:
        variable = self.variable
        return tuple(W if variable[j] else t for j, t in enumerate(texts))

    def evidence(self) -> list[tuple[int, str]]:
        """Positions whose constant token counts towards similarity."""
        return [(j, t) for j, t in enumerate(self.core) if t is not None and W not in t]


_NO_GAPS: frozenset[int] = frozenset()


class _Template:
    __slots__ = ("aliases", "family", "gaps", "id", "key", "last", "text", "version")

    def __init__(self, template_id: int, family: _Family, key: tuple[str, ...]) -> None:
        self.id = template_id
        self.family = family
        self.key = key  # the family's units, "<*>" at its wildcard positions
        self.gaps = _NO_GAPS  # the units an optional wildcard precedes
        self.last = 0  # the batch that last matched it
        self.aliases: list[int] = []
        self.text = ""
        self.version = 0  # bumped when the text changes; -1 once merged or evicted


_NOWHERE = _Family(0, ())


def _bury(template: _Template) -> None:
    """Mark a merged or evicted template dead (cache entries that still hold it see
    the version and miss) and let go of its family and key, so that what the caches
    keep of it is small."""
    template.version = -1
    template.family = _NOWHERE
    template.key = ()
    template.aliases = []
    template.text = ""


class Families:
    """Families, templates and aliases, and how a new shape joins them."""

    def __init__(
        self, max_templates: int = 10_000, similarity: float = 0.6, distinct_values: int = 5
    ) -> None:
        if max_templates < 1:
            raise ConfigError(f"max_templates must be at least 1, got {max_templates}")
        if not 0.0 < similarity <= 1.0:
            raise ConfigError(f"similarity must be in (0, 1], got {similarity}")
        if distinct_values < 2:
            raise ConfigError(f"distinct_values must be at least 2, got {distinct_values}")
        self.max_templates = max_templates
        self.similarity = similarity
        self.distinct_values = distinct_values
        self._templates: dict[int, _Template] = {}
        self._families: dict[int, _Family] = {}
        # (length, position, token) -> the family, or families, with that constant
        # token there (see _index); length -> the families with no constant token.
        self._postings: dict[tuple[int, int, str], _Family | list[_Family]] = {}
        self._open: dict[int, list[_Family]] = {}
        self._aliases: dict[int, int] = {}  # merged id -> survivor, oldest first
        self._next_id = 1
        self._next_family = 1
        self._dirty: set[int] = set()  # ids whose text changed or that died this batch
        self._revision = 0

    @property
    def revision(self) -> int:
        """Bumped by every change to the learned state (a new shape seen), so a
        caller can tell whether a saved snapshot is still current."""
        return self._revision

    @property
    def next_id(self) -> int:
        """The id the next new template gets."""
        return self._next_id

    def reserve_ids(self, floor: int) -> None:
        """Never hand out an id below ``floor`` (ids given before a crash that the
        last snapshot missed must not be reused for other templates)."""
        self._next_id = max(self._next_id, floor)

    def _assign(self, units: Units) -> tuple[_Template, Change, Units]:
        """The template of a new shape, creating or generalising templates as needed."""
        self._revision += 1
        texts = units.texts
        family = self._best_family(texts)
        changed: set[int] = set()
        if family is None:
            family = self._new_family(texts)
        else:
            changed = self._absorb(family, texts)
        key = family.key(texts)
        template = family.templates.get(key)
        change: Change = "unchanged"
        if template is None:
            template = self._new_template(family, key)
            change = "created"
        elif template.id in changed:
            change = "updated"
        gaps = frozenset(g[0] for g in units.gaps)
        if not gaps <= template.gaps:
            template.gaps |= gaps
            self._render(template)
            if change == "unchanged":
                change = "updated"
        if change == "created" and len(self._templates) > self.max_templates:
            self._evict(keep=template)
        return template, change, units

    def _best_family(self, texts: tuple[str, ...]) -> _Family | None:
        """The family of this length most similar to ``texts``, if similar enough
        (ties go to the oldest family)."""
        n = len(texts)
        candidates: dict[int, _Family] = {}
        postings = self._postings
        for j, token in enumerate(texts):
            if W not in token:
                found = postings.get((n, j, token))
                if isinstance(found, _Family):
                    candidates[found.id] = found
                elif found is not None:
                    for family in found:
                        candidates[family.id] = family
        for family in self._open.get(n, ()):
            candidates[family.id] = family
        best: _Family | None = None
        best_score = -1.0
        for fid in sorted(candidates):
            score = self._similarity(candidates[fid], texts)
            if score > best_score:
                best, best_score = candidates[fid], score
        return best if best_score >= self.similarity else None

    @staticmethod
    def _similarity(family: _Family, texts: tuple[str, ...]) -> float:
        """The share of the family's constant units that ``texts`` repeats. Wildcard
        positions do not count, nor masked tokens both share: they say little."""
        equal = total = 0
        variable = family.variable
        for j, a in enumerate(family.core):
            if variable[j]:
                continue
            if a is not None and a == texts[j]:
                if W in a:
                    continue
                equal += 1
            total += 1
        return equal / total if total else 1.0

    def _new_family(self, texts: tuple[str, ...]) -> _Family:
        family = _Family(self._next_family, texts)
        self._next_family += 1
        self._families[family.id] = family
        self._index(family)
        return family

    def _index(self, family: _Family) -> None:
        """Enter ``family`` in the postings under enough of its constant tokens that
        every message similar enough to it shares one of them.

        A message at ``similarity`` s or more matches at least a share s of the
        family's constant tokens, so it misses at most ``floor((1 - s) * e)`` of the
        ``e``; indexing one more than that many guarantees a shared entry. The
        longest tokens are chosen, being the rarest; this halves the index against
        indexing every token, which is most of the memory for many templates."""
        n = len(family.core)
        postings = self._postings
        for j, token in self._indexed(family):
            key = (n, j, token)
            found = postings.get(key)
            if found is None:
                postings[key] = family  # most tokens index one family: no list
            elif isinstance(found, _Family):
                postings[key] = [found, family]
            else:
                found.append(family)
        if not family.evidence():
            self._open.setdefault(n, []).append(family)

    def _indexed(self, family: _Family) -> list[tuple[int, str]]:
        evidence = family.evidence()
        count = math.floor((1.0 - self.similarity) * len(evidence) + 1e-9) + 1
        return sorted(evidence, key=lambda e: (-len(e[1]), e[0]))[:count]

    def _unindex(self, family: _Family) -> None:
        """Undo :meth:`_index`; called before the family's constants change."""
        n = len(family.core)
        postings = self._postings
        for j, token in self._indexed(family):
            key = (n, j, token)
            found = postings.get(key)
            if found is family:
                del postings[key]
            elif isinstance(found, list) and family in found:
                found.remove(family)
                if len(found) == 1:
                    postings[key] = found[0]
        opened = self._open.get(n)
        if opened is not None and family in opened:
            opened.remove(family)
            if not opened:
                del self._open[n]

    def _absorb(self, family: _Family, texts: tuple[str, ...]) -> set[int]:
        """Record ``texts`` in ``family``; returns the ids whose template changed."""
        new_variable = False
        affix_changed = False
        for j, value in enumerate(texts):
            if family.variable[j]:
                prefix, suffix = family.affixes[j]
                if not fits(value, prefix, suffix):
                    family.affixes[j] = affix([prefix + W + suffix, value])
                    affix_changed = True
                continue
            current = family.core[j]
            if current == value:
                continue
            if current is not None:  # the first disagreement at j
                self._unindex(family)
                family.core[j] = None
                self._index(family)
                family.values[j] = [current]
            values = family.values[j]
            if value not in values and len(values) < self.distinct_values:
                values.append(value)
            if self._is_variable(family, j, values):
                family.variable[j] = True
                family.affixes[j] = affix(values)
                del family.values[j]
                new_variable = True
        if new_variable:
            return self._rekey(family)
        if affix_changed:
            for template in family.templates.values():
                self._render(template)
            return {t.id for t in family.templates.values()}
        return set()

    def _is_variable(self, family: _Family, j: int, values: list[str]) -> bool:
        if len(values) < 2:
            return False
        if len(values) >= self.distinct_values or all(looks_variable(v) for v in values):
            return True
        before = family.core[j - 1] if j else None
        return before is not None and before.lower().rstrip(":=") in _NAME_WORDS

    def _rekey(self, family: _Family) -> set[int]:
        """Re-key a family's templates after a position became a wildcard; templates
        that now share a key merge into the oldest. Returns the ids it touched."""
        old = sorted(family.templates.values(), key=lambda t: t.id)
        family.templates = {}
        for template in old:
            key = family.key(template.key)
            survivor = family.templates.get(key)
            if survivor is None:
                template.key = key
                family.templates[key] = template
                continue
            survivor.gaps |= template.gaps
            survivor.last = max(survivor.last, template.last)
            for alias in [*template.aliases, template.id]:
                self._aliases[alias] = survivor.id
                survivor.aliases.append(alias)
            del self._templates[template.id]
            _bury(template)
            self._dirty.add(template.id)
        for template in family.templates.values():
            self._render(template)
        while len(self._aliases) > self.max_templates:
            alias = next(iter(self._aliases))
            owner = self._templates.get(self._aliases.pop(alias))
            if owner is not None and alias in owner.aliases:
                owner.aliases.remove(alias)
        return {t.id for t in old}

    def _new_template(self, family: _Family, key: tuple[str, ...]) -> _Template:
        template = _Template(self._next_id, family, key)
        self._next_id += 1
        family.templates[key] = template
        self._templates[template.id] = template
        self._render(template)
        self._dirty.discard(template.id)  # new, not changed: nothing to settle
        return template

    def _render(self, template: _Template) -> None:
        """Write the template's text; a new text gets a new version."""
        family = template.family
        tokens: list[str] = []
        for j, unit in enumerate(template.key):
            if j in template.gaps:
                tokens.append(W)
            if family.variable[j]:
                prefix, suffix = family.affixes[j]
                tokens.append(prefix + W + suffix)
            else:
                tokens.append(unit)
        if len(template.key) in template.gaps:
            tokens.append(W)
        text = " ".join(tokens)
        if text != template.text:
            template.text = text
            template.version += 1
            self._dirty.add(template.id)

    def _evict(self, keep: _Template) -> None:
        """Drop the least recently matched 1 % (at least one) of the templates."""
        excess = len(self._templates) - self.max_templates
        count = min(max(excess, self.max_templates // 100, 1), len(self._templates) - 1)
        victims = heapq.nsmallest(
            count,
            (t for t in self._templates.values() if t is not keep),
            key=lambda t: (t.last, t.id),
        )
        for template in victims:
            family = template.family
            del self._templates[template.id]
            del family.templates[template.key]
            for alias in template.aliases:
                self._aliases.pop(alias, None)
            _bury(template)
            if not family.templates:
                self._unindex(family)
                del self._families[family.id]

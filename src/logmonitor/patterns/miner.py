"""Online template mining: each record gets a template id that keeps its meaning.

:class:`TemplateMiner` is LogMonitor's own miner. Drain (He et al., ICWS 2017) routes
a message down a tree by its length and first tokens and merges it into the most
similar template, turning every position where two messages differ into a wildcard.
That over-merges positions with a handful of values (``GET``/``POST``, ``Paused``/
``Started``), splits groups whose first token is a variable, and splits on the
number of tokens. This miner follows the statistical parsers that beat Drain on
Loghub (Brain, Yu et al. 2023; token-frequency parsers): *a position is a variable
because its values vary a lot, not because two messages differ there.*

How a message is mined:

1. **Fast path.** The message with its digits folded to ``0`` is looked up in a
   bounded cache: one ``bytes.translate``, one dict lookup and one C-level slice of
   the params. Most lines of a log repeat an earlier line's shape up to its numbers.
2. **Shape.** Otherwise the message is masked (:mod:`.masking`: one regular
   expression for numbers, hex, UUIDs, IPs) and the masked text is looked up in a
   second cache.
3. **Families.** A new shape is cut into units (:func:`.masking.split_units`, which
   also makes lists, dates and sizes one unit and sets optional bracketed values
   aside) and compared with the *families* of its length: templates that agree on
   at least ``similarity`` of their constant units, found through an index from
   ``(length, position, token)``, so nothing routes on a first token that may be a
   variable. A family keeps, at each position where its members disagree, the
   distinct values seen. The position becomes a wildcard once it has shown
   ``distinct_values`` values; or two values that all look variable (a masked part,
   a path, a dotted name); or two values after a word that names an identifier
   (``user``). Until then each value keeps its own template: ``VM Paused`` and
   ``VM Started`` stay apart while user and host names merge.

Ids: a template keeps its id when it generalises. When a position becomes a
wildcard, the templates that differed only there merge: the oldest (lowest id)
survives and the others become *aliases*, which :meth:`TemplateMiner.resolve` maps
to the survivor (and :meth:`TemplateMiner.template` follows). Every match of one
:meth:`~TemplateMiner.add_batch` call carries the id and template its record has at
the end of the call; records of earlier calls keep the id they were given, which
``resolve`` maps forward.

Bounds: at most ``max_templates`` templates; a template created past the cap evicts
the least recently matched 1 % of them (at least one; by batch, then oldest id).
Evicted ids are never reused; their lines later start a new template. Aliases are
capped at ``max_templates`` (the oldest forgotten first). Each of the two caches
holds two generations of at most ``cache_size`` entries: when the young one fills,
it becomes the old one and the previous old one is dropped (entries found in the old
one move back to the young). Messages longer than 4,096 characters are not cached.

Deterministic: the same lines in the same batches give the same ids and templates.
The state saves to versioned JSON (:meth:`~TemplateMiner.to_snapshot`,
:meth:`~TemplateMiner.from_snapshot`, layout in :mod:`.snapshot`); caches are not
saved.

:class:`Drain3Miner` wraps Drain3 behind the same interface, for comparison.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import fields
from itertools import accumulate
from operator import itemgetter
from types import MemberDescriptorType, SimpleNamespace
from typing import Any, Literal, Protocol

from drain3 import TemplateMiner as _Drain3
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from ..errors import ConfigError, StateError
from ..records import Match, Record
from . import snapshot
from .masking import (
    DEFAULT_MASKS,
    DIGIT_FOLD,
    VARIABLE,
    WILDCARD,
    Units,
    affix,
    fits,
    looks_variable,
    param_places,
    split_units,
)

__all__ = ["Drain3Miner", "Miner", "TemplateMiner"]

Change = Literal["created", "updated", "unchanged"]
W = WILDCARD

# A value after one of these words names an identifier, so two values are enough.
_NAME_WORDS = frozenset({"user", "username", "host", "hostname"})
_MAX_CACHED_LENGTH = 4096
_LETTER = re.compile(r"[A-Za-z]")


class Miner(Protocol):
    """Assigns template ids to records; ids never change once given."""

    def add_batch(self, records: Sequence[Record]) -> list[Match]: ...

    def template(self, template_id: int) -> str | None: ...

    def __len__(self) -> int: ...


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


# The fast-cache entry of a key seen once: its dead template fails the version check.
_SEEN: tuple[Any, ...] = (SimpleNamespace(version=-1), 0, None, 0, None, None, None)


def _match_factory() -> Callable[[int, str, Change, tuple[str, ...]], Match]:
    """A faster ``Match(template_id, template, change, params)``.

    The per-line budget is about a microsecond, and a frozen dataclass's
    ``__init__`` spends half of it in four ``object.__setattr__`` calls; setting the
    slots through their descriptors builds the same object in half the time. Used
    only while ``Match`` is exactly these four slots with no ``__post_init__``
    (``tests/patterns`` compares both ways), else the plain constructor."""
    names = tuple(f.name for f in fields(Match))
    slots: list[Any] = [getattr(Match, n, None) for n in names]
    if (
        names != ("template_id", "template", "change", "params")
        or hasattr(Match, "__post_init__")
        or not all(isinstance(s, MemberDescriptorType) for s in slots)
    ):
        return Match
    new = Match.__new__
    set_id, set_template, set_change, set_params = (s.__set__ for s in slots)

    def match(template_id: int, template: str, change: Change, params: tuple[str, ...]) -> Match:
        made = new(Match)
        set_id(made, template_id)
        set_template(made, template)
        set_change(made, change)
        set_params(made, params)
        return made

    return match


_match = _match_factory()
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


_SLICES: dict[tuple[int, int], slice] = {}


def _slice(start: int, stop: int) -> slice:
    """``slice(start, stop)``, shared: the fast cache holds many alike, and each
    object the cache holds makes every full garbage collection longer."""
    found = _SLICES.get((start, stop))
    if found is None:
        if len(_SLICES) >= 1 << 16:
            _SLICES.clear()
        found = _SLICES[(start, stop)] = slice(start, stop)
    return found


def _rotate(young: dict[Any, Any], old: dict[Any, Any]) -> None:
    """Age a two-generation cache: the young entries become the old ones. In place,
    because ``add_batch`` holds ``young.get`` for the whole batch."""
    old.clear()
    old.update(young)
    young.clear()


class TemplateMiner:
    """LogMonitor's template miner (the module docstring explains the algorithm).

    >>> from logmonitor.records import LogLine, Record
    >>> def rec(text):
    ...     return Record(LogLine("s", "s", text, 0, 0, 1, 0.0), message=text)
    >>> miner = TemplateMiner()
    >>> a, b = miner.add_batch([rec("took 12 ms on 10.0.0.1"), rec("took 13 ms on 10.0.0.2")])
    >>> a.template_id == b.template_id, b.template, b.params
    (True, 'took <*> ms on <*>', ('13', '10.0.0.2'))
    """

    def __init__(
        self,
        max_templates: int = 10_000,
        cache_size: int = 8192,
        similarity: float = 0.6,
        distinct_values: int = 5,
    ) -> None:
        if max_templates < 1:
            raise ConfigError(f"max_templates must be at least 1, got {max_templates}")
        if cache_size < 1:
            raise ConfigError(f"cache_size must be at least 1, got {cache_size}")
        if not 0.0 < similarity <= 1.0:
            raise ConfigError(f"similarity must be in (0, 1], got {similarity}")
        if distinct_values < 2:
            raise ConfigError(f"distinct_values must be at least 2, got {distinct_values}")
        self.max_templates = max_templates
        self.cache_size = cache_size
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
        self._batch = 0
        self._dirty: set[int] = set()  # ids whose text changed or that died this batch
        # Digit-folded message -> (template, version, params getter, number of params,
        # digit check getter, expected digits, the Match when there are no params).
        self._fast: dict[bytes, tuple[Any, ...]] = {}
        self._fast_old: dict[bytes, tuple[Any, ...]] = {}
        # Masked message -> (template, version, param places, digit places, plain?,
        # volatile?): see _mine.
        self._shapes: dict[str | tuple[str, ...], tuple[Any, ...]] = {}
        self._shapes_old: dict[str | tuple[str, ...], tuple[Any, ...]] = {}

    # -- the public interface ------------------------------------------------------------

    def add_batch(self, records: Sequence[Record]) -> list[Match]:
        """Mine ``records`` in order: one :class:`Match` each.

        Ids and templates are settled at the end of the call: a record matched before
        a later record of the same batch merged or generalised its template gets the
        survivor's id, template and params (its ``change`` stays what it was)."""
        self._batch += 1
        batch = self._batch
        get = self._fast.get
        fold = DIGIT_FOLD
        match = _match
        out: list[Match] = []
        append = out.append
        for record in records:
            message = record.message
            try:
                key = message.encode().translate(fold)
            except UnicodeEncodeError:  # a lone surrogate, from surrogateescape decoding
                key = message.encode("utf-8", "surrogatepass").translate(fold)
            entry = get(key)
            if entry is not None:
                template, version, getter, arity, check, expected, fixed = entry
                if template.version == version and (check is None or check(message) == expected):
                    template.last = batch
                    if fixed is not None:
                        append(fixed)
                    elif arity == 1:
                        append(match(template.id, template.text, "unchanged", (getter(message),)))
                    else:
                        append(match(template.id, template.text, "unchanged", getter(message)))
                    continue
            append(self._mine(message, key, entry, batch))
        if self._dirty:
            self._settle(records, out)
        return out

    def template(self, template_id: int) -> str | None:
        """The current template of ``template_id`` (or of its survivor), if kept."""
        template = self._templates.get(self._aliases.get(template_id, template_id))
        return None if template is None else template.text

    def resolve(self, template_id: int) -> int:
        """The id that now stands for ``template_id``: the survivor it was merged
        into, else itself."""
        return self._aliases.get(template_id, template_id)

    def __len__(self) -> int:
        return len(self._templates)

    @property
    def cache_entries(self) -> int:
        """Entries in the two caches, each at most ``2 * cache_size`` (young and old)."""
        return len(self._fast) + len(self._fast_old) + len(self._shapes) + len(self._shapes_old)

    # -- the slow paths ----------------------------------------------------------------

    def _mine(self, message: str, key: bytes, entry: Any, batch: int) -> Match:
        """A message the fast cache could not answer (``entry`` is what it held).

        The shape path is one ``VARIABLE.split``, one lookup of the masked message,
        and the params read from the split. A digit-folded key of a known shape gets
        a marker the first time and a fast entry the second; keys of a new shape,
        and of a *volatile* one (its values hold letters: hex ids, UUIDs), get
        neither: they rarely repeat, and would only push useful entries out."""
        if entry is None:
            entry = self._fast_old.get(key)
            if entry is not None and entry[0].version == entry[1]:
                check, expected = entry[4], entry[5]
                if check is None or check(message) == expected:
                    self._remember(key, entry)
                    return self._from_entry(entry, message, batch)
        parts = VARIABLE.split(message)
        masked = W.join(parts[::2])
        # A literal "<*>" in the message would make two splits look alike.
        shape_key: str | tuple[str, ...] = tuple(parts[::2]) if W in message else masked
        shape = self._shapes.get(shape_key)
        if shape is None:
            shape = self._shapes_old.get(shape_key)
        change: Change = "unchanged"
        cacheable = len(message) <= _MAX_CACHED_LENGTH
        known = shape is not None  # a shape seen before: its lines may well repeat
        if shape is None or shape[0].version != shape[1]:
            template, change, units = self._assign(split_units(masked))
            family = template.family
            places = param_places(units, parts, family.variable, family.affixes, template.gaps)
            volatile = any(_LETTER.search(v) for v in parts[1::2])
            shape = (template, template.version, *places, volatile)
            if cacheable:
                if len(self._shapes) >= self.cache_size:
                    _rotate(self._shapes, self._shapes_old)
                self._shapes[shape_key] = shape
        template, _, places, checks, plain, volatile = shape
        template.last = batch
        if cacheable and not volatile:
            if entry is _SEEN or (entry is not None and entry[0].version != entry[1]):
                # Seen before, or its template changed since: make the fast entry.
                starts = [0, *accumulate(map(len, parts))]
                slices = [_slice(starts[a] + i, starts[b] + j) for a, i, b, j in places]
                tests = [_slice(starts[a] + i, starts[b] + j) for a, i, b, j in checks]
                check = itemgetter(*tests) if tests else None
                entry = (
                    template,
                    template.version,
                    itemgetter(*slices) if slices else None,
                    len(slices),
                    check,
                    None if check is None else check(message),
                    None if slices else _match(template.id, template.text, "unchanged", ()),
                )
                self._remember(key, entry)
                params = tuple(message[s] for s in slices)
                return _match(template.id, template.text, change, params)
            if known:  # a first sighting, or the same digits in other words
                self._remember(key, _SEEN)
        if plain:  # each param is one masked value, in order
            return _match(template.id, template.text, change, tuple(parts[1::2]))
        starts = [0, *accumulate(map(len, parts))]
        params = tuple(message[starts[a] + i : starts[b] + j] for a, i, b, j in places)
        return _match(template.id, template.text, change, params)

    def _remember(self, key: bytes, entry: tuple[Any, ...]) -> None:
        if len(self._fast) >= self.cache_size:
            _rotate(self._fast, self._fast_old)
        self._fast[key] = entry

    @staticmethod
    def _from_entry(entry: tuple[Any, ...], message: str, batch: int) -> Match:
        template, _, getter, arity, _, _, fixed = entry
        template.last = batch
        if fixed is not None:
            return fixed  # type: ignore[no-any-return]
        params = getter(message)
        return _match(template.id, template.text, "unchanged", (params,) if arity == 1 else params)

    def _settle(self, records: Sequence[Record], out: list[Match]) -> None:
        """Give the matches whose template merged or changed later in the batch the
        id, template and params they have now (the kind of change stays)."""
        dirty, self._dirty = self._dirty, set()
        for n, match in enumerate(out):
            if match.template_id in dirty:
                message = records[n].message
                key = message.encode("utf-8", "surrogatepass").translate(DIGIT_FOLD)
                now = self._mine(message, key, self._fast.get(key), self._batch)
                out[n] = _match(now.template_id, now.template, match.change, now.params)
        self._dirty.clear()

    # -- families and templates --------------------------------------------------------

    def _assign(self, units: Units) -> tuple[_Template, Change, Units]:
        """The template of a new shape, creating or generalising templates as needed."""
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

    # -- snapshots ----------------------------------------------------------------------

    def to_snapshot(self) -> dict[str, Any]:
        """The learned state as JSON types (layout in :mod:`.snapshot`); the caches are
        left out and refill as lines arrive.

        >>> miner = TemplateMiner()
        >>> restored = TemplateMiner.from_snapshot(miner.to_snapshot())
        >>> len(restored), restored.to_snapshot() == miner.to_snapshot()
        (0, True)
        """
        families = tuple(
            snapshot.FamilyState(
                id=family.id,
                core=tuple(family.core),
                variable=tuple(family.variable),
                values=tuple((j, tuple(v)) for j, v in sorted(family.values.items())),
                affixes=tuple((j, p, s) for j, (p, s) in sorted(family.affixes.items())),
                templates=tuple(
                    snapshot.TemplateState(
                        t.id, t.key, tuple(sorted(t.gaps)), t.last, tuple(t.aliases)
                    )
                    for t in sorted(family.templates.values(), key=lambda t: t.id)
                ),
            )
            for family in self._families.values()
        )
        state = snapshot.MinerState(
            max_templates=self.max_templates,
            cache_size=self.cache_size,
            similarity=self.similarity,
            distinct_values=self.distinct_values,
            next_id=self._next_id,
            next_family=self._next_family,
            batch=self._batch,
            families=families,
            aliases=tuple(self._aliases.items()),
        )
        return snapshot.encode(state)

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> TemplateMiner:
        """A miner in the state :meth:`to_snapshot` saved: the same ids and templates,
        new ids continuing above the old ones. Raises
        :class:`~logmonitor.errors.StateError` for an unknown version or bad data."""
        state = snapshot.decode(data)
        try:
            miner = cls(
                state.max_templates, state.cache_size, state.similarity, state.distinct_values
            )
        except ConfigError as error:
            raise StateError(f"template miner snapshot: bad settings ({error})") from error
        miner._next_id = state.next_id
        miner._next_family = state.next_family
        miner._batch = state.batch
        restored: list[_Template] = []
        for saved in state.families:
            family = _Family(saved.id, [t or "" for t in saved.core])
            family.core = list(saved.core)
            family.variable = list(saved.variable)
            family.values = {j: list(v) for j, v in saved.values}
            family.affixes = {j: (p, s) for j, p, s in saved.affixes}
            if any(family.variable[j] and j not in family.affixes for j in range(len(saved.core))):
                raise StateError(f"template miner snapshot: family {saved.id} lacks an affix")
            for item in saved.templates:
                template = _Template(item.id, family, item.key)
                template.gaps = frozenset(item.gaps)
                template.last = item.last
                template.aliases = list(item.aliases)
                family.templates[item.key] = template
                restored.append(template)
            miner._families[family.id] = family
            miner._index(family)
        for template in sorted(restored, key=lambda t: t.id):
            miner._templates[template.id] = template
            miner._render(template)
        miner._dirty.clear()
        miner._aliases = dict(state.aliases)
        return miner


_CHANGES: dict[str, Change] = {
    "cluster_created": "created",
    "cluster_template_changed": "updated",
    "none": "unchanged",
}


class Drain3Miner:
    """Drain3 with LogMonitor's masks and a template cap, for comparison.

    Configured in code (Drain3 would otherwise read ``drain3.ini`` from the working
    directory); past ``max_templates`` Drain3 evicts the least recently matched.

    >>> from logmonitor.records import LogLine, Record
    >>> miner = Drain3Miner()
    >>> def rec(text):
    ...     return Record(LogLine("s", "s", text, 0, 0, 1, 0.0), message=text)
    >>> a, b = miner.add_batch([rec("took 12 ms on 10.0.0.1"), rec("took 13 ms on 10.0.0.2")])
    >>> a.template_id == b.template_id, b.template
    (True, 'took <NUM> ms on <IP>')
    """

    def __init__(
        self,
        sim_th: float = 0.4,
        depth: int = 4,
        max_children: int = 100,
        max_templates: int = 10_000,
        masks: Sequence[tuple[str, str]] = DEFAULT_MASKS,
    ) -> None:
        config = TemplateMinerConfig()
        config.drain_sim_th = sim_th
        config.drain_depth = depth
        config.drain_max_children = max_children
        config.drain_max_clusters = max_templates
        config.masking_instructions = [MaskingInstruction(p, name) for p, name in masks]
        config.parametrize_numeric_tokens = True
        self.max_templates = max_templates
        self._drain = _Drain3(persistence_handler=None, config=config)

    def add_batch(self, records: Sequence[Record]) -> list[Match]:
        add = self._drain.add_log_message
        out = []
        for record in records:
            result = add(record.message)
            out.append(
                Match(
                    template_id=int(result["cluster_id"]),
                    template=str(result["template_mined"]),
                    change=_CHANGES.get(str(result["change_type"]), "updated"),
                )
            )
        return out

    def template(self, template_id: int) -> str | None:
        cluster = self._drain.drain.id_to_cluster.get(template_id)
        return None if cluster is None else str(cluster.get_template())

    def __len__(self) -> int:
        return len(self._drain.drain.id_to_cluster)

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
   second cache. The params are read from the split: one ``itemgetter``, made with
   the shape, takes each param that is one whole value; only the others (a value
   with text kept around it, a date in words, a word at a variable position, a
   param over several parts, an empty optional gap) are read from the parts. About a
   fifth of the benchmark's lines come here: a number whose width changes (an IP
   address, a counter) makes a new digit-folded key, and hex values (volatile
   shapes) keep a shape out of the fast cache. The regular expression is about
   half of their cost (``docs/miner.md`` tells why no third cache answers them).
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

The families (step 3, ids and eviction) live in :mod:`.families`; :mod:`.drain3` wraps
Drain3 behind the same interface, for comparison.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import accumulate
from operator import itemgetter
from types import SimpleNamespace
from typing import Any, Protocol

from ..collector import pausing
from ..errors import ConfigError, StateError
from ..records import Match, Record, slot_constructor
from ..shapes import DIGIT_FOLD, rotate
from . import snapshot
from .drain3 import Drain3Miner
from .families import Change, Families, _Family, _Template
from .masking import VARIABLE, WILDCARD, Place, param_places, read, split_units

__all__ = ["Drain3Miner", "Miner", "TemplateMiner"]

W = WILDCARD

_MAX_CACHED_LENGTH = 4096
_LETTER = re.compile(r"[A-Za-z]")


class Miner(Protocol):
    """Assigns template ids to records; ids never change once given."""

    def add_batch(self, records: Sequence[Record]) -> list[Match]: ...

    def template(self, template_id: int) -> str | None: ...

    def __len__(self) -> int: ...


# The fast-cache entry of a key seen once: its dead template fails the version check.
_SEEN: tuple[Any, ...] = (SimpleNamespace(version=-1), 0, None, 0, None, None, None, -1)


_match: Callable[[int, str, Change, tuple[str, ...]], Match] = slot_constructor(Match)


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


def _reader(
    places: Sequence[Place], parts: Sequence[str]
) -> tuple[Callable[[list[str]], Any], tuple[Place, ...]]:
    """How ``_mine`` reads the params at ``places`` from ``VARIABLE.split(message)``
    (``parts``, of one message of the shape: all have as many): a getter of the
    params (of the one param, when there is one), and the places of the params that
    are not one whole value. The getter takes the
    parts followed by those params (:func:`.masking.read`, which slices the parts
    as ``message[start:end]`` would): a whole value is its part, and needs neither the
    parts' offsets in the message nor a slice."""
    order: list[int] = []
    odd: list[Place] = []
    for place in places:
        first, start, last, end = place
        if first % 2 and start == end == 0 and last == first + 1:
            order.append(first)  # value (first - 1) // 2, all of it
        else:
            order.append(len(parts) + len(odd))
            odd.append(place)
    pick = itemgetter(*order) if order else _no_params  # one: a str, not a tuple
    return pick, tuple(odd)


def _no_params(parts: list[str]) -> tuple[str, ...]:
    return ()


class TemplateMiner(Families):
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
        super().__init__(max_templates, similarity, distinct_values)
        if cache_size < 1:
            raise ConfigError(f"cache_size must be at least 1, got {cache_size}")
        self.cache_size = cache_size
        self._batch = 0
        # Digit-folded message -> (template, version, params getter, number of params,
        # digit check getter, expected digits, the Match when there are no params,
        # the shape cache's epoch when made).
        self._fast: dict[bytes, tuple[Any, ...]] = {}
        self._fast_old: dict[bytes, tuple[Any, ...]] = {}
        # Masked message -> (template, version, param places, digit places, plain?,
        # volatile?, param reader): see _mine and _reader.
        self._shapes: dict[str | tuple[str, ...], tuple[Any, ...]] = {}
        self._shapes_old: dict[str | tuple[str, ...], tuple[Any, ...]] = {}
        # Bumped when the shape cache drops its old generation. A fast entry holds
        # while the epoch it was made in lasts: its shape is then still in the shape
        # cache, so the fast path answers exactly what the shape path would (a shape
        # that fell out of the cache is assigned again, and may then get another
        # template; the fast entries of that shape must not outlive it).
        self._epoch = 0

    # -- the public interface ------------------------------------------------------------

    @pausing
    def add_batch(self, records: Sequence[Record]) -> list[Match]:
        """Mine ``records`` in order: one :class:`Match` each.

        Ids and templates are settled at the end of the call: a record matched before
        a later record of the same batch merged or generalised its template gets the
        survivor's id, template and params (its ``change`` stays what it was)."""
        self._batch += 1
        batch = self._batch
        get = self._fast.get
        epoch = self._epoch
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
                template, version, getter, arity, check, expected, fixed, made_in = entry
                if (
                    template.version == version
                    and made_in == epoch
                    and (check is None or check(message) == expected)
                ):
                    template.last = batch
                    if fixed is not None:
                        append(fixed)
                    elif arity == 1:
                        append(match(template.id, template.text, "unchanged", (getter(message),)))
                    else:
                        append(match(template.id, template.text, "unchanged", getter(message)))
                    continue
            append(self._mine(message, key, entry, batch))
            epoch = self._epoch
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
        and the params read from the split (:func:`_reader`). A digit-folded key of
        a known shape gets a marker the first time and a fast entry the second; keys
        of a new shape, and of a *volatile* one (its values hold letters: hex ids,
        UUIDs), get neither: they rarely repeat, and would only push useful entries
        out."""
        if entry is None:
            entry = self._fast_old.get(key)
            if entry is not None and entry[0].version == entry[1] and entry[7] == self._epoch:
                check, expected = entry[4], entry[5]
                if check is None or check(message) == expected:
                    self._remember(key, entry)
                    return self._from_entry(entry, message, batch)
        parts = VARIABLE.split(message)
        texts = parts[::2]
        masked = W.join(texts)
        # A literal "<*>" in the message would make two splits look alike.
        shape_key: str | tuple[str, ...] = tuple(texts) if W in message else masked
        shape = self._shapes.get(shape_key) or self._shapes_old.get(shape_key)
        change: Change = "unchanged"
        cacheable = len(message) <= _MAX_CACHED_LENGTH
        known = shape is not None  # a shape seen before: its lines may well repeat
        if shape is None or shape[0].version != shape[1]:
            template, change, units = self._assign(split_units(masked))
            family = template.family
            found = param_places(units, parts, family.variable, family.affixes, template.gaps)
            volatile = any(_LETTER.search(v) for v in parts[1::2])
            shape = (template, template.version, *found, volatile, _reader(found[0], parts))
            if cacheable:
                if len(self._shapes) >= self.cache_size:
                    rotate(self._shapes, self._shapes_old)
                    self._epoch += 1
                self._shapes[shape_key] = shape
        template, _, places, checks, plain, volatile, reader = shape
        template.last = batch
        if cacheable and not volatile:
            if entry is not None and (entry[0].version != entry[1] or entry[7] != self._epoch):
                # Seen before (_SEEN), or its template or the epoch changed since: make
                # the fast entry.
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
                    self._epoch,
                )
                self._remember(key, entry)
                params = tuple(message[s] for s in slices)
                return _match(template.id, template.text, change, params)
            if known:  # a first sighting, or the same digits in other words
                self._remember(key, _SEEN)
        if plain:  # each param is one masked value, in order
            return _match(template.id, template.text, change, tuple(parts[1::2]))
        pick, odd = reader
        if odd:  # the params that are not one whole value, after the parts
            parts += [read(parts, place) for place in odd]
        picked = pick(parts)
        return _match(template.id, template.text, change, (picked,) if len(places) == 1 else picked)

    def _remember(self, key: bytes, entry: tuple[Any, ...]) -> None:
        if len(self._fast) >= self.cache_size:
            rotate(self._fast, self._fast_old)
        self._fast[key] = entry

    @staticmethod
    def _from_entry(entry: tuple[Any, ...], message: str, batch: int) -> Match:
        template, _, getter, arity, _, _, fixed, _ = entry
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

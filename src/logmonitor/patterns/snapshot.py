"""Versioned JSON snapshots of the template miner's state (never pickle).

The miner describes its state as the frozen records below (:class:`MinerState` and
the families and templates in it); :func:`encode` turns one into plain JSON types
with a ``"format"`` and a ``"version"``, :func:`decode` checks and reads it back, and
:func:`dumps` / :func:`loads` go to and from text. ``decode`` validates every field
and raises :class:`~logmonitor.errors.StateError` naming the bad one, or the version
it cannot read, instead of failing deep inside the miner; nothing in a snapshot is
ever executed, so a state file is data only.

>>> state = MinerState(10, 100, 0.6, 5, next_id=3, next_family=2, batch=1)
>>> decode(loads(dumps(encode(state)))) == state
True
>>> decode({"format": FORMAT, "version": 99})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
logmonitor.errors.StateError: template miner snapshot version 99 is not supported ...
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import StateError

__all__ = [
    "FORMAT",
    "VERSION",
    "FamilyState",
    "MinerState",
    "TemplateState",
    "decode",
    "dumps",
    "encode",
    "loads",
]

FORMAT = "logmonitor.template_miner"
VERSION = 1
"""Bump when the layout changes; :func:`decode` rejects every other version."""


@dataclass(frozen=True, slots=True)
class TemplateState:
    """One template: its id, its key (units, ``<*>`` where the family varies), the
    gaps where it has an optional wildcard, the batch that last matched it, and the
    ids merged into it."""

    id: int
    key: tuple[str, ...]
    gaps: tuple[int, ...] = ()
    last: int = 0
    aliases: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class FamilyState:
    """One family: per position its constant (``None`` where members differ), whether
    it is a wildcard, the distinct values seen where members differ, and the text kept
    around each wildcard."""

    id: int
    core: tuple[str | None, ...]
    variable: tuple[bool, ...]
    values: tuple[tuple[int, tuple[str, ...]], ...] = ()
    affixes: tuple[tuple[int, str, str], ...] = ()
    templates: tuple[TemplateState, ...] = ()


@dataclass(frozen=True, slots=True)
class MinerState:
    """Everything a :class:`~logmonitor.patterns.miner.TemplateMiner` has learned."""

    max_templates: int
    cache_size: int
    similarity: float
    distinct_values: int
    next_id: int = 1
    next_family: int = 1
    batch: int = 0
    families: tuple[FamilyState, ...] = ()
    aliases: tuple[tuple[int, int], ...] = ()  # (alias, survivor), oldest first


def encode(state: MinerState) -> dict[str, Any]:
    """``state`` as JSON types, tagged with :data:`FORMAT` and :data:`VERSION`."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "settings": {
            "max_templates": state.max_templates,
            "cache_size": state.cache_size,
            "similarity": state.similarity,
            "distinct_values": state.distinct_values,
        },
        "next_id": state.next_id,
        "next_family": state.next_family,
        "batch": state.batch,
        "families": [
            {
                "id": f.id,
                "core": list(f.core),
                "variable": list(f.variable),
                "values": [[j, list(v)] for j, v in f.values],
                "affixes": [list(a) for a in f.affixes],
                "templates": [
                    {
                        "id": t.id,
                        "key": list(t.key),
                        "gaps": list(t.gaps),
                        "last": t.last,
                        "aliases": list(t.aliases),
                    }
                    for t in f.templates
                ],
            }
            for f in state.families
        ],
        "aliases": [list(pair) for pair in state.aliases],
    }


def decode(data: Mapping[str, Any]) -> MinerState:
    """The state in ``data`` (from :func:`encode`), checked field by field."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
        raise StateError(
            f"not a template miner snapshot (format {found!r}, expected {FORMAT!r}); "
            "pass what TemplateMiner.to_snapshot() returned"
        )
    if data.get("version") != VERSION:
        raise StateError(
            f"template miner snapshot version {data.get('version')!r} is not supported "
            f"(this LogMonitor reads version {VERSION}); delete the saved miner state to "
            "start afresh, or upgrade LogMonitor"
        )
    settings = _object(data, "settings")
    families = []
    for item in _list(data, "families"):
        family = _object({"family": item}, "family")
        core = tuple(_text_or_none(v, "core") for v in _list(family, "core"))
        variable = tuple(_boolean(v, "variable") for v in _list(family, "variable"))
        templates = tuple(
            TemplateState(
                id=_integer(t, "id"),
                key=tuple(_text(v, "key") for v in _list(t, "key")),
                gaps=tuple(_integer_value(v, "gaps") for v in _list(t, "gaps")),
                last=_integer(t, "last"),
                aliases=tuple(_integer_value(v, "aliases") for v in _list(t, "aliases")),
            )
            for t in (_object({"template": v}, "template") for v in _list(family, "templates"))
        )
        if len(variable) != len(core) or any(len(t.key) != len(core) for t in templates):
            raise StateError(f"template miner snapshot: family {family.get('id')} has "
                             "positions of different lengths")  # fmt: skip
        families.append(
            FamilyState(
                id=_integer(family, "id"),
                core=core,
                variable=variable,
                values=tuple(
                    (
                        _position(pair, len(core)),
                        tuple(_text(v, "values") for v in _list({"values": pair[1]}, "values")),
                    )
                    for pair in _tuples(family, "values", 2)
                ),
                affixes=tuple(
                    (_position(a, len(core)), _text(a[1], "affixes"), _text(a[2], "affixes"))
                    for a in _tuples(family, "affixes", 3)
                ),
                templates=templates,
            )
        )
    return MinerState(
        max_templates=_integer(settings, "max_templates"),
        cache_size=_integer(settings, "cache_size"),
        similarity=_number(settings, "similarity"),
        distinct_values=_integer(settings, "distinct_values"),
        next_id=_integer(data, "next_id"),
        next_family=_integer(data, "next_family"),
        batch=_integer(data, "batch"),
        families=tuple(families),
        aliases=tuple(
            (_integer_value(p[0], "aliases"), _integer_value(p[1], "aliases"))
            for p in _tuples(data, "aliases", 2)
        ),
    )


def dumps(snapshot: Mapping[str, Any]) -> str:
    """The snapshot as compact JSON text (keys sorted: equal states, equal text)."""
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> dict[str, Any]:
    """The snapshot dict in :func:`dumps` text; :class:`StateError` if it is not JSON."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise StateError(f"template miner snapshot is not valid JSON ({error})") from error
    if not isinstance(data, dict):
        raise StateError("template miner snapshot must be a JSON object")
    return data


def _bad(field: str, expected: str) -> StateError:
    return StateError(f"template miner snapshot: {field!r} must be {expected}")


def _object(data: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    value = data.get(field)
    if not isinstance(value, Mapping):
        raise _bad(field, "an object")
    return value


def _list(data: Mapping[str, Any], field: str) -> list[Any]:
    value = data.get(field)
    if not isinstance(value, list):
        raise _bad(field, "a list")
    return value


def _tuples(data: Mapping[str, Any], field: str, size: int) -> list[list[Any]]:
    items = _list(data, field)
    if not all(isinstance(item, list) and len(item) == size for item in items):
        raise _bad(field, f"a list of {size}-item lists")
    return items


def _integer_value(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(field, "integers")
    return value


def _integer(data: Mapping[str, Any], field: str) -> int:
    return _integer_value(data.get(field), field)


def _position(pair: list[Any], length: int) -> int:
    position = _integer_value(pair[0], "position")
    if not 0 <= position < length:
        raise _bad("position", f"within the family's {length} positions")
    return position


def _number(data: Mapping[str, Any], field: str) -> float:
    value = data.get(field)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _bad(field, "a number")
    return float(value)


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _bad(field, "strings")
    return value


def _text_or_none(value: Any, field: str) -> str | None:
    return None if value is None else _text(value, field)


def _boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(field, "booleans")
    return value

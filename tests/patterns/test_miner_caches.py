"""TemplateMiner's fast cache changes how fast a line is mined, never what it gets: the
same lines in the same batches give the same matches with it as without it.

(The shape cache is part of the miner's memory, not only a speed-up: a shape it still
holds keeps its template, while a shape it dropped is assigned again and may join
another family. So "without" here means the fast cache only.)"""

from __future__ import annotations

import random
import re
from itertools import accumulate
from pathlib import Path
from typing import Any

from logmonitor import FakeClock
from logmonitor.parse.formats import LineParser
from logmonitor.patterns.masking import VARIABLE, WILDCARD, read
from logmonitor.patterns.miner import TemplateMiner
from logmonitor.records import LogLine, Match, Record

SYSTEMS = (
    "Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux", "Mac",
    "OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper",
)  # fmt: skip
_HEX = re.compile(r"(?<![A-Za-z0-9])(?=[0-9a-f]*[0-9])[0-9a-f]{5,}(?![A-Za-z0-9])")


class _NeverKept(dict):  # type: ignore[type-arg]
    """A cache that keeps nothing: every lookup misses."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def uncached() -> TemplateMiner:
    miner = TemplateMiner()
    for name in ("_fast", "_fast_old"):
        setattr(miner, name, _NeverKept())
    return miner


def _redraw(text: str, rng: random.Random) -> str:
    """Digits redrawn (their count too, sometimes) and hex ids redrawn, as the
    benchmark's generator does, so that lines repeat shapes with other values."""
    text = _HEX.sub(lambda m: "".join(rng.choice("0123456789abcdef") for _ in m[0]), text)
    return re.sub(r"\d+", lambda m: str(rng.randrange(10 ** rng.randint(1, len(m[0])))), text)


def _view(matches: list[Match]) -> list[tuple[object, ...]]:
    return [(m.template_id, m.template, m.change, m.params) for m in matches]


def _loghub_records(shared_data: Path, rng: random.Random) -> list[Record]:
    """Every Loghub-2k line, parsed, then each again with its values redrawn."""
    parser = LineParser(FakeClock(1_700_000_000.0))
    records: list[Record] = []
    for system in SYSTEMS:
        path = shared_data / "loghub-2k" / system / f"{system}_2k.log"
        texts = path.read_text(encoding="utf-8", errors="replace").splitlines()
        texts += [_redraw(t, rng) for t in texts]
        lines = [LogLine(system, system, t, 0, 0, n, 0.0) for n, t in enumerate(texts, 1)]
        records += parser.parse_batch(lines)
    return records


def test_the_shape_path_reads_params_as_slices_of_the_message(shared_data: Path) -> None:
    """The shape path reads a param that is one whole value as its part of the split,
    and any other with masking.read; both must give the slice of the message between
    the param's places, as the fast path takes it."""
    records = _loghub_records(shared_data, random.Random(5))
    miner = TemplateMiner(cache_size=1 << 17)  # keeps every shape
    for n in range(0, len(records), 1000):
        miner.add_batch(records[n : n + 1000])
    checked = read_apart = 0
    for record in records:
        message = record.message
        parts = VARIABLE.split(message)
        key = tuple(parts[::2]) if WILDCARD in message else WILDCARD.join(parts[::2])
        shape = miner._shapes.get(key) or miner._shapes_old.get(key)
        if shape is None:  # a message too long to be cached
            continue
        checked += 1
        places = shape[2]
        starts = [0, *accumulate(map(len, parts))]
        sliced = tuple(message[starts[a] + i : starts[b] + j] for a, i, b, j in places)
        pick, odd = shape[6]
        params = pick([*parts, *(read(parts, place) for place in odd)])
        assert ((params,) if len(places) == 1 else params) == sliced, message
        read_apart += bool(odd)
    assert checked > len(records) * 0.99
    assert read_apart > 1000


def test_cache_on_equals_cache_off_on_loghub(shared_data: Path) -> None:
    rng = random.Random(3)
    records = _loghub_records(shared_data, rng)
    # Systems interleaved in runs, then the whole again: the second pass is served by
    # the caches.
    runs = [records[i : i + 300] for i in range(0, len(records), 300)]
    rng.shuffle(runs)
    ordered = [r for run in runs for r in run] * 2
    batches = [ordered[i : i + 1000] for i in range(0, len(ordered), 1000)]
    cached, plain = TemplateMiner(), uncached()
    for batch in batches:
        assert _view(cached.add_batch(batch)) == _view(plain.add_batch(batch))
    assert not plain._fast
    assert not plain._fast_old
    assert cached._fast
    assert cached.to_snapshot() == plain.to_snapshot()

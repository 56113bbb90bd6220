"""Template mining: shared templates, stable ids, masks, the template cap."""

from __future__ import annotations

import itertools
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmonitor.patterns.miner import Drain3Miner, Miner
from logmonitor.records import LogLine, Record


def rec(text: str) -> Record:
    return Record(LogLine("s.log", "s.log", text, 0, 0, 1, 0.0), message=text)


def mine(miner: Drain3Miner, *texts: str) -> list[tuple[int, str, str]]:
    return [(m.template_id, m.template, m.change) for m in miner.add_batch([rec(t) for t in texts])]


def test_it_is_a_miner() -> None:
    miner: Miner = Drain3Miner()
    assert len(miner) == 0
    assert miner.add_batch([]) == []


def test_similar_lines_share_a_template() -> None:
    miner = Drain3Miner()
    (a, ta, ca), (b, tb, cb), (c, tc, cc) = mine(
        miner,
        "user alice logged in from 10.0.0.1",
        "user bob logged in from 10.0.0.2",
        "disk sda failed",
    )
    assert a == b != c
    assert (ca, cb, cc) == ("created", "updated", "created")
    assert ta == "user alice logged in from <IP>"
    assert tb == "user <*> logged in from <IP>"
    assert tc == "disk sda failed"
    assert len(miner) == 2


def test_change_kinds() -> None:
    miner = Drain3Miner()
    changes = [c for _, _, c in mine(miner, "job a done", "job b done", "job c done")]
    assert changes == ["created", "updated", "unchanged"]


def test_ids_are_stable() -> None:
    miner = Drain3Miner()
    lines = ["GET /a took 12 ms", "worker 3 started", "GET /b took 15 ms", "worker 4 started"]
    first = [i for i, _, _ in mine(miner, *lines)]
    again = [i for i, _, _ in mine(miner, *lines)]
    assert first == again
    assert first[0] == first[2]
    assert first[1] == first[3]
    # Another miner fed the same lines gives the same ids: runs repeat.
    assert [i for i, _, _ in mine(Drain3Miner(), *lines)] == first


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("conn from 10.0.0.1 closed", "conn from <IP> closed"),
        ("conn from 192.168.1.20:8080 closed", "conn from <IP> closed"),
        ("took 12 ms", "took <NUM> ms"),
        ("took 12ms total", "took <NUM> total"),
        ("offset -42 read", "offset <NUM> read"),
        ("addr 0xdeadBEEF fault", "addr <HEX> fault"),
        ("request 123e4567-e89b-12d3-a456-426614174000 done", "request <UUID> done"),
        ("Received blk_-1608999687919862906 ok", "Received <BLK> ok"),
        ("opened /var/log/app/x.log ok", "opened <PATH> ok"),
        ("id deadbeefcafebabe00 seen", "id <ID> seen"),
        ("iface 00:1a:2b:3c:4d:5e up", "iface <MAC> up"),
        # Words that contain digits stay words.
        ("ipv6 and utf8 enabled", "ipv6 and utf8 enabled"),
    ],
)
def test_masks(text: str, template: str) -> None:
    [(_, mined, _)] = mine(Drain3Miner(), text)
    assert mined == template


def test_masked_values_do_not_split_templates() -> None:
    miner = Drain3Miner()
    ids = {
        i
        for i, _, _ in mine(
            miner,
            "block blk_1 stored at /data/1/a on 10.0.0.1:50010 id 0x1f",
            "block blk_-22 stored at /data/7/b on 10.9.8.7:50010 id 0xa0",
            "block blk_333 stored at /srv/x/y/z on 172.16.0.1:1 id 0xffff",
        )
    }
    assert len(ids) == 1


def test_template_lookup() -> None:
    miner = Drain3Miner()
    [(i, _, _), (j, template, _)] = mine(miner, "job a done", "job b done")
    assert i == j
    assert miner.template(i) == template == "job <*> done"
    assert miner.template(12345) is None


def distinct_lines() -> list[str]:
    # Letters only (no digit parameters) and varying lengths, so Drain keeps them apart.
    words = ["".join(p) for p in itertools.product(string.ascii_lowercase, repeat=3)]
    lines = []
    for n, (a, b) in enumerate(itertools.pairwise(words[:400])):
        lines.append(" ".join([a, b, *[a] * (n % 5)]))
    return lines


def test_max_templates_bound_holds() -> None:
    miner = Drain3Miner(max_templates=20)
    matches = miner.add_batch([rec(t) for t in distinct_lines()])
    assert len({m.template_id for m in matches}) > 20  # there was something to evict
    assert len(miner) <= 20
    # The most recent templates remain; evicted ones are gone from lookups.
    assert miner.template(matches[-1].template_id) == matches[-1].template
    assert miner.template(matches[0].template_id) is None


def test_template_ids_are_never_reused_after_eviction() -> None:
    miner = Drain3Miner(max_templates=5)
    ids = [m.template_id for m in miner.add_batch([rec(t) for t in distinct_lines()])]
    created = list(dict.fromkeys(ids))
    assert created == sorted(created)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.lists(st.text(min_size=1, max_size=80), max_size=30))
def test_any_text_gets_a_template_and_the_cap_holds(texts: list[str]) -> None:
    miner = Drain3Miner(max_templates=5)
    matches = miner.add_batch([rec(t) for t in texts])
    assert len(matches) == len(texts)
    assert len(miner) <= 5
    for match in matches:
        assert match.template_id >= 1
        assert match.change in ("created", "updated", "unchanged")

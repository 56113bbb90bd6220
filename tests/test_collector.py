"""The collector pause around batches (logmonitor.collector)."""

from __future__ import annotations

import doctest
import gc
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from logmonitor import collector
from logmonitor.clock import FakeClock
from logmonitor.collector import paused, pausing
from logmonitor.parse.formats import LineParser
from logmonitor.patterns.miner import TemplateMiner
from logmonitor.records import LogLine, Record


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_doctests() -> None:
    failed, tried = doctest.testmod(collector)
    assert tried > 0
    assert failed == 0


def test_pause_disables_and_restores() -> None:
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pauses_nest() -> None:
    with paused():
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_exception_ends_the_pause() -> None:
    @pausing
    def boom() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        boom()
    assert gc.isenabled()


def test_pausing_keeps_the_function() -> None:
    @pausing
    def add(a: int, b: int = 1) -> int:
        """Adds."""
        assert not gc.isenabled()
        return a + b

    assert add(1, b=2) == 3
    assert add.__name__ == "add"
    assert add.__doc__ == "Adds."
    assert gc.isenabled()


def test_overlapping_pauses_of_two_threads() -> None:
    """The collector comes back only when the last pause of any thread ends, and
    then it does come back."""
    inside = threading.Event()
    release = threading.Event()
    seen: list[bool] = []

    def worker() -> None:
        with paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(10)
    with paused():
        pass
    seen.append(gc.isenabled())  # the worker's pause still holds
    release.set()
    thread.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_cycles_made_while_paused_are_collected_after() -> None:
    class Node:
        other: object = None

    with paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        keep = [[n] for n in range(10_000)]  # past every threshold: no collection ran
        assert ref() is not None
    del keep
    gc.collect()
    assert ref() is None


class _Probe(FakeClock):
    """A clock that notes whether the collector runs when the parser asks the time."""

    def __init__(self) -> None:
        super().__init__()
        self.enabled: list[bool] = []

    def now(self) -> float:
        self.enabled.append(gc.isenabled())
        return super().now()


def _line(text: str, n: int = 1) -> LogLine:
    return LogLine("a.log", "a.log", text, 0, len(text) + 1, n, 0.0)


def test_parse_batch_runs_paused() -> None:
    clock = _Probe()
    LineParser(clock).parse_batch([_line("2024-01-01 00:00:00 INFO x 1")])
    assert clock.enabled == [False]
    assert gc.isenabled()


def test_add_batch_runs_paused() -> None:
    seen: list[bool] = []

    class Records(Sequence[Record]):
        """A batch that notes whether the collector runs when the miner reads it
        (a plain Sequence: compiled code iterates it through __iter__)."""

        def __init__(self, items: list[Record]) -> None:
            self.items = items

        def __len__(self) -> int:
            return len(self.items)

        def __getitem__(self, index: Any) -> Any:
            return self.items[index]

        def __iter__(self) -> Iterator[Record]:
            seen.append(gc.isenabled())
            return iter(self.items)

    TemplateMiner().add_batch(Records([Record(_line("took 12 ms"), message="took 12 ms")]))
    assert seen
    assert not any(seen)
    assert gc.isenabled()


def test_the_pipeline_processes_each_chunk_paused(tmp_path: Path) -> None:
    from logmonitor import LogMonitor

    log = tmp_path / "app.log"
    log.write_text("".join(f"2024-01-01 00:00:{n:02d} INFO worker {n} done\n" for n in range(50)))
    monitor = LogMonitor([str(tmp_path)], 0.5, clock=FakeClock(1_704_067_300.0))
    pipeline = monitor._ready()
    seen: list[bool] = []
    process = pipeline._process

    def spy(*args: Any, **kwargs: Any) -> None:
        seen.append(gc.isenabled())
        process(*args, **kwargs)

    pipeline._process = spy  # type: ignore[method-assign]
    monitor.process_log_file(str(log))
    monitor.stop()
    # The chunk ran paused; the pending last record, released after the read loop
    # (a single record), need not be.
    assert seen[0] is False
    assert gc.isenabled()

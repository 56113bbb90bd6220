"""Pausing Python's cyclic garbage collector around one batch of lines.

A batch turns thousands of lines into records and matches at once. None of them can
be part of a reference cycle, yet each keeps the collector's allocation count rising
until its batch is done: the collector then runs dozens of times per batch, moves
the batch's objects through its generations and walks them again in full
collections, and never frees one (reference counting frees them when the batch is
dropped). :func:`paused` stops the collector for the batch; the objects the batch
dropped are gone before it runs again. ``make bench`` measures the gain: 11 % on
parse + mine (``bench/bench_miner_speed.py``), more end to end, where the batch's
objects die inside the pause.

The same technique, for the same reason: jedi pauses the collector while it loads
its pickles (davidhalter/jedi#323), and a CPython pull request proposes it while a
parsed AST is converted to Python objects (python/cpython#153583).

The collector is process-wide, so the pause is too, and nests: the outermost pause
disables the collector, if it was enabled, and re-enables it when the last pause of
any thread ends. A collector that was disabled before stays disabled. A program that
disables the collector *during* a batch finds it enabled again afterwards; it can
keep it off by calling ``gc.disable()`` when the batch returns. Nothing is lost
while paused: cyclic garbage made meanwhile (an exception's traceback, say) is
collected after the pause, and ``gc.collect()`` works as always.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["Paused", "paused", "pausing"]

F = TypeVar("F", bound=Callable[..., Any])


class Paused:
    """The context manager :func:`paused` returns: one for the process, since the
    collector is one (a class, not a generator: a generator would be one more object
    for the collector to count).

    >>> import gc
    >>> with paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """

    __slots__ = ("_depth", "_lock", "_reenable")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._reenable = False  # whether the outermost pause disabled the collector

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._reenable = gc.isenabled()
                if self._reenable:
                    gc.disable()
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._reenable:
                self._reenable = False
                gc.enable()


_PAUSED = Paused()


def paused() -> Paused:
    """A context manager that pauses the cyclic collector while it is entered."""
    return _PAUSED


def pausing(function: F) -> F:
    """``function`` with the collector paused while it runs."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _PAUSED:
            return function(*args, **kwargs)

    return cast(F, call)

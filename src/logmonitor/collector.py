"""Pausing Python's cyclic garbage collector around one batch of lines.

A batch turns thousands of lines into records and matches at once. None of them can
be part of a reference cycle, yet each keeps the collector's allocation count rising
until its batch is done: the collector then runs dozens of times per batch, moves
the batch's objects through its generations and walks them again in full
collections, and never frees one (reference counting frees them when the batch is
dropped). :func:`paused` stops the collector for the batch; the objects the batch
dropped are gone before it runs again. ``bench/bench_miner_speed.py`` measures
the gain on parse + mine (a row runs the same code with the pause made a no-op); it
is larger end to end, where the batch's objects die inside the pause.

The same technique, for the same reason: jedi pauses the collector while it loads
its pickles (davidhalter/jedi#323), and a CPython pull request proposes it while a
parsed AST is converted to Python objects (python/cpython#153583).

The collector is process-wide, so the pause is too, and nests: the outermost pause
disables the collector, if it was enabled, and re-enables it when the last pause of
any thread ends. A collector that was disabled before stays disabled. Nothing is
lost while paused: cyclic garbage made meanwhile (an exception's traceback, say) is
collected after the pause, and ``gc.collect()`` works as always. What a program
embedding LogMonitor should know:

* Its other threads (a web server, notification senders) are not collected while
  a batch runs either; a batch is one read of at most a few MiB.
* It cannot keep the collector off by calling ``gc.disable()`` while a pause holds:
  the pause's end enables it again. (``gc.enable()`` during a pause only ends the
  pause early.)
* Monitors that catch up on backlogs in several threads at once may overlap their
  pauses for long stretches.
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
        self._lock = threading.RLock()
        self._depth = 0
        self._reenable = False  # whether the outermost pause disabled the collector

    # An interrupt (a KeyboardInterrupt on the main thread) can land between two
    # steps here. __enter__ counts the pause before it disables the collector and
    # __exit__ enables it before it counts the pause as ended, so an interrupt in
    # most places leaves the collector on and the count one too high: later batches
    # then run unpaused, which costs speed only. One place remains: an interrupt
    # raised right after gc.disable() returns, before __enter__ does, leaves the
    # collector off, since no __exit__ follows a failed __enter__.

    def __enter__(self) -> None:
        with self._lock:
            self._depth += 1
            first = self._depth == 1
            if first:
                self._reenable = gc.isenabled()
        if first and self._reenable:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._depth == 1 and self._reenable:
                self._reenable = False
                gc.enable()
            self._depth -= 1


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

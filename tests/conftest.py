"""Shared fixtures: real temporary directories, a fake clock, and a polling wait.

``wait_for`` is a hang guard for tests that watch a background thread, not a
speed assertion: its generous deadline only turns a hang into a failure.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logmonitor import FakeClock

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]


def wait_for(
    predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.02
) -> None:
    """Poll ``predicate`` until it is true; fail the test if it never becomes true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s: {predicate!r}")


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    return directory


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing; CI must lay ../shared beside the repo")
        pytest.skip(f"{SHARED_DATA} not present")
    return SHARED_DATA


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove LOGMONITOR_* variables so settings come from the test alone."""
    for name in list(os.environ):
        if name.startswith("LOGMONITOR_"):
            monkeypatch.delenv(name)


@pytest.fixture
def sigint_reaches_children() -> Iterator[None]:
    """Let child processes see Ctrl-C even when pytest runs as a background job.

    A shell starts background jobs with SIGINT ignored, children inherit that, and
    Python then never raises KeyboardInterrupt. A handler (unlike an ignore) is reset
    to the default by exec, so children start with SIGINT as in a terminal.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)

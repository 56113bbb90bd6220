"""Headless Chromium for the dashboard tests: Debian's ``chromium`` driven by
Playwright (``executable_path``: Playwright's own browser download needs the
internet). The package is installed with apt-get when missing; if that fails
the tests fail loudly: never a silent skip."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from ..conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    command = ["apt-get", *args]
    if os.geteuid() != 0 and shutil.which("sudo"):
        command = ["sudo", "-n", *command]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def ensure_chromium() -> Path:
    """``/usr/bin/chromium``, installed first if missing (``apt-get update`` on failure)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        pytest.fail(f"{CHROMIUM} is missing and apt-get is not available; install chromium")
    done = _apt("install", "-y", "chromium")
    if done.returncode != 0:
        _apt("update")
        done = _apt("install", "-y", "chromium")
    if done.returncode != 0 or not CHROMIUM.exists():
        pytest.fail(
            f"cannot install chromium with apt-get (exit {done.returncode}); install it "
            f"by hand: apt-get install -y chromium\n{done.stderr[-2000:]}"
        )
    return CHROMIUM


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(ensure_chromium()), headless=True)
    yield chromium
    chromium.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

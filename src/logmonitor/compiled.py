"""Which of LogMonitor's modules run compiled, and when their Python source is used.

``make`` compiles the modules in :data:`MODULES` (the line parser and what it
calls per line) with mypyc when a C compiler is at hand. The extension modules land
beside their sources (``formats.cpython-311-x86_64-linux-gnu.so`` beside
``formats.py``), where the import system prefers them. Without a compiler nothing
is built and everything runs as Python; the results are the same either way (the
test suite runs both).

:func:`install` puts a finder in front of the import system that loads a module's
``.py`` instead of its compiled build

* when ``LOGMONITOR_PURE=1`` is set (``make test`` runs the parser's tests that way
  too), or
* when the build is older than the source (an edit since the last ``make``). That
  also warns: a stale build must never run in place of the code it was built from.

``compiled()`` says which modules run compiled in this process.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["MODULES", "PreferSource", "compiled", "install"]

MODULES: tuple[str, ...] = (
    "logmonitor.shapes",
    "logmonitor.parse.timestamps",
    "logmonitor.parse.formats",
    "logmonitor.patterns.masking",
    "logmonitor.patterns.families",
    "logmonitor.patterns.miner",
)
"""The modules ``make`` compiles; the Makefile's list must match (a test checks)."""

_ROOT = Path(__file__).resolve().parent.parent  # the directory holding the package


def _builds(source: Path) -> list[Path]:
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    return [p for p in (source.with_suffix(s) for s in suffixes) if p.exists()]


class PreferSource(importlib.abc.MetaPathFinder):
    """Loads a module of ``modules`` (found under ``root``) from its ``.py`` when it
    must not run compiled."""

    def __init__(self, modules: Sequence[str] = MODULES, root: Path = _ROOT) -> None:
        self.modules = frozenset(modules)
        self.root = root

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        source = self.root.joinpath(*fullname.split(".")).with_suffix(".py")
        builds = _builds(source)
        if not builds or not source.exists():
            return None  # nothing compiled: the usual import
        if os.environ.get("LOGMONITOR_PURE") != "1":
            built = min(p.stat().st_mtime for p in builds)
            if built >= source.stat().st_mtime:
                return None  # an up-to-date build: the usual import prefers it
            warnings.warn(
                f"{fullname}: its compiled build is older than {source.name}; running the "
                "Python source instead (run make to rebuild)",
                RuntimeWarning,
                stacklevel=2,
            )
        return importlib.util.spec_from_file_location(fullname, source)


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, PreferSource) for f in sys.meta_path):
        sys.meta_path.insert(0, PreferSource())


def compiled() -> tuple[str, ...]:
    """The listed modules that are imported and run from a compiled build."""
    return tuple(
        name
        for name in MODULES
        if (module := sys.modules.get(name)) is not None
        and not str(getattr(module, "__file__", "")).endswith(".py")
    )

"""Which of LogMonitor's modules run compiled, from which build, and when not.

``make`` compiles the modules in :data:`MODULES` (the line parser, the template
miner and what they call per line) with mypyc when a C compiler and Python's headers
are at hand. It builds from a copy of the sources in ``.venv/mypyc/`` (:data:`BUILD`),
never in the source tree, and writes a manifest there: the SHA-256 of each compiled
module's source. Without a compiler nothing is built and everything runs as Python;
the results are the same either way (``make test`` runs the parser's and the
miner's tests both ways).

:func:`install` (called by ``import logmonitor``) decides once per process, for all
the modules together:

* ``LOGMONITOR_PURE=1``: the Python source;
* a build whose manifest matches the sources: the build, through a finder put
  first on ``sys.meta_path``;
* a build made from other sources (an edit or a checkout since the last ``make``):
  the Python source, with a warning. A stale build never runs in place of the code
  it was built from, and the modules never mix builds and sources (compiled modules
  call each other directly).

An installed package (``pip install .``) has no build and runs as Python.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["BUILD", "MODULES", "UseBuild", "compiled", "install", "stale", "write_manifest"]

MODULES: tuple[str, ...] = (
    "logmonitor.shapes",
    "logmonitor.parse.timestamps",
    "logmonitor.parse.formats",
    "logmonitor.patterns.masking",
    "logmonitor.patterns.families",
    "logmonitor.patterns.miner",
)
"""The modules ``make`` compiles; the Makefile's list must match (a test checks)."""

_SOURCES = Path(__file__).resolve().parent.parent  # the directory holding the package
BUILD = _SOURCES.parent / ".venv" / "mypyc"
"""Where ``make`` builds (the repository's virtualenv, beside ``src``)."""

_MANIFEST = "manifest.json"


def _source(root: Path, name: str) -> Path:
    return root.joinpath(*name.split(".")).with_suffix(".py")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(build: Path, sources: Path = _SOURCES, modules: Sequence[str] = MODULES) -> None:
    """Record in ``build`` the SHA-256 of each module's source (``make`` calls this
    after a successful build)."""
    digests = {name: _digest(_source(sources, name)) for name in modules}
    (build / _MANIFEST).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")


def stale(build: Path, sources: Path = _SOURCES, modules: Sequence[str] = MODULES) -> list[str]:
    """The modules whose source differs from what ``build`` was made from (all of
    them when there is no manifest)."""
    try:
        built = json.loads((build / _MANIFEST).read_text())
    except (OSError, ValueError):
        return list(modules)
    out = []
    for name in modules:
        source = _source(sources, name)
        if not source.exists() or built.get(name) != _digest(source):
            out.append(name)
    return out


def _extension(directory: Path, stem: str) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / f"{stem}{suffix}"
        if path.exists():
            return path
    return None


class UseBuild(importlib.abc.MetaPathFinder):
    """Finds ``modules`` (and mypyc's shared library of them) in ``build``."""

    def __init__(self, build: Path, modules: Sequence[str] = MODULES) -> None:
        self.files: dict[str, Path] = {}
        for name in modules:
            parts = name.split(".")
            path = _extension(build.joinpath(*parts[:-1]), parts[-1])
            if path is not None:
                self.files[name] = path
        for path in build.glob("*__mypyc*"):  # the group's shared library
            if path.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
                self.files[path.name.split(".", 1)[0]] = path

    def complete(self, modules: Sequence[str] = MODULES) -> bool:
        return all(name in self.files for name in modules)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        return None if file is None else importlib.util.spec_from_file_location(fullname, file)


def install(build: Path = BUILD) -> bool:
    """Run the compiled build in this process when it may (see the module's doc);
    True when it does. Decided once: later calls change nothing."""
    if any(isinstance(f, UseBuild) for f in sys.meta_path):
        return True
    if os.environ.get("LOGMONITOR_PURE") == "1" or not build.is_dir():
        return False
    finder = UseBuild(build)
    if not finder.complete() or not (build / _MANIFEST).exists():
        return False  # no build, or one make has not finished
    changed = stale(build)
    if changed:
        warnings.warn(
            f"the compiled build in {build} was made from other sources than these "
            f"({', '.join(changed)}); running the Python source (run make to rebuild)",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    sys.meta_path.insert(0, finder)
    return True


def compiled() -> tuple[str, ...]:
    """The listed modules that are imported and run from a compiled build."""
    return tuple(
        name
        for name in MODULES
        if (module := sys.modules.get(name)) is not None
        and not str(getattr(module, "__file__", "")).endswith(".py")
    )

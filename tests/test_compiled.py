"""The parser's compiled build (logmonitor.compiled, the Makefile's mypyc step)."""

from __future__ import annotations

import importlib.machinery
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from logmonitor import compiled
from logmonitor.compiled import UseBuild, stale, write_manifest

from .conftest import REPO


def test_the_makefile_compiles_the_listed_modules() -> None:
    text = (REPO / "Makefile").read_text()
    found = re.search(r"^COMPILED := ((?:.*\\\n)*.*)$", text, re.MULTILINE)
    assert found is not None
    paths = found.group(1).replace("\\\n", " ").split()
    names = tuple(p.removeprefix("src/").removesuffix(".py").replace("/", ".") for p in paths)
    assert names == compiled.MODULES


def _which_files(pure: bool) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOGMONITOR_PURE"}
    if pure:
        env["LOGMONITOR_PURE"] = "1"
    code = (
        "import importlib, logmonitor.compiled as c\n"
        "for name in c.MODULES: print(importlib.import_module(name).__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_logmonitor_pure_runs_the_python_source() -> None:
    assert all(path.endswith(".py") for path in _which_files(pure=True))


def test_the_build_runs_where_make_could_build_it() -> None:
    """With a C compiler and Python's headers, `make` compiles the parser, and it is
    what runs (in CI this must hold; elsewhere the tests run either way)."""
    files = _which_files(pure=False)
    if os.environ.get("CI") != "true" and not all(f.endswith(".so") for f in files):
        pytest.skip("no compiled build here (make builds it when a C compiler is present)")
    assert shutil.which("cc") is not None
    assert all(not f.endswith(".py") for f in files), files


MODULES = ("pkg.mod", "pkg.sub.other")


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    """Sources of two modules, and a build of them (stand-in extension files, never
    loaded) with its manifest."""
    sources, build = tmp_path / "src", tmp_path / "build"
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for name in MODULES:
        parts = name.split(".")
        source = sources.joinpath(*parts).with_suffix(".py")
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"NAME = {name!r}\n")
        target = build.joinpath(*parts[:-1], parts[-1] + suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"stand-in")
    (build / f"0123abcd__mypyc{suffix}").write_bytes(b"stand-in")
    write_manifest(build, sources, MODULES)
    return sources, build


def test_a_build_matching_its_sources_is_found(tmp_path: Path) -> None:
    sources, build = _tree(tmp_path)
    assert stale(build, sources, MODULES) == []
    finder = UseBuild(build, MODULES)
    assert finder.complete(MODULES)
    spec = finder.find_spec("pkg.sub.other", None)
    assert spec is not None
    assert str(spec.origin).startswith(str(build))
    shared = finder.find_spec("0123abcd__mypyc", None)
    assert shared is not None
    assert finder.find_spec("pkg.unlisted", None) is None


def test_an_edited_source_makes_the_build_stale(tmp_path: Path) -> None:
    sources, build = _tree(tmp_path)
    edited = sources / "pkg" / "sub" / "other.py"
    edited.write_text("NAME = 'edited'\n")
    assert stale(build, sources, MODULES) == ["pkg.sub.other"]
    # A touch alone (same bytes) does not.
    edited.write_text("NAME = 'pkg.sub.other'\n")
    os.utime(edited, (0, 0))
    assert stale(build, sources, MODULES) == []
    (build / "manifest.json").unlink()
    assert stale(build, sources, MODULES) == list(MODULES)


def test_an_incomplete_build_is_not_used(tmp_path: Path) -> None:
    _, build = _tree(tmp_path)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (build / "pkg" / f"mod{suffix}").unlink()
    assert not UseBuild(build, MODULES).complete(MODULES)


def test_an_edit_since_the_build_runs_the_source_with_a_warning(tmp_path: Path) -> None:
    """End to end, in a child process: a copy of the package whose build no longer
    matches its sources; every listed module (not only the edited one) runs from
    its source."""
    files = _which_files(pure=False)
    if not all(f.endswith(".so") for f in files):
        pytest.skip("no compiled build here (make builds it when a C compiler is present)")
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "src", copy / "src")
    shutil.copytree(REPO / ".venv" / "mypyc", copy / ".venv" / "mypyc")
    masking = copy / "src" / "logmonitor" / "patterns" / "masking.py"
    masking.write_text(masking.read_text() + "\nEDITED = True\n")
    code = (
        "import importlib, warnings, logmonitor.compiled as c\n"
        "mods = [importlib.import_module(n) for n in c.MODULES]\n"
        "print(all(m.__file__.endswith('.py') for m in mods), "
        "getattr(mods[3], 'EDITED', False))"
    )
    env = {k: v for k, v in os.environ.items() if k != "LOGMONITOR_PURE"}
    env["PYTHONPATH"] = str(copy / "src")
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        env=env, capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.stdout.split() == ["True", "True"]
    assert "made from other sources" in done.stderr

"""The parser's compiled build (logmonitor.compiled, the Makefile's mypyc step)."""

from __future__ import annotations

import importlib.machinery
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from logmonitor import compiled
from logmonitor.compiled import PreferSource

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


def _tree(tmp_path: Path, build_age: float) -> PreferSource:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = package / "mod.py"
    source.write_text("WHERE = 'source'\n")
    build = package / f"mod{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    build.write_bytes(b"not a real extension")
    stamp = source.stat().st_mtime
    os.utime(build, (stamp + build_age, stamp + build_age))
    return PreferSource(("pkg.mod",), tmp_path)


def test_a_build_older_than_its_source_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOGMONITOR_PURE", raising=False)
    finder = _tree(tmp_path, build_age=-60.0)
    with pytest.warns(RuntimeWarning, match="older than mod.py"):
        spec = finder.find_spec("pkg.mod", None)
    assert spec is not None
    assert spec.origin == str(tmp_path / "pkg" / "mod.py")


def test_an_up_to_date_build_is_left_to_the_usual_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOGMONITOR_PURE", raising=False)
    finder = _tree(tmp_path, build_age=60.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert finder.find_spec("pkg.mod", None) is None
        assert finder.find_spec("pkg.other", None) is None
    monkeypatch.setenv("LOGMONITOR_PURE", "1")
    spec = finder.find_spec("pkg.mod", None)
    assert spec is not None
    assert str(spec.origin).endswith("mod.py")

"""Packaging promises: one dependency list, a small explicit public surface, the
console script, the licence, and the README's two-command quick start."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import logmonitor

from .conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SRC = REPO / "src" / "logmonitor"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def normalize(requirement: str) -> str:
    """PEP 503 name of a requirement line ("scikit_learn>=1.3" -> "scikit-learn")."""
    found = _NAME.match(requirement.strip())
    assert found is not None, f"not a requirement: {requirement!r}"
    return re.sub(r"[-_.]+", "-", found.group(0)).lower()


def requirement_lines() -> list[str]:
    text = (REPO / "requirements.txt").read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def test_requirements_txt_names_the_same_packages_as_pyproject() -> None:
    declared = pyproject()["project"]["dependencies"]
    assert sorted(normalize(r) for r in requirement_lines()) == sorted(
        normalize(r) for r in declared
    )


def test_requirements_txt_has_the_same_specifiers_as_pyproject() -> None:
    def squash(requirement: str) -> str:
        return re.sub(r"\s+", "", requirement)

    declared = pyproject()["project"]["dependencies"]
    assert sorted(map(squash, requirement_lines())) == sorted(map(squash, declared))


def test_package_all_is_sorted_and_complete() -> None:
    names = logmonitor.__all__
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(logmonitor, name), f"logmonitor.__all__ names a missing {name}"
    public = {n for n in vars(logmonitor) if not n.startswith("_")}
    public -= {n for n, v in vars(logmonitor).items() if type(v) is type(logmonitor)}  # modules
    public -= {"annotations"}  # from __future__ import annotations
    assert public <= set(names), f"public but not in __all__: {sorted(public - set(names))}"


def is_empty(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return not body


def modules() -> list[Path]:
    """Every module that must declare ``__all__``: all but ``__main__.py`` (the
    ``python -m logmonitor`` script, never imported) and empty package
    ``__init__.py`` files (they export nothing)."""
    return [
        path
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "__main__.py" and not is_empty(path)
    ]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def declared_all(path: Path) -> list[str] | None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list), f"{path}: __all__ should be a list"
            return value
    return None


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_every_module_declares_all(path: Path) -> None:
    names = declared_all(path)
    assert names is not None, f"{path.relative_to(REPO)} has no __all__"
    module = importlib.import_module(module_name(path))
    for name in names:
        assert hasattr(module, name), f"{module.__name__}.__all__ names a missing {name}"
    assert len(set(names)) == len(names)


def test_console_script_is_declared() -> None:
    scripts = pyproject()["project"]["scripts"]
    assert scripts["logmonitor"] == "logmonitor.cli:main"
    target, function = scripts["logmonitor"].split(":")
    assert callable(getattr(importlib.import_module(target), function))


def test_license_is_mit() -> None:
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "MIT License"
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    assert pyproject()["project"]["license"] == "MIT"


def test_readme_quick_start_is_make_run_and_make_test() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^#+\s*Quick start\s*$(.*?)(?=^#+\s)", readme, re.M | re.S | re.I)
    assert section is not None, "README.md has no 'Quick start' section"
    block = re.search(r"^```[a-z]*\n(.*?)^```", section.group(1), re.M | re.S)
    assert block is not None, "the quick start has no code block"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    assert [c for c in commands if c] == ["make run", "make test"]

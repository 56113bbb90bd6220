"""The dashboard's files ship in the wheel (hatchling, the build backend, builds it)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hatchling.build import build_wheel

from ..conftest import REPO

API = REPO / "src" / "logmonitor" / "api"


def test_static_files_and_templates_are_in_the_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    wheel = tmp_path / build_wheel(str(tmp_path))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"logmonitor/api/{path.relative_to(API).as_posix()}"
        for folder in ("static", "templates")
        for path in (API / folder).rglob("*")
        if path.is_file()
    }
    assert {"logmonitor/api/templates/index.html", "logmonitor/api/static/dashboard.js"} <= expected
    assert expected <= names

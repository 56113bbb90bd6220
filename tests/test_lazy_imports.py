"""``import logmonitor`` and the commands that need no detector stay light: the
monitor (scikit-learn, SciPy) is imported on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import logmonitor


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stdout.split())


def test_the_package_the_parser_miner_and_cli_do_not_load_scikit_learn() -> None:
    loaded = _modules_after(
        "import logmonitor, logmonitor.cli, logmonitor.patterns.miner, logmonitor.parse.formats"
    )
    assert "logmonitor.cli.patterns" in loaded
    assert not {"sklearn", "scipy", "logmonitor.monitor"} & loaded


def test_the_monitor_is_imported_on_first_use() -> None:
    loaded = _modules_after("from logmonitor import LogMonitor")
    assert {"sklearn", "logmonitor.monitor"} <= loaded
    from logmonitor import LogMonitor, MemorySink, Sink

    assert LogMonitor.__module__ == "logmonitor.monitor"
    assert {MemorySink.__module__, Sink.__module__} == {"logmonitor.sinks.base"}
    assert {"LogMonitor", "MemorySink", "Sink"} <= set(dir(logmonitor))
    assert set(logmonitor.__all__) <= set(dir(logmonitor))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        logmonitor.Nope  # noqa: B018


def test_mypy_still_catches_a_misspelled_name(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import logmonitor\n\nx: int = logmonitor.LogMonitr\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", str(probe)],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert 'has no attribute "LogMonitr"' in done.stdout


def test_watch_freezes_the_collector_only_in_a_process_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from logmonitor.cli import base, main

    seen: list[bool] = []
    monkeypatch.setattr(base, "_process", {"own": True})
    monkeypatch.setattr(sys, "argv", ["logmonitor", "--version"])
    main(["--version"])  # a program calling main([...])
    seen.append(base.own_process())
    main()  # the console script: the command line is the process's own
    seen.append(base.own_process())
    main(["--version"], own_process=True)  # log_monitor.py run as a script
    seen.append(base.own_process())
    assert seen == [False, True, True]

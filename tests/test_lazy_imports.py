"""``import logmonitor`` and the commands that need no detector stay light: the
monitor (scikit-learn, SciPy) is imported on first use."""

from __future__ import annotations

import subprocess
import sys

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

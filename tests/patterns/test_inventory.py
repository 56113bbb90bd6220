"""``Inventory``: the templates of whole files, with counts, examples and per-line ids."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from logmonitor.patterns.inventory import Inventory
from logmonitor.patterns.miner import Drain3Miner

LINES = [
    "2024-01-01 00:00:00,000 INFO request 17 served in 3 ms",
    "2024-01-01 00:00:01,000 INFO request 18 served in 5 ms",
    "2024-01-01 00:00:02,000 ERROR disk /dev/sda failed: OSError: I/O error 5",
    "2024-01-01 00:00:03,000 INFO request 19 served in 4 ms",
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_rows_count_templates_with_a_first_example(tmp_path: Path) -> None:
    path = write(tmp_path / "app.log", LINES)
    inventory = Inventory(Drain3Miner())
    assert inventory.add_file(str(path)) == 4
    rows = inventory.rows()
    assert [row.count for row in rows] == [3, 1]
    assert rows[0].template == "request <NUM> served in <NUM> ms"
    assert rows[0].example == LINES[0]
    assert (rows[0].path, rows[0].line_number) == (str(path), 1)
    assert rows[1].line_number == 3


def test_per_line_gives_every_line_its_template(tmp_path: Path) -> None:
    path = write(tmp_path / "app.log", LINES)
    inventory = Inventory(Drain3Miner())
    inventory.add_file(str(path))
    rows = list(inventory.per_line(str(path)))
    assert [number for number, _, _ in rows] == [1, 2, 3, 4]
    assert rows[0][1] == rows[1][1] == rows[3][1] != rows[2][1]
    assert rows[2][2].startswith("disk")


def test_several_files_share_one_miner(tmp_path: Path) -> None:
    a = write(tmp_path / "a.log", LINES[:2])
    b = write(tmp_path / "b.log", LINES[3:])
    inventory = Inventory(Drain3Miner())
    inventory.add_file(str(a))
    inventory.add_file(str(b))
    [row] = inventory.rows()
    assert row.count == 3
    assert inventory.files == [str(a), str(b)]


def test_unreadable_file_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Inventory(Drain3Miner()).add_file(str(tmp_path / "missing.log"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logmonitor", "patterns", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_cli_patterns_formats(tmp_path: Path) -> None:
    path = str(write(tmp_path / "app.log", LINES))
    as_json = json.loads(run_cli("--format", "json", path).stdout)
    assert [row["count"] for row in as_json] == [3, 1]
    as_csv = list(csv.DictReader(io.StringIO(run_cli("--format", "csv", path).stdout)))
    assert as_csv[0]["template"] == "request <*> served in <*> ms"
    assert as_csv[0]["count"] == "3"
    table = run_cli(path)
    assert table.returncode == 0
    assert "2 templates in 4 records" in table.stdout


def test_cli_patterns_per_line_csv(tmp_path: Path) -> None:
    path = str(write(tmp_path / "app.log", LINES))
    result = run_cli("--per-line", path)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["line_number", "template_id", "template"]
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "4"]
    assert rows[1][2] == "request <*> served in <*> ms"
    two = run_cli("--per-line", path, str(write(tmp_path / "b.log", LINES[:1])))
    header, *body = list(csv.reader(io.StringIO(two.stdout)))
    assert header == ["file", "line_number", "template_id", "template"]
    assert len(body) == 5


def test_cli_patterns_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli(str(tmp_path / "missing.log"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("logmonitor: error: cannot read")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_stack_trace_is_one_record_and_its_lines_share_the_template(tmp_path: Path) -> None:
    path = write(
        tmp_path / "app.log",
        [
            "2024-01-01 00:00:00,000 ERROR request failed",
            "Traceback (most recent call last):",
            '  File "app.py", line 3, in handle',
            "    run()",
            "ValueError: bad input",
            "2024-01-01 00:00:01,000 INFO request 18 served in 5 ms",
        ],
    )
    inventory = Inventory(Drain3Miner())
    assert inventory.add_file(str(path)) == 6
    rows = list(inventory.per_line(str(path)))
    assert [number for number, _, _ in rows] == [1, 2, 3, 4, 5, 6]
    assert len({tid for _, tid, _ in rows[:5]}) == 1
    assert rows[5][1] != rows[0][1]
    assert [row.count for row in inventory.rows()] == [1, 1]

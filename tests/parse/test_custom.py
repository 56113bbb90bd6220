"""[[formats]]: header layouts of the user's own, from the config to the records."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from logmonitor import FakeClock, LogMonitor
from logmonitor.cli import cli
from logmonitor.config import load_settings
from logmonitor.errors import ConfigError
from logmonitor.parse.custom import custom_layouts, parser_for
from logmonitor.records import LogLine

NOW = 1_700_000_000.0  # 2023-11-14
BILLING = {
    "name": "billing",
    "regex": r"^#(?P<ts>[^#]+)#(?P<level>\w+)#(?P<comp>[\w.]+)#(?P<msg>.*)$",
    "time_format": "%d.%m.%Y %H:%M:%S",
}


def parse(tables: list[dict[str, Any]], *texts: str) -> list[Any]:
    parser = parser_for(tables, FakeClock(NOW))
    lines = [LogLine("s", "s", t, 0, len(t) + 1, n, 0.0) for n, t in enumerate(texts, 1)]
    return parser.parse_batch(lines)


def test_a_user_layout_splits_its_lines_and_reads_the_time_format() -> None:
    [record] = parse([BILLING], "#14.11.2023 10:00:05#ERROR#pay.api#card 4711 declined")
    assert record.format == "billing"
    assert record.timestamp == time.mktime((2023, 11, 14, 10, 0, 5, 0, 0, -1))
    assert (record.level, record.component, record.message) == (
        "error", "pay.api", "card 4711 declined",
    )  # fmt: skip


def test_lines_the_user_layout_does_not_match_go_on_to_the_built_in_ones() -> None:
    records = parse([BILLING], "2023-11-14T10:00:05Z WARN disk: 91% full", "just words")
    assert records[0].format != "billing"
    assert records[0].level == "warning"
    assert records[0].timestamp == 1_699_956_005.0
    assert (records[1].format, records[1].message) == ("raw", "just words")


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2023-11-14T10:00:05Z", 1_699_956_005.0),
        ("1699956005", 1_699_956_005.0),
        ("1699956005123", 1_699_956_005.123),
        ("Nov 14 10:00:05", time.mktime((2023, 11, 14, 10, 0, 5, 0, 0, -1))),
        ("yesterday-ish", None),
    ],
)
def test_without_a_time_format_the_stamp_is_guessed(stamp: str, expected: float | None) -> None:
    table = {"name": "pipe", "regex": r"^(?P<ts>[^|]+)\|(?P<msg>.*)$"}
    [record] = parse([table], f"{stamp}|job 7 done")
    assert record.format == "pipe"
    assert record.message == "job 7 done"
    if expected is None:
        assert record.timestamp is None
    else:
        assert record.timestamp == pytest.approx(expected)


def test_a_time_format_without_a_year_takes_the_most_recent_date() -> None:
    table = {**BILLING, "time_format": "%d.%m %H:%M:%S"}
    [this_year, last_year] = parse([table], "#14.11 09:00:00#INFO#a#x", "#20.12 09:00:00#INFO#a#x")
    assert this_year.timestamp == time.mktime((2023, 11, 14, 9, 0, 0, 0, 0, -1))
    assert last_year.timestamp == time.mktime((2022, 12, 20, 9, 0, 0, 0, 0, -1))


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"regex": "(?P<msg>.*)"}, "needs a name"),
        ({"name": "x"}, "needs a regex"),
        ({"name": "x", "regex": "(?P<msg>.*"}, "not a valid regular expression"),
        ({"name": "x", "regex": "(?P<text>.*)"}, "needs a (?P<msg>...) group"),
        ({"name": "x", "regex": "(?P<host>\\S+) (?P<msg>.*)"}, "groups ['host']"),
        ({"name": "x", "regex": "(?P<msg>.*)", "time_format": "%H"}, "no (?P<ts>...) group"),
        ({"name": "x", "regex": "(?P<ts>\\S+)(?P<msg>.*)", "time_format": "H:M"}, "strptime"),
        ({"name": "x", "regex": "(?P<msg>.*)", "zone": "UTC"}, "unknown keys ['zone']"),
    ],
)
def test_a_bad_table_is_a_config_error_that_names_it(table: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match="formats\\[0\\]") as caught:
        custom_layouts([table], "app.toml")
    assert problem in str(caught.value)
    assert "app.toml" in str(caught.value)


def test_two_tables_may_not_share_a_name() -> None:
    with pytest.raises(ConfigError, match="formats\\[1\\] repeats the name 'billing'"):
        custom_layouts([BILLING, BILLING])


def write_config(tmp_path: Path, logs: Path, formats: str) -> Path:
    path = tmp_path / "logmonitor.toml"
    path.write_text(f'log_dirs = ["{logs}"]\n\n{formats}', encoding="utf-8")
    return path


BILLING_TOML = """
[[formats]]
name = "billing"
regex = '^#(?P<ts>[^#]+)#(?P<level>\\w+)#(?P<comp>[\\w.]+)#(?P<msg>.*)$'
time_format = "%d.%m.%Y %H:%M:%S"
"""


def test_the_config_file_carries_formats_and_checks_them(tmp_path: Path, log_dir: Path) -> None:
    settings = load_settings(str(write_config(tmp_path, log_dir, BILLING_TOML)))
    assert [dict(t) for t in settings.formats] == [BILLING]
    bad = write_config(tmp_path, log_dir, '[[formats]]\nname = "x"\nregex = "(?P<m>.*)"\n')
    with pytest.raises(ConfigError, match=f"formats\\[0\\] regex needs .*fix 'formats' in {bad}"):
        load_settings(str(bad))
    with pytest.raises(ConfigError, match="array of tables"):
        load_settings(environ={"LOGMONITOR_FORMATS": '{"name": "x"}'})


def test_the_monitor_parses_with_the_user_layout(tmp_path: Path, log_dir: Path) -> None:
    app = log_dir / "billing.log"
    app.write_text(
        "".join(
            f"#14.11.2023 10:00:0{n}#ERROR#pay.api#card {4700 + n} declined\n" for n in range(5)
        ),
        encoding="utf-8",
    )
    settings = load_settings(str(write_config(tmp_path, log_dir, BILLING_TOML)))
    clock = FakeClock(NOW)
    monitor = LogMonitor(
        [str(log_dir)], 0.5, settings=settings.replace(from_beginning=True),
        clock=clock, state=str(tmp_path / "s.db"),
    )  # fmt: skip
    try:
        monitor.process_log_file(str(app))
        clock.advance(120.0)  # the window closes: its templates are counted
        monitor.process_log_file(str(app))
        [stat] = monitor.patterns()
    finally:
        monitor.stop()
    assert (stat.template, stat.count) == ("card <*> declined", 5)
    assert stat.first_seen == time.mktime((2023, 11, 14, 10, 0, 0, 0, 0, -1))


def test_logmonitor_patterns_takes_the_formats_of_a_config(tmp_path: Path, log_dir: Path) -> None:
    app = log_dir / "billing.log"
    app.write_text("#14.11.2023 10:00:01#ERROR#pay.api#card 4711 declined\n", encoding="utf-8")
    config = write_config(tmp_path, log_dir, BILLING_TOML)
    runner = CliRunner()
    mined = runner.invoke(cli, ["patterns", "--format", "json", "--config", str(config), str(app)])
    assert mined.exit_code == 0, mined.output
    assert [t["template"] for t in json.loads(mined.output)] == ["card <*> declined"]
    plain = runner.invoke(cli, ["patterns", "--format", "json", str(app)])
    assert json.loads(plain.output)[0]["template"] != "card <*> declined"
    broken = tmp_path / "broken.toml"
    broken.write_text('[[formats]]\nname = "x"\n', encoding="utf-8")
    failed = runner.invoke(cli, ["patterns", "--config", str(broken), str(app)])
    assert failed.exit_code == 2
    assert "formats[0] needs a regex" in failed.output

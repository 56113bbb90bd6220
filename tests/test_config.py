"""Settings: defaults < TOML file < LOGMONITOR_* environment < command-line overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from logmonitor.config import Settings, load_settings
from logmonitor.errors import ConfigError, LogMonitorError, SourceError

pytestmark = pytest.mark.usefixtures("no_env")


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    return directory


@pytest.fixture
def config(tmp_path: Path, logs: Path) -> str:
    return write(
        tmp_path / "logmonitor.toml",
        f"""
log_dirs = ["{logs}"]
alert_threshold = 0.6

[detect]
window_seconds = 30.0
warmup_windows = 5
seed = 7

[sources]
from_beginning = true
include = ["*.log", "*.txt"]
""",
    )


def test_defaults_are_valid() -> None:
    settings = Settings()
    assert settings.alert_threshold == 0.5
    assert settings.log_dirs == ("/var/log",)
    if os.path.isdir("/var/log"):
        assert settings.validate() is settings


def test_defaults_with_an_existing_directory(logs: Path) -> None:
    settings = load_settings(environ={}, overrides={"log_dirs": (str(logs),)})
    assert settings == Settings(log_dirs=(str(logs),))


def test_file_keys_load_from_top_level_and_tables(config: str, logs: Path) -> None:
    settings = load_settings(config, environ={})
    assert settings.log_dirs == (str(logs),)
    assert settings.alert_threshold == 0.6
    assert settings.window_seconds == 30.0
    assert settings.warmup_windows == 5
    assert settings.seed == 7
    assert settings.from_beginning is True
    assert settings.include == ("*.log", "*.txt")
    assert settings.max_templates == Settings().max_templates


def test_integers_are_accepted_for_floats(tmp_path: Path, logs: Path) -> None:
    path = write(tmp_path / "c.toml", f'log_dirs = ["{logs}"]\nalert_threshold = 1\n')
    settings = load_settings(path, environ={})
    assert settings.alert_threshold == 1.0
    assert isinstance(settings.alert_threshold, float)


def test_environment_overrides_the_file(config: str, tmp_path: Path) -> None:
    other = tmp_path / "other"
    more = tmp_path / "more"
    other.mkdir()
    more.mkdir()
    env = {
        "LOGMONITOR_ALERT_THRESHOLD": "0.8",
        "LOGMONITOR_LOG_DIRS": os.pathsep.join([str(other), str(more)]),
        "LOGMONITOR_FROM_BEGINNING": "no",
        "LOGMONITOR_WARMUP_WINDOWS": "9",
    }
    settings = load_settings(config, environ=env)
    assert settings.alert_threshold == 0.8
    assert settings.log_dirs == (str(other), str(more))
    assert settings.from_beginning is False
    assert settings.warmup_windows == 9
    assert settings.window_seconds == 30.0  # still the file's


def test_the_process_environment_is_read_by_default(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGMONITOR_ALERT_THRESHOLD", "0.9")
    assert load_settings(config).alert_threshold == 0.9


def test_overrides_win_over_the_environment(config: str, tmp_path: Path) -> None:
    cli_dir = tmp_path / "cli"
    cli_dir.mkdir()
    env = {"LOGMONITOR_ALERT_THRESHOLD": "0.8", "LOGMONITOR_LOG_DIRS": str(tmp_path)}
    settings = load_settings(
        config,
        environ=env,
        overrides={"alert_threshold": 0.95, "log_dirs": (str(cli_dir),), "window_seconds": None},
    )
    assert settings.alert_threshold == 0.95
    assert settings.log_dirs == (str(cli_dir),)
    assert settings.window_seconds == 30.0  # None means "flag not given"


def test_relative_log_dirs_resolve_against_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir = tmp_path / "etc"
    (conf_dir / "app-logs").mkdir(parents=True)
    path = write(conf_dir / "logmonitor.toml", 'log_dirs = ["app-logs"]\n')
    monkeypatch.chdir(tmp_path)  # not where the file is
    settings = load_settings(path, environ={})
    assert settings.log_dirs == (str(conf_dir / "app-logs"),)


def test_relative_dirs_from_the_environment_stay_relative_to_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str
) -> None:
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path)
    settings = load_settings(config, environ={"LOGMONITOR_LOG_DIRS": "here"})
    assert settings.log_dirs == ("here",)


def test_unknown_key_lists_the_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "[detect]\nwarmup = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert "'warmup'" in message
    assert path in message
    assert "warmup_windows" in message
    assert "alert_threshold" in message


def test_unknown_override_is_a_config_error(logs: Path) -> None:
    with pytest.raises(ConfigError, match="threshhold"):
        load_settings(environ={}, overrides={"log_dirs": (str(logs),), "threshhold": 0.5})


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('alert_threshold = "0.7"', "alert_threshold"),
        ("log_dirs = [1, 2]", "log_dirs"),
        ('log_dirs = "/var/log"', "log_dirs"),
        ('from_beginning = "yes"', "from_beginning"),
        ("warmup_windows = 2.5", "warmup_windows"),
        ("seed = true", "seed"),
        ("state = 3", "state"),
        ("[monitor]\nalert_threshold = [0.5]", "alert_threshold"),
    ],
)
def test_wrong_types_name_the_key_and_the_file(tmp_path: Path, toml: str, key: str) -> None:
    path = write(tmp_path / "c.toml", toml + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert key in message
    assert path in message


@pytest.mark.parametrize("value", ["0", "0.0", "1.5", "-0.1", "true", "nan", '"abc"', "inf"])
def test_bad_thresholds_in_the_file(tmp_path: Path, logs: Path, value: str) -> None:
    path = write(tmp_path / "c.toml", f'log_dirs = ["{logs}"]\nalert_threshold = {value}\n')
    with pytest.raises(ConfigError, match="alert_threshold"):
        load_settings(path, environ={})


@pytest.mark.parametrize("value", [0, 0.0, 1.5, -1, True, False, "0.5", None])
def test_bad_thresholds_in_settings(logs: Path, value: object) -> None:
    settings = Settings(log_dirs=(str(logs),), alert_threshold=value)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"alert_threshold.*\(0, 1\]"):
        settings.validate()


@pytest.mark.parametrize("value", [1, 1.0, 0.5, 1e-9])
def test_good_thresholds(logs: Path, value: float) -> None:
    Settings(log_dirs=(str(logs),), alert_threshold=value).validate()


@pytest.mark.parametrize("value", ["0", "1.5", "true", "lots"])
def test_bad_threshold_from_the_environment_names_the_variable(config: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={"LOGMONITOR_ALERT_THRESHOLD": value})
    assert "alert_threshold" in str(caught.value)
    assert "$LOGMONITOR_ALERT_THRESHOLD" in str(caught.value)


def test_bad_threshold_from_the_command_line(config: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={}, overrides={"alert_threshold": 2.0})
    assert "alert_threshold" in str(caught.value)
    assert "the command line" in str(caught.value)


def test_missing_directory_is_a_source_error_naming_the_index_and_fix(
    tmp_path: Path, logs: Path
) -> None:
    missing = tmp_path / "no-such-dir"
    path = write(tmp_path / "c.toml", f'log_dirs = ["{logs}", "{missing}"]\n')
    with pytest.raises(SourceError) as caught:
        load_settings(path, environ={})
    assert isinstance(caught.value, LogMonitorError)
    message = str(caught.value)
    assert "log_dirs[1]" in message
    assert str(missing) in message
    assert f"fix 'log_dirs' in {path}" in message
    assert "create the directory" in message


def test_missing_directory_from_the_environment_names_the_variable(
    config: str, tmp_path: Path
) -> None:
    with pytest.raises(SourceError, match=r"log_dirs\[0\].*\$LOGMONITOR_LOG_DIRS"):
        load_settings(config, environ={"LOGMONITOR_LOG_DIRS": str(tmp_path / "gone")})


def test_empty_log_dirs(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "log_dirs = []\n")
    with pytest.raises(ConfigError, match="log_dirs is empty"):
        load_settings(path, environ={})


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "alert_threshold = = 0.5\n[unclosed\n")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_settings(path, environ={})
    assert path in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(str(tmp_path / "nope.toml"), environ={})


@pytest.mark.parametrize(
    ("key", "value"),
    [("window_seconds", 0), ("max_templates", -1), ("warmup_windows", 1), ("rotate_wait", -1),
     ("history_size", 3)],
)  # fmt: skip
def test_other_bounds(logs: Path, key: str, value: float) -> None:
    settings = Settings(log_dirs=(str(logs),), warmup_windows=5).replace(**{key: value})
    with pytest.raises(ConfigError, match=key):
        settings.validate()


def test_tail_settings_carry_the_source_keys(config: str, logs: Path) -> None:
    tail = load_settings(config, environ={}).tail_settings()
    assert tail.paths == (str(logs),)
    assert tail.from_beginning is True
    assert tail.include == ("*.log", "*.txt")


def test_the_example_config_loads_and_its_sinks_validate(tmp_path: Path) -> None:
    from logmonitor.sinks.factory import build_sinks

    from .conftest import REPO

    text = (REPO / "logmonitor.example.toml").read_text(encoding="utf-8")
    text = text.replace('log_dirs = ["/var/log"]', f'log_dirs = ["{tmp_path}"]')
    plain = tmp_path / "plain.toml"
    plain.write_text(text, encoding="utf-8")
    settings = load_settings(str(plain), environ={})
    assert settings.digest == "daily"
    assert settings.sinks == ()
    # The commented sink examples, switched on, are valid tables.
    head, marker, examples = text.partition("# [[sinks]]")
    enabled = head + "\n".join(
        line[2:] if line.startswith("# ") and ("=" in line or "[[sinks]]" in line) else line
        for line in (marker + examples).splitlines()
    )
    with_sinks = tmp_path / "sinks.toml"
    with_sinks.write_text(enabled, encoding="utf-8")
    settings = load_settings(str(with_sinks), environ={})
    assert [s["type"] for s in settings.sinks] == ["slack", "email"]
    env = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/x", "SMTP_PASSWORD": "pw"}
    sinks = build_sinks(settings.sinks, env)
    assert [s.name for s in sinks] == ["slack", "email"]
    for sink in sinks:
        sink.close()

"""Typed settings, loaded once: defaults < ``logmonitor.toml`` < ``LOGMONITOR_*`` < flags.

Every key of the TOML file is a field of :class:`Settings` (top level, or in any
table, so ``[detect] warmup_windows = 30`` works); an environment variable is
``LOGMONITOR_`` + the key in capitals, lists separated by ``:``. Validation
happens in one place and names the key, where it came from, and the fix::

    log_dirs[0] '/var/lg' does not exist; fix 'log_dirs' in logmonitor.toml

Constructors never read files: only :func:`load_settings` does, when asked.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .alerts.policy import LifecycleSettings
from .errors import ConfigError, SourceError
from .sources.tail import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, TailSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["ENV_PREFIX", "Settings", "default_state_path", "load_settings"]

ENV_PREFIX = "LOGMONITOR_"


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of LogMonitor, with production defaults."""

    log_dirs: tuple[str, ...] = ("/var/log",)
    alert_threshold: float = 0.5
    state: str | None = None  # SQLite state file; None keeps state in memory only
    # sources
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    recursive: bool = True
    from_beginning: bool = False
    max_line_bytes: int = 1 << 20
    partial_line_timeout: float = 5.0
    rotate_wait: float = 5.0
    max_files: int = 1000
    poll_interval: float = 1.0
    inotify: bool = True
    # windows and detection
    window_seconds: float = 60.0
    window_grace: float = 2.0
    warmup_windows: int = 20
    refit_every: int = 50
    history_size: int = 2000
    seed: int = 0
    max_templates: int = 10_000
    # session windows instead of time windows: a regex whose first match in a line
    # keys its session (e.g. "blk_-?\\d+" for HDFS, a request or trace id)
    session_id: str | None = None
    session_timeout: float = 1800.0
    session_max_seconds: float = 3600.0
    max_open_sessions: int = 100_000
    # the alert lifecycle (alerts.policy; Alertmanager's defaults)
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 14_400.0
    cooldown: float = 300.0
    max_notifications_per_hour: int = 60
    digest: str = "daily"  # "hourly", "daily" or "off": a summary sent to the sinks
    # notifications: [[sinks]] tables and the [delivery] table, as read from TOML;
    # checked and built by logmonitor.sinks.factory when the monitor starts
    sinks: tuple[Mapping[str, Any], ...] = ()
    delivery: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # parsing: [[formats]] tables, header layouts tried before the built-in ones
    # (logmonitor.parse.custom): name, regex with a (?P<msg>...) group, time_format
    formats: tuple[Mapping[str, Any], ...] = ()
    # outputs
    max_alerts: int = 1000
    summary_interval: float = 10.0

    def validate(
        self, origin: str = "the arguments", origins: Mapping[str, str] | None = None
    ) -> Settings:
        """Check every value; raise :class:`ConfigError` naming the key and the fix.

        ``origins`` says where single keys came from, when not from ``origin``.
        """

        def where(key: str) -> str:
            return (origins or {}).get(key, origin)

        def fail(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{key} {problem}; fix '{key}' in {where(key)}")

        if not self.log_dirs:
            raise fail("log_dirs", "is empty")
        for i, path in enumerate(self.log_dirs):
            if not isinstance(path, str) or not path:
                raise fail("log_dirs", f"[{i}] must be a path, not {path!r}")
            if not os.path.exists(path):
                raise SourceError(
                    f"log_dirs[{i}] '{path}' does not exist; fix 'log_dirs' in {where('log_dirs')} "
                    "or create the directory"
                )
        threshold = self.alert_threshold
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not 0 < threshold <= 1
        ):
            raise fail("alert_threshold", f"must be in (0, 1], not {self.alert_threshold!r}")
        positive = {
            "max_line_bytes": self.max_line_bytes,
            "partial_line_timeout": self.partial_line_timeout,
            "max_files": self.max_files, "poll_interval": self.poll_interval,
            "window_seconds": self.window_seconds, "warmup_windows": self.warmup_windows,
            "refit_every": self.refit_every, "history_size": self.history_size,
            "max_templates": self.max_templates, "max_alerts": self.max_alerts,
            "session_timeout": self.session_timeout,
            "session_max_seconds": self.session_max_seconds,
            "max_open_sessions": self.max_open_sessions,
            "summary_interval": self.summary_interval,
            "group_interval": self.group_interval, "repeat_interval": self.repeat_interval,
            "cooldown": self.cooldown,
            "max_notifications_per_hour": self.max_notifications_per_hour,
        }  # fmt: skip
        for key, value in positive.items():
            if value <= 0:
                raise fail(key, f"must be greater than 0, not {value!r}")
        for key, value in {
            "rotate_wait": self.rotate_wait,
            "window_grace": self.window_grace,
            "group_wait": self.group_wait,
        }.items():
            if value < 0:
                raise fail(key, f"must be 0 or more, not {value!r}")
        if self.digest not in ("hourly", "daily", "off"):
            raise fail("digest", f"must be hourly, daily or off, not {self.digest!r}")
        if self.session_id is not None:
            try:
                re.compile(self.session_id)
            except re.error as exc:
                raise fail("session_id", f"is not a valid regular expression ({exc})") from None
        if self.formats:
            from .parse.custom import check_formats

            check_formats(self.formats, where("formats"))
        if self.warmup_windows < 2:
            raise fail("warmup_windows", "must be at least 2 (the forest needs two windows)")
        if self.history_size < self.warmup_windows:
            raise fail("history_size", f"must be at least warmup_windows={self.warmup_windows}")
        return self

    def lifecycle_settings(self) -> LifecycleSettings:
        """The alert lifecycle's part of the settings."""
        return LifecycleSettings(
            group_wait=self.group_wait, group_interval=self.group_interval,
            repeat_interval=self.repeat_interval, cooldown=self.cooldown,
            max_notifications_per_hour=self.max_notifications_per_hour,
        )  # fmt: skip

    def tail_settings(self) -> TailSettings:
        return TailSettings(
            paths=self.log_dirs,
            include=self.include,
            exclude=self.exclude,
            recursive=self.recursive,
            from_beginning=self.from_beginning,
            max_line_bytes=self.max_line_bytes,
            partial_line_timeout=self.partial_line_timeout,
            rotate_wait=self.rotate_wait,
            max_files=self.max_files,
        )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_FIELDS = {f.name: f for f in fields(Settings)}
_DEFAULTS = Settings()


_TABLES = ("sinks", "delivery", "formats")  # kept as tables, checked where they are used


def _coerce_table(key: str, value: Any, origin: str) -> Any:
    """``sinks`` and ``formats`` (arrays of tables) and ``delivery`` (a table); JSON in
    the environment."""
    if isinstance(value, str) and origin.startswith("$"):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(f"{key} in {origin} must be JSON; fix {origin}") from None
    if key in ("sinks", "formats"):
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, dict) for v in value):
            each = "a type" if key == "sinks" else "a name and a regex"
            raise ConfigError(
                f"{key} must be an array of tables ([[{key}]] with {each} each), not "
                f"{type(value).__name__}; fix '{key}' in {origin}"
            )
        return tuple(dict(v) for v in value)
    if not isinstance(value, dict):
        raise ConfigError(f"delivery must be a table ([delivery]); fix 'delivery' in {origin}")
    return dict(value)


def _coerce(key: str, value: Any, origin: str) -> Any:
    """Turn a TOML or environment value into the field's type, or say what is wrong."""
    if key in _TABLES:
        return _coerce_table(key, value, origin)
    default = getattr(_DEFAULTS, key)
    kind: type = type(default) if default is not None else str

    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"{key} must be {expected}, not {value!r}; fix '{key}' in {origin}")

    # Only the environment holds everything as text; a TOML string where a number
    # belongs is a mistake to report, not to guess at.
    from_env = origin.startswith("$")
    if kind is tuple:
        if isinstance(value, str) and from_env:
            value = [v for v in value.split(os.pathsep) if v]  # PATH-style in the environment
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise wrong("a list of strings")
        return tuple(value)
    if kind is bool:
        if isinstance(value, str) and from_env:
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if kind in (int, float):
        if isinstance(value, str) and from_env:
            try:
                value = kind(value.strip())
            except ValueError:
                raise wrong("a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        if kind is int and not float(value).is_integer():
            raise wrong("a whole number")
        return kind(value)
    if not isinstance(value, str):
        raise wrong("a string")
    return value


def _flatten(data: Mapping[str, Any], origin: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key not in _FIELDS:
            flat.update(_flatten(value, origin))
        elif key not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise ConfigError(f"unknown key '{key}' in {origin}; the keys are: {known}")
        else:
            flat[key] = _coerce(key, value, origin)
    return flat


def load_settings(
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build validated settings from a TOML file, the environment and explicit values.

    ``overrides`` (CLI flags) win over the environment, which wins over the file.
    """
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}  # where each value came from, for error messages
    origin = "the command line"
    if config_file is not None:
        origin = config_file
        try:
            with open(config_file, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file {config_file} does not exist; fix --config") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_file} is not valid TOML: {exc}; fix the file") from None
        from_file = _flatten(data, config_file)
        if "log_dirs" in from_file:
            # Relative to the file, not to wherever the program was started.
            relative_to = os.path.dirname(os.path.abspath(config_file))
            from_file["log_dirs"] = tuple(
                os.path.join(relative_to, p) for p in from_file["log_dirs"]
            )
        values.update(from_file)
        origins.update(dict.fromkeys(from_file, config_file))
    env = os.environ if environ is None else environ
    for key in _FIELDS:
        name = ENV_PREFIX + key.upper()
        if name in env:
            values[key] = _coerce(key, env[name], f"${name}")
            origins[key] = f"${name}"
    for key, value in (overrides or {}).items():
        if key not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise ConfigError(f"unknown setting '{key}'; the keys are: {known}")
        if value is not None:
            values[key] = _coerce(key, value, "the command line")
            origins[key] = "the command line"
    return Settings(**values).validate(origin, origins)


def default_state_path() -> str:
    """Where the CLI keeps state unless told: ``$XDG_STATE_HOME/logmonitor/state.db``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "logmonitor", "state.db")

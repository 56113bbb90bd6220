"""Sinks and their Deliverer built from ``[[sinks]]`` tables, validated once.

Each table names its ``type`` and the keys of that type::

    [[sinks]]
    type = "webhook"
    url = "https://alerts.example.com/hook"
    format = "alertmanager"            # or "json" (the default)
    headers_env = { Authorization = "ALERTS_TOKEN" }

    [[sinks]]
    type = "slack"
    url_env = "SLACK_WEBHOOK_URL"      # the URL is a secret: environment only

    [[sinks]]
    type = "email"
    host = "smtp.example.com"
    security = "starttls"              # or "tls", or "none" (loopback relays)
    username = "alerts@example.com"
    password_env = "SMTP_PASSWORD"
    from = "LogMonitor <alerts@example.com>"
    to = ["ops@example.com"]

Secrets come only from the ``environ`` mapping passed in (never read here from
``os.environ``, never from the file) and never appear in an error message: the
messages name the variable, not its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Console

from ..errors import ConfigError
from .console import ConsoleSink
from .delivery import Deliverer, MemoryOutbox, Outbox, RetryPolicy, SqliteOutbox
from .email import SECURITY, EmailSink
from .jsonl import JsonlSink
from .notification import NotificationSink
from .slack import SlackSink
from .webhook import FORMATS, WebhookSink

__all__ = ["DELIVERY_KEYS", "SINK_KEYS", "build_deliverer", "build_sinks", "retry_policy"]

_COMMON = ("type", "name")
SINK_KEYS: dict[str, tuple[str, ...]] = {
    "console": (*_COMMON,),
    "jsonl": (*_COMMON, "path"),
    "webhook": (
        *_COMMON,
        "url",
        "url_env",
        "format",
        "headers",
        "headers_env",
        "timeout",
        "receiver",
        "external_url",
        "max_alerts",
    ),
    "slack": (*_COMMON, "url_env", "timeout"),
    "email": (
        *_COMMON,
        "host",
        "port",
        "security",
        "username",
        "password_env",
        "from",
        "to",
        "timeout",
        "subject_prefix",
    ),
}
DELIVERY_KEYS = ("retry_base", "retry_max", "max_attempts", "jitter", "max_pending", "keep_done")
# Keys that would put a secret into the file: refused with the way to do it instead.
_SECRET_KEYS = {
    ("slack", "url"): "url_env",
    ("email", "password"): "password_env",
}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class _Table:
    """One ``[[sinks]]`` table with typed getters whose errors name the key and fix."""

    def __init__(self, data: Mapping[str, Any], where: str, origin: str) -> None:
        self.data = data
        self.where = where
        self.origin = origin

    def fail(self, key: str, problem: str, fix: str | None = None) -> ConfigError:
        fix = fix or f"fix '{key}' in {self.origin}"
        return ConfigError(f"{self.where}.{key} {problem}; {fix}")

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.data.get(key, default)
        if value is None:
            if required:
                raise self.fail(key, "is missing")
            return None
        if not isinstance(value, str) or (required and not value):
            raise self.fail(key, f"must be a non-empty string, not {value!r}")
        return value

    def number(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise self.fail(key, f"must be a number greater than 0, not {value!r}")
        return float(value)

    def integer(self, key: str, default: int, low: int = 0, high: int | None = None) -> int:
        value = self.data.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            span = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise self.fail(key, f"must be a whole number {span}, not {value!r}")
        return value

    def choice(self, key: str, choices: Sequence[str], default: str) -> str:
        value = self.data.get(key, default)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return str(value)

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key)
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            raise self.fail(key, f"must be a non-empty list of strings, not {value!r}")
        return list(value)

    def mapping(self, key: str) -> dict[str, str]:
        value = self.data.get(key, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.fail(key, "must be a table of string values")
        return dict(value)

    def secret(self, key: str, environ: Mapping[str, str], name: str | None = None) -> str:
        """The value of the environment variable the key names (never echoed)."""
        variable = name if name is not None else self.text(key, required=True)
        if variable is None or not _ENV_NAME.match(variable):
            raise self.fail(key, f"must name an environment variable, not {variable!r}")
        value = environ.get(variable, "")
        if not value:
            raise self.fail(
                key,
                f"names the environment variable {variable}, which is not set or empty",
                f"export {variable} or fix '{key}' in {self.origin}",
            )
        return value


def _console(table: _Table, environ: Mapping[str, str], console: Console | None) -> ConsoleSink:
    return ConsoleSink(console or Console(stderr=True), name=table.text("name", "console") or "")


def _jsonl(table: _Table, environ: Mapping[str, str], console: Console | None) -> JsonlSink:
    path = table.text("path", required=True) or ""
    try:
        return JsonlSink.to_file(path, name=table.text("name", "jsonl") or "")
    except OSError as exc:
        raise table.fail(
            "path", f"'{path}' cannot be opened for appending ({exc.strerror})"
        ) from None


def _webhook(table: _Table, environ: Mapping[str, str], console: Console | None) -> WebhookSink:
    if ("url" in table.data) == ("url_env" in table.data):
        raise table.fail(
            "url",
            "or 'url_env' (naming a variable that holds the URL) is needed, not both",
            f"set exactly one of them in {table.origin}",
        )
    if "url_env" in table.data:
        url = table.secret("url_env", environ)
    else:
        url = table.text("url", required=True) or ""
    if not url.startswith(("http://", "https://")):
        key = "url_env" if "url_env" in table.data else "url"
        raise table.fail(key, "must give a URL starting with http:// or https://")
    headers = table.mapping("headers")
    for header, variable in table.mapping("headers_env").items():
        headers[header] = table.secret(f"headers_env.{header}", environ, variable)
    return WebhookSink(
        url,
        name=table.text("name", "webhook") or "",
        format=table.choice("format", FORMATS, "json"),  # type: ignore[arg-type]
        headers=headers,
        timeout=table.number("timeout", 10.0),
        receiver=table.text("receiver", "logmonitor") or "",
        external_url=table.text("external_url", "") or "",
        max_alerts=table.integer("max_alerts", 0),
    )


def _slack(table: _Table, environ: Mapping[str, str], console: Console | None) -> SlackSink:
    url = table.secret("url_env", environ)
    if not url.startswith("https://"):
        raise table.fail("url_env", "must hold a Slack webhook URL starting with https://")
    return SlackSink(
        url, name=table.text("name", "slack") or "", timeout=table.number("timeout", 10.0)
    )


def _email(table: _Table, environ: Mapping[str, str], console: Console | None) -> EmailSink:
    username = table.text("username")
    password = None
    if username is not None:
        if "password_env" not in table.data:
            raise table.fail("password_env", "is missing (username is set): name the variable")
        password = table.secret("password_env", environ)
    elif "password_env" in table.data:
        raise table.fail("username", "is missing (password_env is set)")
    port = table.integer("port", 0, 0, 65535) if "port" in table.data else None
    return EmailSink(
        table.text("host", required=True) or "",
        port or None,
        sender=table.text("from", required=True) or "",
        recipients=table.strings("to"),
        security=table.choice("security", SECURITY, "starttls"),  # type: ignore[arg-type]
        username=username,
        password=password,
        name=table.text("name", "email") or "",
        timeout=table.number("timeout", 30.0),
        subject_prefix=table.text("subject_prefix", "[LogMonitor] ") or "",
    )


_BUILDERS: dict[str, Callable[[_Table, Mapping[str, str], Console | None], NotificationSink]] = {
    "console": _console,
    "jsonl": _jsonl,
    "webhook": _webhook,
    "slack": _slack,
    "email": _email,
}


def build_sinks(
    tables: Sequence[Mapping[str, Any]],
    environ: Mapping[str, str],
    *,
    origin: str = "logmonitor.toml",
    console: Console | None = None,
    section: str = "sinks",
) -> list[NotificationSink]:
    """One sink per table, in order; the first invalid table raises ConfigError.

    ``environ`` is where secrets are looked up (pass ``os.environ``); ``console``
    is the rich console for ``type = "console"`` (default: a new one on stderr).
    """
    built: list[NotificationSink] = []
    try:
        for i, data in enumerate(tables):
            where = f"{section}[{i}]"
            if not isinstance(data, Mapping):
                raise ConfigError(f"{where} must be a table; fix '{section}' in {origin}")
            table = _Table(data, where, origin)
            kind = table.choice("type", tuple(SINK_KEYS), "")
            for key in data:
                if (kind, key) in _SECRET_KEYS:
                    instead = _SECRET_KEYS[(kind, key)]
                    raise ConfigError(
                        f"{where}.{key} would keep a secret in {origin}; remove it, export "
                        f"the value in an environment variable and set '{instead}' to its name"
                    )
                if key not in SINK_KEYS[kind]:
                    raise ConfigError(
                        f"{where}: unknown key '{key}' for type '{kind}' in {origin}; "
                        f"the keys are: {', '.join(SINK_KEYS[kind])}"
                    )
            built.append(_BUILDERS[kind](table, environ, console))
        names = [sink.name for sink in built]
        for i, name in enumerate(names):
            if names.index(name) != i:
                raise ConfigError(
                    f"{section}[{i}].name '{name}' is used by {section}[{names.index(name)}] "
                    f"too; give each sink its own 'name' in {origin}"
                )
    except BaseException:
        for sink in built:
            sink.close()
        raise
    return built


def retry_policy(table: Mapping[str, Any], origin: str = "logmonitor.toml") -> RetryPolicy:
    """The ``[delivery]`` table's retry keys as a :class:`RetryPolicy`."""
    t = _Table(table, "delivery", origin)
    base = t.number("retry_base", 1.0)
    maximum = t.number("retry_max", 300.0)
    if maximum < base:
        raise t.fail("retry_max", f"must be at least retry_base={base!r}, not {maximum!r}")
    jitter = table.get("jitter", 0.5)
    if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter <= 1:
        raise t.fail("jitter", f"must be a number from 0 to 1, not {jitter!r}")
    return RetryPolicy(
        base=base,
        maximum=maximum,
        max_attempts=t.integer("max_attempts", 12, 1),
        jitter=float(jitter),
    )


def build_deliverer(
    tables: Sequence[Mapping[str, Any]],
    environ: Mapping[str, str],
    *,
    delivery: Mapping[str, Any] | None = None,
    state: str | None = None,
    origin: str = "logmonitor.toml",
    console: Console | None = None,
) -> Deliverer:
    """Sinks plus a Deliverer (not started) with an outbox in ``state``, if given.

    Without ``state`` the outbox is in memory: a restart loses what is pending.
    """
    options = dict(delivery or {})
    unknown = sorted(set(options) - set(DELIVERY_KEYS))
    if unknown:
        raise ConfigError(
            f"delivery: unknown key '{unknown[0]}' in {origin}; "
            f"the keys are: {', '.join(DELIVERY_KEYS)}"
        )
    t = _Table(options, "delivery", origin)
    retry = retry_policy(options, origin)
    max_pending = t.integer("max_pending", 10_000, 1)
    keep_done = t.integer("keep_done", 1000, 0)
    sinks = build_sinks(tables, environ, origin=origin, console=console)
    outbox: Outbox
    try:
        if state is None:
            outbox = MemoryOutbox(max_pending, keep_done)
        else:
            outbox = SqliteOutbox(state, max_pending, keep_done)
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    return Deliverer(sinks, outbox, retry=retry)

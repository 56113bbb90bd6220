"""Sinks built from ``[[sinks]]`` tables: validation, and secrets from the environment only."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from logmonitor.errors import ConfigError
from logmonitor.sinks.console import ConsoleSink
from logmonitor.sinks.delivery import MemoryOutbox, SqliteOutbox
from logmonitor.sinks.email import EmailSink
from logmonitor.sinks.factory import build_deliverer, build_sinks, retry_policy
from logmonitor.sinks.jsonl import JsonlSink
from logmonitor.sinks.notification import DeliveryError, Notification
from logmonitor.sinks.slack import SlackSink
from logmonitor.sinks.webhook import WebhookSink

from ..conftest import wait_for
from .conftest import Receiver, free_port, make_alert

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

SLACK_URL = "https://hooks.slack.com/services/T000/B000/sl4ck-s3cret"
SMTP_PASSWORD = "smtp-pa55word-s3cret"
TOKEN = "w3bhook-t0ken-s3cret"
ENV = {"SLACK_WEBHOOK_URL": SLACK_URL, "SMTP_PASSWORD": SMTP_PASSWORD, "HOOK_TOKEN": TOKEN}

TOML = """
[[sinks]]
type = "console"

[[sinks]]
type = "jsonl"
path = "{path}"

[[sinks]]
type = "webhook"
name = "am"
url = "https://alerts.example.com/hook"
format = "alertmanager"
headers = {{ X-Team = "ops" }}
headers_env = {{ Authorization = "HOOK_TOKEN" }}
timeout = 5

[[sinks]]
type = "slack"
url_env = "SLACK_WEBHOOK_URL"

[[sinks]]
type = "email"
host = "smtp.example.com"
port = 2525
security = "tls"
username = "alerts@example.com"
password_env = "SMTP_PASSWORD"
from = "alerts@example.com"
to = ["ops@example.com"]
"""


def _tables(tmp_path: Path) -> list[dict[str, Any]]:
    text = TOML.format(path=tmp_path / "alerts.jsonl")
    return list(tomllib.loads(text)["sinks"])


def test_every_type_is_built_from_toml_tables(tmp_path: Path) -> None:
    out = io.StringIO()
    sinks = build_sinks(_tables(tmp_path), ENV, console=Console(file=out))
    console, jsonl, webhook, slack, mail = sinks
    assert isinstance(console, ConsoleSink)
    assert isinstance(jsonl, JsonlSink)
    assert isinstance(webhook, WebhookSink)
    assert isinstance(slack, SlackSink)
    assert isinstance(mail, EmailSink)
    assert [s.name for s in sinks] == ["console", "jsonl", "am", "slack", "email"]
    assert webhook.format == "alertmanager"
    assert (mail.host, mail.port, mail.security, mail.username) == (
        "smtp.example.com", 2525, "tls", "alerts@example.com",
    )  # fmt: skip
    for sink in sinks:
        for secret in (SLACK_URL, SMTP_PASSWORD, TOKEN):
            assert secret not in repr(sink)
    note = Notification.firing([make_alert()], 1.0)
    for sink in (console, jsonl):
        sink.deliver(note)
        sink.deliver(Notification.resolved([make_alert()], 2.0))
        sink.deliver(Notification.digest("Daily digest", "all quiet", 3.0))
    for sink in sinks:
        sink.close()
    printed = out.getvalue()
    assert "anomaly" in printed
    assert "resolved /var/log/app.log" in printed
    assert "Daily digest" in printed
    assert "all quiet" in printed
    lines = (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    line = json.loads(lines[0])
    assert (line["type"], line["key"], line["kind"]) == ("notification", note.key, "firing")
    assert [json.loads(x)["kind"] for x in lines] == ["firing", "resolved", "digest"]


def test_built_sinks_send_to_the_configured_receiver(receiver: Receiver) -> None:
    tables: list[dict[str, Any]] = [
        {"type": "webhook", "url": receiver.url(), "headers_env": {"Authorization": "HOOK_TOKEN"}},
        {"type": "slack", "url_env": "SLACK_WEBHOOK_URL"},
    ]
    env = {**ENV, "SLACK_WEBHOOK_URL": "https://" + receiver.url("/slack/s3cret")[7:]}
    webhook, slack = build_sinks(tables, env)
    webhook.deliver(Notification.firing([make_alert()], 1.0))
    webhook.close()
    slack.close()
    (request,) = receiver.accepted()
    assert request.headers["authorization"] == TOKEN


def test_failing_deliveries_never_show_secrets() -> None:
    port = free_port()
    env = {
        "SLACK_WEBHOOK_URL": f"https://127.0.0.1:{port}/services/T/B/sl4ck-s3cret",
        "SMTP_PASSWORD": SMTP_PASSWORD,
        "HOOK_TOKEN": TOKEN,
    }
    tables: list[dict[str, Any]] = [
        {"type": "slack", "url_env": "SLACK_WEBHOOK_URL", "timeout": 5},
        {
            "type": "webhook",
            "url_env": "HOOK_URL",
            "headers_env": {"Authorization": "HOOK_TOKEN"},
        },
        {
            "type": "email", "host": "127.0.0.1", "port": port, "security": "none",
            "username": "u", "password_env": "SMTP_PASSWORD", "from": "a@b", "to": "c@d",
        },
    ]  # fmt: skip
    env["HOOK_URL"] = f"http://127.0.0.1:{port}/hook?token={TOKEN}"
    sinks = build_sinks(tables, env)
    deliverer = build_deliverer([], env)  # an empty sink list is allowed
    deliverer.close()
    note = Notification.firing([make_alert()], 1.0)
    for sink in sinks:
        with pytest.raises(DeliveryError) as caught:
            sink.deliver(note)
        assert caught.value.retryable
        for secret in ("sl4ck-s3cret", SMTP_PASSWORD, TOKEN):
            assert secret not in str(caught.value)
            assert secret not in repr(sink)
        sink.close()


def test_secrets_come_only_from_the_mapping_passed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", SLACK_URL)
    with pytest.raises(ConfigError) as caught:
        build_sinks([{"type": "slack", "url_env": "SLACK_WEBHOOK_URL"}], {})
    assert str(caught.value) == (
        "sinks[0].url_env names the environment variable SLACK_WEBHOOK_URL, which is not set "
        "or empty; export SLACK_WEBHOOK_URL or fix 'url_env' in logmonitor.toml"
    )


W = {"type": "webhook", "url": "https://x"}
E = {"type": "email", "host": "h", "from": "a@b", "to": ["c@d"]}
BAD_TABLES: list[tuple[dict[str, Any], str]] = [
    (
        {"type": "slack", "url": SLACK_URL},
        "sinks[0].url would keep a secret in logmonitor.toml; remove it, export the value"
        " in an environment variable and set 'url_env' to its name",
    ),
    ({**E, "username": "u", "password": SMTP_PASSWORD}, "sinks[0].password would keep a secret"),
    (
        {"type": "pager"},
        "sinks[0].type must be one of console, jsonl, webhook, slack, email, not 'pager';"
        " fix 'type' in logmonitor.toml",
    ),
    ({}, "sinks[0].type must be one of"),
    (
        {**W, "retries": 3},
        "sinks[0]: unknown key 'retries' for type 'webhook' in logmonitor.toml;"
        " the keys are: type, name, url",
    ),
    (
        {"type": "webhook"},
        "sinks[0].url or 'url_env' (naming a variable that holds the URL) is needed,"
        " not both; set exactly one",
    ),
    ({"type": "webhook", "url": "ftp://x"}, "sinks[0].url must give a URL starting with http"),
    ({**W, "format": "xml"}, "sinks[0].format must be one of json, alertmanager, not 'xml'"),
    ({**W, "timeout": -1}, "sinks[0].timeout must be a number greater than 0, not -1"),
    ({**W, "headers": {"A": 1}}, "sinks[0].headers must be a table of string values"),
    (
        {**W, "headers_env": {"A": "NOPE"}},
        "sinks[0].headers_env.A names the environment variable NOPE",
    ),
    (
        {"type": "slack", "url_env": "not a name"},
        "sinks[0].url_env must name an environment variable, not 'not a name'",
    ),
    (
        {"type": "slack", "url_env": "PLAIN"},
        "sinks[0].url_env must hold a Slack webhook URL starting with https://",
    ),
    ({"type": "email", "from": "a@b", "to": ["c@d"]}, "sinks[0].host is missing; fix 'host'"),
    ({**E, "to": []}, "sinks[0].to must be a non-empty list of strings"),
    ({**E, "port": 70000}, "sinks[0].port must be a whole number from 0 to 65535"),
    ({**E, "security": "ssl"}, "sinks[0].security must be one of starttls, tls, none"),
    ({**E, "username": "u"}, "sinks[0].password_env is missing (username is set)"),
    ({**E, "password_env": "SMTP_PASSWORD"}, "sinks[0].username is missing (password_env is set)"),
    ({"type": "jsonl"}, "sinks[0].path is missing; fix 'path'"),
    (
        {"type": "jsonl", "path": "/nonexistent-dir/x/alerts.jsonl"},
        "sinks[0].path '/nonexistent-dir/x/alerts.jsonl' cannot be opened",
    ),
]


@pytest.mark.parametrize(("table", "message"), BAD_TABLES)
def test_bad_tables_name_the_key_and_the_fix(table: dict[str, Any], message: str) -> None:
    env = {**ENV, "PLAIN": "http://not-https"}
    with pytest.raises(ConfigError) as caught:
        build_sinks([table], env)
    assert str(caught.value).startswith(message)
    for secret in (SLACK_URL, SMTP_PASSWORD, TOKEN):
        assert secret not in str(caught.value)


def test_names_must_be_unique_and_built_sinks_are_closed_on_error(tmp_path: Path) -> None:
    tables = [
        {"type": "jsonl", "path": str(tmp_path / "a.jsonl")},
        {"type": "jsonl", "path": str(tmp_path / "b.jsonl")},
    ]
    with pytest.raises(ConfigError, match=r"sinks\[1\].name 'jsonl' is used by sinks\[0\] too"):
        build_sinks(tables, {})
    tables[1]["name"] = "second"
    first, second = build_sinks(tables, {})
    assert second.name == "second"
    first.close()
    second.close()


def test_the_deliverer_and_its_retry_policy_come_from_the_delivery_table(
    tmp_path: Path, receiver: Receiver
) -> None:
    policy = retry_policy({"retry_base": 2, "retry_max": 60, "max_attempts": 4, "jitter": 0})
    assert (policy.base, policy.maximum, policy.max_attempts, policy.jitter) == (2.0, 60.0, 4, 0.0)
    with pytest.raises(ConfigError, match=r"delivery\.retry_max must be at least retry_base"):
        retry_policy({"retry_base": 10, "retry_max": 5})
    with pytest.raises(ConfigError, match=r"delivery\.jitter must be a number from 0 to 1"):
        retry_policy({"jitter": 3})
    with pytest.raises(ConfigError, match="delivery: unknown key 'retries'"):
        build_deliverer([], {}, delivery={"retries": 3})
    memory = build_deliverer([{"type": "webhook", "url": receiver.url()}], {})
    assert isinstance(memory.outbox, MemoryOutbox)
    memory.close()
    deliverer = build_deliverer(
        [{"type": "webhook", "url": receiver.url()}],
        {},
        delivery={"max_pending": 50, "retry_base": 0.01, "retry_max": 0.02},
        state=str(tmp_path / "state.db"),
    )
    assert isinstance(deliverer.outbox, SqliteOutbox)
    assert deliverer.outbox.max_pending == 50
    deliverer.start().submit(Notification.firing([make_alert()], 1.0))
    wait_for(lambda: len(receiver.accepted()) == 1)
    deliverer.close()

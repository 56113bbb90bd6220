"""Slack incoming webhooks: a Block Kit message with a plain-text fallback.

The webhook URL is the credential (anyone holding it can post to the channel),
so it is never shown: not in the repr, not in errors, not in logs. Slack
answers 200 ``ok``; 4xx answers (``invalid_payload``, ``no_service``,
``channel_is_archived``) are permanent, 429 and 5xx are retried.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from ..errors import ConfigError
from ..records import Alert
from .notification import (
    Notification,
    explanation_lines,
    headline,
    render_text,
    render_title,
    severity_of,
)
from .webhook import post_json

__all__ = ["SlackSink", "slack_message"]

# Slack's limits: 50 blocks per message, 3000 characters per section text,
# 150 per header; 40,000 for the fallback text.
_MAX_BLOCKS = 50
_MAX_SECTION = 3000
_MAX_HEADER = 150
_MAX_FALLBACK = 40_000
_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
}


def _mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _alert_block(alert: Alert, kind: str) -> dict[str, Any]:
    emoji = ":white_check_mark:" if kind == "resolved" else _EMOJI.get(severity_of(alert), "")
    lines = [
        f"{emoji} *{_mrkdwn(headline(alert))}*",
        f"`{_mrkdwn(alert.filename)}` · severity {severity_of(alert)} · "
        f"{alert.lines} lines, {alert.errors} errors",
    ]
    lines += [f"• {_mrkdwn(line)}" for line in explanation_lines(alert)]
    if alert.sample_lines:
        samples = "\n".join(
            f"{os.path.basename(s.path)}:{s.line_number}  {s.text[:300]}"
            for s in alert.sample_lines[:5]
        )
        # Inside a code block only the escaping matters; ``` cannot be escaped.
        lines.append("```" + _mrkdwn(samples.replace("```", "'''")) + "```")
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _clip("\n".join(lines), _MAX_SECTION)},
    }


def slack_message(notification: Notification) -> dict[str, Any]:
    """The JSON body: ``text`` (notifications, old clients) plus ``blocks``."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(render_title(notification), _MAX_HEADER)},
        }
    ]
    if notification.kind == "digest" and notification.text:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip(_mrkdwn(notification.text), _MAX_SECTION)},
            }
        )
    room = _MAX_BLOCKS - len(blocks) - 2  # keep space for the "more" note and the footer
    for alert in notification.alerts[:room]:
        blocks.append(_alert_block(alert, notification.kind))
    hidden = len(notification.alerts) - room
    if hidden > 0:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"…and {hidden} more alerts"}}
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"LogMonitor · notification `{notification.key}`"}
            ],
        }
    )
    return {"text": _clip(render_text(notification), _MAX_FALLBACK), "blocks": blocks}


class SlackSink:
    """Posts each notification to a Slack incoming webhook.

    >>> SlackSink("https://hooks.slack.com/services/T0/B0/secret")
    SlackSink(name='slack', url=<hidden>)
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "slack",
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            # Never echo the value: it is a credential.
            raise ConfigError(
                f"slack {name!r}: the webhook URL must start with https://; "
                "fix the environment variable named by 'url_env'"
            )
        if not timeout > 0:
            raise ConfigError(f"slack {name!r}: timeout must be > 0, not {timeout!r}")
        self.name = name
        self._url = url
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"SlackSink(name={self.name!r}, url=<hidden>)"

    def deliver(self, notification: Notification) -> None:
        post_json(
            self._client,
            self._url,
            slack_message(notification),
            what=f"Slack webhook {self.name!r}",
            headers={"User-Agent": "logmonitor", "Idempotency-Key": notification.key},
        )

    def close(self) -> None:
        self._client.close()

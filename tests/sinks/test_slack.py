"""Slack incoming webhook: Block Kit with a text fallback; the URL is a secret."""

from __future__ import annotations

import pytest

from logmonitor.errors import ConfigError
from logmonitor.records import Sample
from logmonitor.sinks.notification import DeliveryError, Notification
from logmonitor.sinks.slack import SlackSink, slack_message

from .conftest import Receiver, free_port, make_alert

SECRET_PATH = "/services/T0000/B0000/XXXXsecretXXXX"


def test_a_block_kit_message_with_fallback_reaches_the_receiver(receiver: Receiver) -> None:
    alert = make_alert(sample_lines=(Sample("/var/log/app.log", 42, "a <b> & c ```x```", 3),))
    note = Notification.firing([alert], created=1_700_000_100.0)
    sink = SlackSink(receiver.url(SECRET_PATH))
    sink.deliver(note)
    sink.close()
    (request,) = receiver.accepted()
    assert request.path == SECRET_PATH
    assert request.headers["idempotency-key"] == note.key
    body = request.body
    assert body["text"].startswith("[FIRING] anomaly in app.log (score 0.910)")
    assert "observed 120, expected 2.5" in body["text"]
    header, section, context = body["blocks"]
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "[FIRING] anomaly in app.log (score 0.910), seen 3 times",
        },
    }
    text = section["text"]["text"]
    assert section["text"]["type"] == "mrkdwn"
    assert ":red_circle:" in text  # severity critical
    spike = "• spike template #3 'Connection to &lt;*&gt; failed': observed 120, expected 2.5"
    assert spike in text
    assert "• new templates: #9" in text
    assert "app.log:42  a &lt;b&gt; &amp; c '''x'''" in text
    assert note.key in context["elements"][0]["text"]


def test_resolved_and_digest_messages() -> None:
    resolved = slack_message(Notification.resolved([make_alert()], 1.0))
    assert resolved["blocks"][0]["text"]["text"].startswith("[RESOLVED]")
    assert ":white_check_mark:" in resolved["blocks"][1]["text"]["text"]
    digest = slack_message(Notification.digest("Daily digest", "top: <none>", 1.0))
    assert digest["blocks"][0]["text"]["text"] == "Daily digest"
    assert digest["blocks"][1]["text"]["text"] == "top: &lt;none&gt;"


def test_a_large_group_stays_within_slacks_limits() -> None:
    alerts = [make_alert(f"/var/log/{i}.log", n=i) for i in range(80)]
    message = slack_message(Notification.firing(alerts, 1.0))
    blocks = message["blocks"]
    assert len(blocks) == 50
    assert blocks[-2]["text"]["text"] == "…and 33 more alerts"
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert len(blocks[0]["text"]["text"]) <= 150


def test_the_webhook_url_never_shows(receiver: Receiver) -> None:
    receiver.script = [404]
    url = receiver.url(SECRET_PATH)
    sink = SlackSink(url)
    assert "secret" not in repr(sink)
    with pytest.raises(DeliveryError, match="HTTP 404") as caught:
        sink.deliver(Notification.firing([make_alert()], 1.0))
    sink.close()
    assert not caught.value.retryable
    assert "secret" not in str(caught.value)
    gone = SlackSink(f"http://127.0.0.1:{free_port()}{SECRET_PATH}")
    with pytest.raises(DeliveryError, match="unreachable") as caught:
        gone.deliver(Notification.firing([make_alert()], 1.0))
    gone.close()
    assert caught.value.retryable
    assert "secret" not in str(caught.value)
    with pytest.raises(ConfigError) as bad:
        SlackSink("hooks.slack.com/services/secret")
    assert "secret" not in str(bad.value)

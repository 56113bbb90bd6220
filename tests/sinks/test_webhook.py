"""The generic and the Alertmanager-compatible webhook, against a real HTTP receiver."""

from __future__ import annotations

import re

import pytest

from logmonitor.errors import ConfigError
from logmonitor.sinks.notification import DeliveryError, Notification
from logmonitor.sinks.webhook import WebhookSink, alertmanager_payload, safe_url

from .conftest import Receiver, free_port, make_alert

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


def test_json_format_posts_the_notification_with_its_key(receiver: Receiver) -> None:
    sink = WebhookSink(receiver.url(), headers={"X-Team": "ops"})
    note = Notification.firing([make_alert()], created=1_700_000_100.0)
    sink.deliver(note)
    sink.close()
    (request,) = receiver.accepted()
    assert request.path == "/hook"
    assert request.headers["idempotency-key"] == note.key
    assert request.headers["x-team"] == "ops"
    assert request.headers["content-type"] == "application/json"
    body = request.body
    assert body["kind"] == "firing"
    assert body["key"] == note.key
    assert body["created"] == 1_700_000_100.0
    (alert,) = body["alerts"]
    assert alert["filename"] == "/var/log/app.log"
    assert alert["score"] == 0.91
    assert alert["severity"] == "critical"
    assert alert["fingerprint"] == "fp-/var/log/app.log-0"
    assert alert["explanation"]["new_templates"] == [9]
    assert alert["sample_lines"][0]["line_number"] == 42
    assert "observed 120, expected 2.5" in body["summary"]


def test_alertmanager_format_has_the_webhook_config_shape(receiver: Receiver) -> None:
    sink = WebhookSink(
        receiver.url("/am"),
        format="alertmanager",
        receiver="team-ops",
        external_url="http://logmonitor.example:8000",
    )
    alerts = [make_alert(n=0), make_alert(n=1)]
    note = Notification.firing(alerts, created=1_700_000_100.0)
    sink.deliver(note)
    sink.close()
    (request,) = receiver.accepted()
    assert request.headers["idempotency-key"] == note.key
    body = request.body
    assert set(body) == {
        "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
        "commonLabels", "commonAnnotations", "externalURL", "alerts",
    }  # fmt: skip
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "team-ops"
    assert body["externalURL"] == "http://logmonitor.example:8000"
    assert body["truncatedAlerts"] == 0
    assert body["groupLabels"] == {"alertname": "LogAnomaly", "source": "/var/log/app.log"}
    assert body["commonLabels"] == {
        "alertname": "LogAnomaly",
        "source": "/var/log/app.log",
        "severity": "critical",
        "detector": "iforest",
    }
    assert body["commonAnnotations"]["score"] == "0.910000"
    assert isinstance(body["groupKey"], str)
    assert body["groupKey"].startswith("{}:{alertname='LogAnomaly'}/")
    assert len(body["alerts"]) == 2
    first = body["alerts"][0]
    assert set(first) == {
        "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
    }  # fmt: skip
    assert first["status"] == "firing"
    assert first["startsAt"] == "2023-11-14T22:13:20Z"
    assert first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["generatorURL"] == "http://logmonitor.example:8000"
    assert re.fullmatch(r"[0-9a-f]{16}", first["fingerprint"])
    assert first["fingerprint"] != body["alerts"][1]["fingerprint"]
    assert first["annotations"]["summary"] == "anomaly in app.log (score 0.910), seen 3 times"
    assert (
        "template #3 'Connection to <*> failed': observed 120"
        in (first["annotations"]["description"])
    )
    assert "app.log:42" in first["annotations"]["sample_lines"]


def test_alertmanager_resolved_alerts_end_and_the_group_is_capped() -> None:
    alerts = [make_alert(f"/var/log/{i}.log", status="resolved", n=i) for i in range(3)]
    body = alertmanager_payload(Notification.resolved(alerts, 1_700_000_500.0), max_alerts=2)
    assert body["status"] == "resolved"
    assert body["truncatedAlerts"] == 1
    assert len(body["alerts"]) == 2
    assert body["groupLabels"] == {"alertname": "LogAnomaly"}  # the sources differ
    assert "source" not in body["commonLabels"]
    assert all(a["status"] == "resolved" for a in body["alerts"])
    assert all(RFC3339.match(a["endsAt"]) for a in body["alerts"])
    assert body["alerts"][0]["endsAt"] == "2023-11-14T22:14:20Z"  # last_seen


def test_alertmanager_digest_is_one_info_alert() -> None:
    body = alertmanager_payload(Notification.digest("Daily", "all quiet", 1_700_000_000.0))
    (alert,) = body["alerts"]
    assert alert["labels"] == {"alertname": "LogMonitorDigest", "severity": "info"}
    assert alert["annotations"] == {"summary": "Daily", "description": "all quiet"}


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (408, True), (429, True), (404, False), (400, False), (401, False)],
)
def test_status_codes_are_classified(receiver: Receiver, status: int, retryable: bool) -> None:
    receiver.script = [status]
    sink = WebhookSink(receiver.url())
    with pytest.raises(DeliveryError, match=f"HTTP {status}") as caught:
        sink.deliver(Notification.firing([make_alert()], 1.0))
    sink.close()
    assert caught.value.retryable is retryable


def test_retry_after_is_passed_on(receiver: Receiver) -> None:
    receiver.script = [429]
    receiver.extra_headers = {"Retry-After": "7"}
    sink = WebhookSink(receiver.url())
    with pytest.raises(DeliveryError) as caught:
        sink.deliver(Notification.firing([make_alert()], 1.0))
    sink.close()
    assert caught.value.retry_after == 7.0


def test_secrets_in_url_and_headers_stay_out_of_errors_and_repr(receiver: Receiver) -> None:
    token = "s3cr3t-t0ken-value"
    receiver.script = [403]
    sink = WebhookSink(
        receiver.url(f"/hook?token={token}"), headers={"Authorization": f"Bearer {token}"}
    )
    with pytest.raises(DeliveryError) as caught:
        sink.deliver(Notification.firing([make_alert()], 1.0))
    assert receiver.all()[0].headers["authorization"] == f"Bearer {token}"
    assert token not in str(caught.value)
    assert token not in repr(sink)
    assert "Authorization" in repr(sink)
    sink.close()
    refused = WebhookSink(f"http://user:{token}@127.0.0.1:{free_port()}/x?token={token}")
    with pytest.raises(DeliveryError, match="unreachable") as caught:
        refused.deliver(Notification.firing([make_alert()], 1.0))
    refused.close()
    assert caught.value.retryable
    assert token not in str(caught.value)
    assert token not in repr(refused)
    assert safe_url(f"https://u:{token}@h:8443/p?token={token}#f") == "https://h:8443/p"


def test_bad_arguments_name_the_fix() -> None:
    with pytest.raises(ConfigError, match="url must start with http"):
        WebhookSink("ftp://example.com")
    with pytest.raises(ConfigError, match="format must be one of json, alertmanager"):
        WebhookSink("http://example.com", format="xml")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="timeout must be > 0"):
        WebhookSink("http://example.com", timeout=0)

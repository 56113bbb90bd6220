"""The notification record, its idempotency key, JSON round trip and renderings."""

from __future__ import annotations

import json

import pytest

from logmonitor.records import Alert, Sample
from logmonitor.sinks.notification import (
    DeliveryError,
    Notification,
    alert_from_dict,
    alert_to_dict,
    explanation_lines,
    fingerprint_of,
    make_key,
    redact,
    render_html,
    render_text,
    render_title,
    sample_lines,
    severity_of,
    status_of,
)

from .conftest import make_alert


def test_the_key_is_stable_for_the_same_inputs_and_differs_otherwise() -> None:
    alerts = [make_alert(n=0), make_alert(n=1)]
    first = Notification.firing(alerts, created=100.0)
    assert first.key == Notification.firing(list(alerts), created=100.0).key
    assert first.key != Notification.firing(alerts, created=101.0).key
    assert first.key != Notification.resolved(alerts, created=100.0).key
    assert first.key != Notification.firing(alerts[:1], created=100.0).key
    assert len(first.key) == 32
    assert Notification.firing(alerts, created=1.0, key="given").key == "given"


def test_a_notification_survives_a_json_round_trip() -> None:
    note = Notification.firing([make_alert(n=0), make_alert("/var/log/db.log", n=1)], 5.0)
    again = Notification.from_dict(json.loads(json.dumps(note.to_dict())))
    assert again.key == note.key
    assert again.kind == "firing"
    assert [a.filename for a in again.alerts] == ["/var/log/app.log", "/var/log/db.log"]
    assert again.alerts[0].sample_lines == note.alerts[0].sample_lines
    assert again.alerts[0].template_ids == (3, 9)
    assert isinstance(again.alerts[0], Alert)


def test_lifecycle_fields_travel_in_json_and_unknown_keys_are_ignored() -> None:
    data = alert_to_dict(make_alert())
    assert data["fingerprint"] == "fp-/var/log/app.log-0"
    assert data["severity"] == "critical"
    assert data["explanation"]["fired"] == ["iforest", "novelty"]
    rebuilt = alert_from_dict({**data, "a_field_from_the_future": 1})
    assert rebuilt.filename == "/var/log/app.log"
    assert rebuilt.sample_lines[0] == Sample(
        "/var/log/app.log", 42, data["sample_lines"][0]["text"], 3
    )


def test_fields_missing_from_an_alert_of_today_have_defaults() -> None:
    plain = Alert("/var/log/app.log", 0.7, 10.0, template_ids=(2, 1))
    assert severity_of(plain) == "warning"
    assert status_of(plain) == "firing"
    assert fingerprint_of(plain) == fingerprint_of(
        Alert("/var/log/app.log", 0.9, 99.0, template_ids=(1, 2))
    )
    assert fingerprint_of(plain) != fingerprint_of(Alert("/var/log/db.log", 0.7, 10.0))
    assert explanation_lines(plain) == ["detector: iforest"]
    assert "anomaly in app.log (score 0.700)" in render_text(Notification.firing([plain], 1.0))


def test_the_explanation_is_rendered_from_the_lifecycle_dict() -> None:
    lines = explanation_lines(make_alert())
    assert lines == [
        "novelty (score 0.91 vs threshold 0.50): spike template 3",
        "detectors: iforest, novelty",
        "spike template #3 'Connection to <*> failed': observed 120, expected 2.5",
        "new templates: #9",
    ]


@pytest.mark.parametrize(
    "explanation",
    [{}, {"deviations": [{}]}, {"deviations": ["junk"], "new_templates": None}, {"fired": []}],
)
def test_a_partial_explanation_is_tolerated(explanation: dict[str, object]) -> None:
    lines = explanation_lines(make_alert(explanation=explanation))
    assert lines  # falls back to the alert's templates when nothing is usable
    assert all(isinstance(line, str) for line in lines)


def test_text_rendering_has_the_facts_the_explanation_and_file_line_samples() -> None:
    note = Notification.firing([make_alert(), make_alert("/var/log/db.log", 0.6, n=1)], 1e9)
    text = render_text(note)
    assert text.startswith("[FIRING:2] anomaly in app.log (score 0.910), seen 3 times and 1 more")
    assert "severity: critical, status: firing" in text
    assert "observed 120, expected 2.5" in text
    assert "app.log:42  ERROR Connection to db:5432 failed <timeout>" in text
    assert "db.log:57" in text
    assert note.key in text
    assert sample_lines(make_alert(), limit=1) == [
        "app.log:42  ERROR Connection to db:5432 failed <timeout>"
    ]


def test_html_rendering_escapes_what_came_from_the_logs() -> None:
    alert = make_alert(
        sample_lines=(Sample("/var/log/app.log", 7, "<script>alert(1)</script>", 3),)
    )
    page = render_html(Notification.resolved([alert], 1e9))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "observed 120, expected 2.5" in page
    assert "app.log:7" in page
    assert page.startswith("<html>")
    assert render_title(Notification.resolved([alert], 1e9)).startswith("[RESOLVED]")


def test_a_digest_carries_the_callers_title_and_body() -> None:
    digest = Notification.digest("Daily digest", "3 new patterns\n<none muted>", created=50.0)
    assert digest.kind == "digest"
    assert render_title(digest) == "Daily digest"
    assert "3 new patterns" in render_text(digest)
    assert digest.html == "<pre>3 new patterns\n&lt;none muted&gt;</pre>"
    assert digest.html in render_html(digest)
    assert digest.key == make_key("digest", (), 50.0, "Daily digest")


def test_bad_records_are_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        Notification("bogus", "k", 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key must not be empty"):
        Notification("firing", "", 0.0)


def test_redact_and_delivery_error() -> None:
    assert redact("POST https://h/x?token=abc failed (abc)", ["abc", ""]) == (
        "POST https://h/x?token=*** failed (***)"
    )
    error = DeliveryError("nope", retryable=False, retry_after=3.0)
    assert (str(error), error.retryable, error.retry_after) == ("nope", False, 3.0)

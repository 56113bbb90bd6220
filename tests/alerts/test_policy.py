"""Scored windows -> alerts: the threshold, template ranking, the (filename, score) API."""

from __future__ import annotations

import json

import pytest

from logmonitor.alerts.policy import AlertPolicy
from logmonitor.records import Alert, Sample, Score, Window

TEMPLATES = {1: "user <*> logged in", 2: "disk <*> failed", 3: "GET <PATH>"}


def window(
    counts: tuple[tuple[int, int], ...] = ((1, 5), (3, 2), (2, 1)),
    new: tuple[int, ...] = (),
    source: str = "/var/log/app.log",
) -> Window:
    samples = (Sample(source, 7, "disk sda failed", 2),)
    lines = sum(c for _, c in counts)
    return Window(source, 60.0, 120.0, counts, lines, 1, new, samples)


def policy(threshold: float = 0.5, max_templates: int = 10) -> AlertPolicy:
    return AlertPolicy(threshold, TEMPLATES.get, max_templates=max_templates)


def test_only_scores_at_or_above_the_threshold_alert() -> None:
    scores = [Score(window(source=f"{s}.log"), s, "iforest") for s in (0.49, 0.5, 0.51, 1.0)]
    alerts = policy(0.5).evaluate(scores, now=1000.0).new
    assert [a.score for a in alerts] == [0.5, 0.51, 1.0]
    assert [a.filename for a in alerts] == ["0.5.log", "0.51.log", "1.0.log"]


def test_exactly_at_the_threshold_alerts() -> None:
    for threshold in (0.5, 0.7, 1.0):
        assert len(policy(threshold).evaluate([Score(window(), threshold, "x")], 0.0).new) == 1
        assert policy(threshold).evaluate([Score(window(), threshold - 1e-9, "x")], 0.0).new == []


def test_alert_fields() -> None:
    w = window()
    [alert] = policy(0.6).evaluate([Score(w, 0.75, "iforest")], now=1234.5).new
    filename, score = alert
    assert (filename, score) == ("/var/log/app.log", 0.75)
    assert alert[0] == filename
    assert alert[1] == score
    assert len(alert) == 2
    assert alert.time == 1234.5
    assert alert.threshold == 0.6
    assert (alert.window_start, alert.window_end) == (60.0, 120.0)
    assert (alert.lines, alert.errors) == (8, 1)
    assert alert.detector == "iforest"
    assert alert.sample_lines == w.samples
    assert alert.id is None


def test_templates_ranked_new_first_then_by_count() -> None:
    [alert] = policy().evaluate([Score(window(new=(2,)), 0.9, "iforest")], now=0.0).new
    assert alert.template_ids == (2, 1, 3)
    assert alert.templates == ("disk <*> failed", "user <*> logged in", "GET <PATH>")


def test_unknown_template_text_and_template_bound() -> None:
    counts = tuple((t, 100 - t) for t in range(1, 30))
    scores = [Score(window(counts, new=(77,)), 0.9, "x")]
    [alert] = policy(max_templates=4).evaluate(scores, 0.0).new
    assert alert.template_ids == (77, 1, 2, 3)
    assert alert.templates[0] == "<template 77>"


def test_alert_to_dict_is_json_ready() -> None:
    [alert] = policy(0.1).evaluate([Score(window(), 0.123456789, "iforest")], now=5.0).new
    data = alert.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["score"] == pytest.approx(0.123457)
    assert data["sample_lines"] == [
        {"path": "/var/log/app.log", "line_number": 7, "text": "disk sda failed", "template_id": 2}
    ]


def test_alert_unpacks_like_the_original_api() -> None:
    alert = Alert(filename="/var/log/syslog", score=0.8, time=0.0)
    filename, score = alert
    assert (filename, score) == ("/var/log/syslog", 0.8)
    assert tuple(alert) == ("/var/log/syslog", 0.8)

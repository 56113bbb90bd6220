"""Explanations: deviations ranked, templates named, samples of the cause first, JSON."""

from __future__ import annotations

import json

from logmonitor.detect.explain import Deviation, explain
from logmonitor.records import Sample, Window

SAMPLES = (
    Sample("/var/log/a.log", 10, "ordinary line", 1),
    Sample("/var/log/a.log", 11, "another ordinary line", 2),
    Sample("/var/log/a.log", 12, "disk on fire", 7),
)
WINDOW = Window("a.log", 0.0, 60.0, ((1, 5), (2, 3), (7, 1)), 9, 1, (7,), SAMPLES)
TEXTS = {1: "ordinary <*>", 2: "another <*>", 7: "disk on <*>"}


def deviations() -> list[Deviation]:
    return [
        Deviation(2, "spike", 3, 1.0, "rate", 0.4),
        Deviation(7, "new", 1, 0.0, "novelty", 0.9),
        Deviation(7, "new", 1, 0.0, "novelty", 0.8),  # the same fact twice: kept once
        Deviation(None, "dip", 9, 30.0, "rate", 0.6),
    ]


def test_strongest_deviation_first_with_template_text_and_its_samples_first() -> None:
    explanation = explain(WINDOW, 0.9, 0.5, {"novelty": 0.9, "rate": 0.6}, deviations(), TEXTS.get)
    assert [d.template_id for d in explanation.deviations] == [7, None, 2]
    assert explanation.deviations[0].template == "disk on <*>"
    assert explanation.template_ids == (7, 2)
    assert explanation.fired == ("novelty", "rate")
    assert explanation.new_templates == (7,)
    assert [s.line_number for s in explanation.samples] == [12, 11, 10]
    reason = explanation.reason()
    assert reason.startswith("novelty, rate (score 0.90 vs threshold 0.50): new template 7")
    assert "'disk on <*>'" in reason


def test_bounds_on_deviations_and_samples() -> None:
    explanation = explain(
        WINDOW, 0.9, 0.5, {"novelty": 0.9}, deviations(), max_deviations=1, max_samples=2
    )
    assert len(explanation.deviations) == 1
    assert len(explanation.samples) == 2
    assert explanation.samples[0].template_id == 7


def test_nothing_fired_below_the_threshold() -> None:
    explanation = explain(WINDOW, 0.2, 0.5, {"novelty": 0.2}, [])
    assert explanation.fired == ()
    assert explanation.reason() == "no detector (score 0.20 vs threshold 0.50)"


def test_to_dict_is_plain_json() -> None:
    explanation = explain(WINDOW, 0.9, 0.5, {"novelty": 0.9}, deviations(), TEXTS.get)
    data = json.loads(json.dumps(explanation.to_dict()))
    assert data["fired"] == ["novelty"]
    assert data["deviations"][0] == {
        "template_id": 7,
        "template": "disk on <*>",
        "kind": "new",
        "observed": 1,
        "expected": 0.0,
        "detector": "novelty",
        "strength": 0.9,
    }
    assert data["samples"][0] == {
        "path": "/var/log/a.log",
        "line_number": 12,
        "text": "disk on fire",
        "template_id": 7,
    }
    assert data["reason"] == explanation.reason()

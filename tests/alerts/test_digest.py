"""The digest's schedule and text."""

from __future__ import annotations

import pytest

from logmonitor.alerts.digest import DigestSchedule, build_digest
from logmonitor.alerts.summary import ErrorTypeSummary
from logmonitor.errors import ConfigError
from logmonitor.patterns.stats import TemplateStat
from logmonitor.records import Alert


def test_periods_align_to_the_hour_and_local_midnight() -> None:
    assert DigestSchedule("hourly").period_start(3 * 3600 + 59) == 3 * 3600
    day = DigestSchedule("daily", utc_offset=3600.0)  # UTC+1: midnight is 23:00 UTC
    assert day.period_start(86400 + 23 * 3600 + 5) == 86400 + 23 * 3600
    assert day.period_start(86400 + 22 * 3600) == 23 * 3600
    with pytest.raises(ConfigError, match="hourly, daily"):
        DigestSchedule("weekly")


def test_the_text_tells_alerts_feedback_errors_and_new_patterns() -> None:
    alerts = [
        Alert("/var/log/a.log", 0.9, 10.0, id=3, severity="critical", feedback="false-positive",
              explanation={"reason": "novelty: new template 7"}),
        Alert("/var/log/b.log", 0.6, 20.0, id=4, templates=("disk <*> failed",)),
    ]  # fmt: skip
    errors = [ErrorTypeSummary("ValueError", 12, 1.0, 2.0, ("/var/log/a.log",), "x", (1, 2))]
    patterns = [TemplateStat(7, "kernel panic <*>", 2, 5.0, 6.0, ("kernel panic 1",))]
    note = build_digest(0.0, 3600.0, errors, patterns, alerts, lines=1234)
    assert note.kind == "digest"
    assert note.key == "digest-0-3600"
    assert "2 alerts in this period; 1 critical" in note.text
    assert "1 false positive" in note.text
    assert "#3 critical firing /var/log/a.log score 0.90 x1 [false-positive]: novelty" in note.text
    assert "disk <*> failed" in note.text
    assert "ValueError" in note.text
    assert "#7 kernel panic <*>" in note.text
    assert "#7 kernel panic &lt;*&gt;</code>" in note.html
    quiet = build_digest(0.0, 3600.0, [], [], [], lines=0)
    assert "Nothing to report" in quiet.text

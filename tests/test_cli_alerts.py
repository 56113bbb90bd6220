"""`logmonitor alerts`, `ack`, `mute` and `feedback` on a real state file; and a
false positive that stops the same condition from alerting again in a replay."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from logmonitor import FakeClock, LogMonitor
from logmonitor.cli import cli, parse_duration
from logmonitor.records import Alert
from logmonitor.store import Store


def stored_alert(state: Path, **fields: object) -> Alert:
    base: dict[str, object] = {
        "filename": "/var/log/app.log", "score": 0.8, "time": 1_700_000_000.0,
        "template_ids": (4,), "templates": ("disk <*> failed",), "fingerprint": "f" * 16,
        "first_seen": 1_700_000_000.0, "last_seen": 1_700_000_000.0,
    }  # fmt: skip
    base.update(fields)
    with closing(Store(str(state))) as store:
        (saved,) = store.commit(alerts=[Alert(**base)])  # type: ignore[arg-type]
    return saved


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_alerts_lists_and_json(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    first = stored_alert(state)
    stored_alert(state, filename="/var/log/other.log", status="resolved")
    code, out = invoke("alerts", "--state", str(state), "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [first.id, first.id + 1]  # type: ignore[operator]
    code, out = invoke("alerts", "--state", str(state), "--json", "--status", "firing")
    assert [json.loads(line)["filename"] for line in out.splitlines()] == ["/var/log/app.log"]
    code, out = invoke("alerts", "--state", str(state))
    assert code == 0
    assert "disk <*> failed" in out


def test_ack_feedback_and_stats(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    a = stored_alert(state)
    b = stored_alert(state, fingerprint="e" * 16)
    assert invoke("ack", str(a.id), "--state", str(state)) == (
        0,
        f"alert {a.id} acknowledged (/var/log/app.log)\n",
    )
    assert invoke("feedback", str(a.id), "true-positive", "--state", str(state))[0] == 0
    assert invoke("feedback", str(b.id), "false-positive", "--state", str(state))[0] == 0
    _, out = invoke("alerts", "--stats", "--json", "--state", str(state))
    (day,) = json.loads(out)
    assert (day["true_positives"], day["false_positives"], day["precision"]) == (1, 1, 0.5)
    _, out = invoke("alerts", "--stats", "--state", str(state))
    assert "50%" in out


def test_mute_takes_a_template_or_a_source_for_a_duration(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    stored_alert(state)
    code, out = invoke("mute", "--template", "4", "--for", "7d", "--state", str(state))
    assert code == 0
    assert out.startswith("muted template 4 until")
    assert invoke("mute", "--source", str(tmp_path), "--state", str(state))[0] == 0
    code, out = invoke("mute", "--list", "--state", str(state))
    assert "template\t4" in out
    assert f"source\t{tmp_path}" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ack", "99"], "no alert 99"),
        (["mute", "--for", "1d"], "exactly one of --template ID or --source PATH"),
        (["mute", "--template", "1", "--for", "soon"], "is not a duration"),
        (["feedback", "1", "maybe"], "Invalid value"),
        (["ack", "99999999999999999999"], "Invalid value"),
        (["mute", "--template", "1", "--for", "99999999999d"], "at most 100 years"),
        (["mute", "--template", "1", "--for", "inf"], "at most 100 years"),
    ],
)
def test_bad_input_gets_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    state = tmp_path / "s.db"
    stored_alert(state)
    result = CliRunner().invoke(cli, [*args, "--state", str(state)])
    assert result.exit_code in (2, 3)
    assert message in result.output


def test_a_missing_state_file_is_not_created(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["alerts", "--state", str(tmp_path / "none.db")])
    assert result.exit_code == 3
    assert "no state file" in result.output
    assert not (tmp_path / "none.db").exists()


def test_parse_duration() -> None:
    assert parse_duration("30m") == 1800.0
    assert parse_duration("2w") == 14 * 86400.0


def test_a_false_positive_stops_the_same_condition_alerting_in_a_replay(
    log_dir: Path, tmp_path: Path, clock: FakeClock
) -> None:
    """Steady traffic, a burst that alerts, the operator says false positive, then
    the same burst again: no new alert."""
    app = log_dir / "app.log"
    app.touch()
    state = str(tmp_path / "s.db")
    options = {"window_seconds": 1, "warmup_windows": 8, "window_grace": 0.2, "cooldown": 1}
    monitor = LogMonitor([str(log_dir)], 0.5, state=state, clock=clock, **options)

    def window(lines: list[str]) -> None:
        with app.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
        monitor.process_log_file(str(app))
        clock.advance(1.0)

    def normal(n: int) -> list[str]:
        return [f"INFO request {i} served in {i % 7 + 2} ms" for i in range(n * 3, n * 3 + 3)]

    def burst() -> None:
        window([f"CRITICAL disk /dev/sda failed: OSError: I/O error {i}" for i in range(200)])
        for _ in range(3):
            window([])

    try:
        for n in range(12):
            window(normal(n))
        burst()
        (alert,) = monitor.alerts
        assert alert.id is not None
        code, _ = invoke("feedback", str(alert.id), "false-positive", "--state", state)
        assert code == 0
        for n in range(12, 20):
            window(normal(n))
        burst()
        assert len(monitor.alerts) == 1  # the same condition did not alert again
    finally:
        monitor.stop()


def test_evaluate_prints_precision_recall_per_threshold(shared_data: Path) -> None:
    bgl = shared_data / "loghub-2k" / "BGL" / "BGL_2k.log"
    code, out = invoke("evaluate", str(bgl), "--line-labels", "--window", "1h",
                       "--thresholds", "0.4,0.6", "--json")  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert [t["threshold"] for t in result["thresholds"]] == [0.4, 0.6]
    assert {"precision", "recall", "f1", "alerts_per_hour_normal"} <= set(result["thresholds"][0])
    assert result["windows"] > 0
    code, out = invoke("evaluate", str(bgl), "--line-labels")
    assert code == 0
    assert "precision" in out


def test_evaluate_bad_input(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("- a line\n")
    code, out = invoke("evaluate", str(log))
    assert code == 2
    assert "line_labels" in out or "labels" in out
    code, out = invoke("evaluate", str(log), "--line-labels", "--thresholds", "high")
    assert code == 2
    assert "not a list of numbers" in out

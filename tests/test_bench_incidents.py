"""The incident benchmark's pure helpers: timestamps, traffic, incidents, accounting.

Small synthetic pools stand in for loghub-2k (one test reads the real files when
``../shared`` is present); nothing here drives a LogMonitor or measures time.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from bench.bench_incidents import (
    _BURST_EVENT,
    _DRIFT_NET,
    BURST_LINES,
    BURST_SECONDS,
    DRIFT_EVENT,
    SETTLE_WINDOWS,
    SPIKE_EVENT,
    SPIKE_FACTOR,
    START,
    TARGET_WINDOWS,
    Flag,
    Incident,
    Traffic,
    account,
    baseline_flags,
    drift_oracle,
    flag_from_alert,
    incident_lines,
    load_pools,
    plan,
    stamp,
    table,
)

from logmonitor import FakeClock
from logmonitor.parse.formats import LineParser
from logmonitor.records import Alert, LogLine

W = 60.0

POOLS = {
    "HDFS": [
        (" 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_1 terminating",
         "E10"),
        (" 222 INFO dfs.DataNode$PacketResponder: PacketResponder 0 for block blk_2 terminating",
         "E10"),
        (" 2561 WARN dfs.DataNode$DataXceiver: 10.251.30.85:50010:Got exception while serving "
         "blk_3 to /10.251.90.64:", SPIKE_EVENT),
        (" 19 INFO dfs.FSNamesystem: BLOCK* NameSystem.delete: blk_4 is added to invalidSet",
         "E8"),
    ],
    "OpenSSH": [
        (" LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186", "E13"),
        (" LabSZ sshd[24206]: Failed password for invalid user test9 from 52.80.34.196 port "
         "36060 ssh2", DRIFT_EVENT),
    ],
    "Apache": [(" [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties", "E2")],
}  # fmt: skip
RATES = {"HDFS": 60.0, "OpenSSH": 30.0, "Apache": 20.0}


@pytest.fixture
def traffic() -> Traffic:
    return Traffic(POOLS, RATES, seed=3)


@pytest.mark.parametrize("system", ["HDFS", "OpenSSH", "Apache"])
def test_stamp_is_read_back_by_logmonitors_parser(system: str) -> None:
    t = START + 3 * 3600 + 7 * 60 + 5
    text = stamp(system, t) + POOLS[system][0][0]
    record = LineParser(FakeClock(t + 30)).parse_batch([LogLine("s", "s", text, 0, 0, 1, t)])[0]
    assert record.timestamp == t


def test_stamp_rejects_an_unknown_system() -> None:
    with pytest.raises(ValueError, match="no timestamp format"):
        stamp("BGL", START)


def test_plan_spaces_the_incidents_with_normal_traffic() -> None:
    incidents, total = plan(240, 120)
    assert [i.kind for i in incidents] == ["burst", "spike", "silence", "drift"]
    assert incidents[0].start == 240
    for before, after in itertools.pairwise(incidents):
        assert after.start == before.start + before.windows + 120
    last = incidents[-1]
    assert total == last.start + last.windows + 120
    with pytest.raises(ValueError, match="gap"):
        plan(10, SETTLE_WINDOWS)


def test_traffic_is_deterministic_per_window_whatever_the_order(traffic: Traffic) -> None:
    later = traffic.lines(7, "HDFS")
    traffic.lines(3, "OpenSSH")
    again = Traffic(POOLS, RATES, seed=3)
    assert again.lines(7, "HDFS") == later
    assert Traffic(POOLS, RATES, seed=4).lines(7, "HDFS") != later
    t0 = traffic.window_start(7)
    assert all(t0 <= line.time < t0 + W for line in later)
    assert [line.time for line in later] == sorted(line.time for line in later)
    assert all(line.time == int(line.time) for line in later)  # the formats have whole seconds
    # Poisson around the rate: a long stretch averages close to it.
    mean = sum(len(traffic.lines(k, "HDFS")) for k in range(200)) / 200
    assert 55 < mean < 65


def test_incident_lines_leave_uncovered_windows_alone(traffic: Traffic) -> None:
    incident = Incident("b", "burst", "HDFS", start=10, windows=1)
    normal = traffic.lines(11, "HDFS")
    assert incident_lines(incident, 11, traffic, normal) is normal


def test_burst_adds_never_seen_errors_at_the_start_of_the_window(traffic: Traffic) -> None:
    incident = Incident("b", "burst", "HDFS", start=10, windows=1)
    normal = traffic.lines(10, "HDFS")
    lines = incident_lines(incident, 10, traffic, normal)
    burst = [line for line in lines if line.event == _BURST_EVENT]
    assert len(burst) == BURST_LINES
    assert len(lines) == len(normal) + BURST_LINES
    t0 = traffic.window_start(10)
    assert all(t0 <= line.time < t0 + BURST_SECONDS for line in burst)
    assert all(" ERROR " in line.render() for line in burst)
    assert [line.time for line in lines] == sorted(line.time for line in lines)


def test_spike_multiplies_the_warnings_rate_tenfold(traffic: Traffic) -> None:
    incident = Incident("s", "spike", "HDFS", start=0, windows=50)
    expected = RATES["HDFS"] * traffic.share("HDFS", SPIKE_EVENT)  # per 60 s window
    normal = spiked = 0
    for k in range(50):
        plain = traffic.lines(k, "HDFS")
        normal += sum(line.event == SPIKE_EVENT for line in plain)
        spiked += sum(
            line.event == SPIKE_EVENT for line in incident_lines(incident, k, traffic, plain)
        )
    assert spiked - normal == 50 * round((SPIKE_FACTOR - 1) * expected)
    assert 8 < spiked / normal < 12


def test_silence_removes_every_line(traffic: Traffic) -> None:
    incident = Incident("q", "silence", "Apache", start=5, windows=3)
    assert incident_lines(incident, 6, traffic, traffic.lines(6, "Apache")) == []
    assert incident_lines(incident, 8, traffic, traffic.lines(8, "Apache"))


def test_drift_ramps_the_rate_from_a_new_address_range(traffic: Traffic) -> None:
    incident = Incident("d", "drift", "OpenSSH", start=0, windows=30)

    def extra(k: int) -> list[str]:
        plain = traffic.lines(k, "OpenSSH")
        added = incident_lines(incident, k, traffic, plain)
        return [line.rest for line in added if line.event == DRIFT_EVENT and line not in plain]

    counts = [len(extra(k)) for k in range(30)]
    assert counts == sorted(counts)  # the ramp never goes down
    assert counts[-1] > 4 * max(counts[0], 1)
    assert all(f"from {_DRIFT_NET}." in rest and "Failed password" in rest for rest in extra(29))


def test_flag_from_alert_reads_only_the_fields_it_needs() -> None:
    def system_of(path: str) -> str | None:
        return {"/l/hdfs.log": "HDFS"}.get(path)

    alert = Alert("/l/hdfs.log", 0.8, 175.0, window_start=60.0, window_end=120.0, detector="x")
    assert flag_from_alert(alert, system_of) == Flag("HDFS", 175.0, 60.0, 120.0, 0.8, "x")
    assert flag_from_alert(Alert("/l/other.log", 0.8, 1.0), system_of) is None
    # A richer record (fields added later), and one without a window: its time stands in.
    richer = SimpleNamespace(
        filename="/l/hdfs.log", score=0.9, time=300.0, window_start=0.0, window_end=0.0,
        explanation={"why": "new template"}, detectors=("novelty", "rate"),
    )  # fmt: skip
    flag = flag_from_alert(richer, system_of)
    assert flag is not None
    assert (flag.window_start, flag.window_end, flag.time) == (300.0, 300.0, 300.0)


def _incidents() -> list[Incident]:
    return [
        Incident("b", "burst", "HDFS", start=10, windows=1),
        Incident("q", "silence", "Apache", start=30, windows=10),
    ]


def test_account_measures_delay_from_the_injection_to_the_first_alert() -> None:
    flags = [
        Flag("HDFS", 11 * W + 15, 10 * W, 11 * W, 0.9, "novelty"),  # the burst's own window
        Flag("HDFS", 12 * W + 15, 11 * W, 12 * W, 0.7, "rate"),  # still in its span
        # A silence report: its window runs from the last lines to when it was noticed.
        Flag("Apache", 33 * W + 5, 30 * W, 33 * W + 5, 0.8, "rate"),
    ]
    result = account(flags, _incidents(), eval_from=5 * W, eval_to=60 * W, start=0.0, window=W)
    burst, silence = result["incidents"]
    assert (burst["detected"], burst["delay_windows"], burst["delay_seconds"]) == (True, 1, 75.0)
    assert burst["alerts"] == 2
    assert burst["detectors"] == ["novelty", "rate"]
    assert burst["first_window_offset"] == 0
    assert (silence["delay_windows"], silence["delay_seconds"]) == (3, 185.0)
    assert burst["within_target"]
    assert not silence["within_target"]
    assert result["false_alerts"] == 0
    assert not result["target_met"]  # the silence took three windows


def test_account_counts_false_alerts_per_hour_of_normal_traffic() -> None:
    flags = [
        Flag("HDFS", 3 * W, 2 * W, 3 * W, 0.6),  # warm-up
        Flag("OpenSSH", 11 * W, 10 * W, 11 * W, 0.6),  # another source, in the burst's span
        Flag("OpenSSH", 20 * W, 19 * W, 20 * W, 0.6),  # normal traffic: false
        Flag("HDFS", 50 * W, 49 * W, 50 * W, 0.6),  # normal traffic: false
    ]
    result = account(flags, _incidents(), eval_from=5 * W, eval_to=65 * W, start=0.0, window=W)
    assert result["warmup_alerts"] == 1
    assert result["collateral_alerts"] == 1
    assert result["false_alerts"] == 2
    assert result["false_alerts_by_source"] == {"OpenSSH": 1, "HDFS": 1}
    spans = (1 + SETTLE_WINDOWS) + (10 + SETTLE_WINDOWS)
    assert result["normal_hours"] == pytest.approx((60 - spans) * W / 3600)
    assert result["false_alerts_per_hour"] == pytest.approx(2 / result["normal_hours"])
    burst = result["incidents"][0]
    hdfs_rate = 1 / result["normal_hours"]  # one false alert on HDFS
    assert burst["chance_hit"] == pytest.approx(1 - math.exp(-hdfs_rate * 6 * W / 3600))
    assert not any(i["detected"] for i in result["incidents"])
    assert all(i["delay_windows"] is None for i in result["incidents"])
    assert not result["target_met"]


def test_account_target_met_when_all_fast_and_quiet() -> None:
    flags = [
        Flag("HDFS", 11 * W + 15, 10 * W, 11 * W, 0.9),
        Flag("Apache", 31 * W + 15, 30 * W, 31 * W + 15, 0.9),
    ]
    result = account(flags, _incidents(), eval_from=0.0, eval_to=3600.0, start=0.0, window=W)
    assert result["target_met"]


def test_baseline_flags_a_spike_in_the_scored_windows_only() -> None:
    rng = np.random.default_rng(1)
    cells: dict[tuple[int, str], Counter[str]] = {}
    for k in range(100):
        cells[(k, "HDFS")] = Counter({"E1": int(rng.poisson(50)), "E3": int(rng.poisson(3))})
    cells[(105, "HDFS")] = Counter({"E1": 50, "E3": 400})
    cells[(106, "HDFS")] = Counter({"E1": 50, "E3": 3, "NEW": 300})
    flags, info = baseline_flags(cells, train_windows=100, seed=0, start=0.0, window=W)
    assert info == {"features": 2, "train_cells": 100, "oov": False}
    flagged = {round(f.window_start / W) for f in flags}
    assert 105 in flagged
    assert 106 not in flagged  # an unseen event is dropped without the oov column
    assert all(f.window_start >= 100 * W for f in flags)
    assert all(f.time == f.window_end + W / 4 for f in flags)
    _, with_oov = baseline_flags(cells, train_windows=100, seed=0, oov=True, start=0.0, window=W)
    assert with_oov["features"] == 3


def test_loghub_pools_have_the_lines_the_incidents_need(shared_data: object) -> None:
    pools = load_pools(["HDFS", "OpenSSH", "Apache"])
    assert {len(pool) for pool in pools.values()} == {2000}
    assert any(event == SPIKE_EVENT and " WARN " in rest for rest, event in pools["HDFS"])
    assert any(event == DRIFT_EVENT for _, event in pools["OpenSSH"])


def test_table_shows_every_incident_and_the_false_alert_rate() -> None:
    incidents = _incidents()
    bounds = {"eval_from": 0.0, "eval_to": 3600.0, "start": 0.0, "window": W}
    caught = account(
        [Flag("HDFS", 11 * W + 15, 10 * W, 11 * W, 0.9, "novelty")], incidents, **bounds
    )
    runs = {
        "logmonitor": {**caught, "detectors": {"novelty": 1}},
        "iforest": account([], incidents, **bounds),
        "iforest_oov": account([], incidents, **bounds),
    }
    result = {
        "runs": runs, "sources": {"HDFS": {"lines_per_minute": 60.0}}, "threshold": 0.5,
        "monitor_options": {"window_seconds": 60.0}, "window_seconds": 60.0,
        "warmup_hours": 0.0, "simulated_hours": 1.0, "lines_written": 10, "replay_seconds": 1.0,
        "monitor_status": {"lines": 10, "templates": 2, "windows_scored": 5, "windows_learned": 5},
        "drift_oracle": {"expected_per_window": 2.0, "false_per_hour": 1.0,
                         "median_windows": 4.0, "mean_windows": 4.2, "within_target": 0.12,
                         "fastest_test": "CUSUM 1.5x", "likeliest_test": "CUSUM 2x"},
    }  # fmt: skip
    text = table(result)
    assert "needs 4 windows (median; mean 4.2; CUSUM 1.5x) and is within 2 windows in 12%" in text
    burst_row = next(row for row in text.splitlines() if row.startswith("b "))
    assert burst_row.split()[2:5] == ["yes", "1", "75"]
    assert "false alerts / h of normal traffic" in text
    assert "novelty 1" in text


def test_the_drift_oracle_bounds_what_counting_can_do() -> None:
    quiet = drift_oracle(2.025, runs=4000)  # the benchmark's drift: about 2 lines a window
    assert quiet["median_windows"] > TARGET_WINDOWS
    assert quiet["within_target"] < 0.5
    busy = drift_oracle(200.0, runs=4000)  # the same ramp on a busy template is plain
    assert busy["median_windows"] <= TARGET_WINDOWS
    assert busy["within_target"] > 0.9
    # The one-window test spends the budget (one false alert an hour) exactly.
    h = next(t["threshold"] for t in quiet["tests"] if t["test"] == "one window")
    false_rate = sum(
        math.exp(-2.025) * 2.025**x / math.factorial(x) * min(1.0, max(0.0, x + 1 - h))
        for x in range(40)
    )
    assert false_rate * 60 == pytest.approx(1.0, rel=0.1)

"""Rate spikes and dips against an EWMA + mean-absolute-deviation baseline; silence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from logmonitor.detect.rate import RateDetector
from logmonitor.errors import ConfigError, MonitorStateError, StateError
from logmonitor.records import Window


def windows(n: int, start: int = 0, source: str = "app.log", seed: int = 3) -> list[Window]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(start, start + n):
        a, b = int(rng.poisson(40)), int(rng.poisson(8))
        out.append(Window(source, i * 60.0, i * 60.0 + 60, ((1, a), (2, b)), a + b, 0))
    return out


def at(i: int, counts: tuple[tuple[int, int], ...], source: str = "app.log") -> Window:
    return Window(source, i * 60.0, i * 60.0 + 60, counts, sum(c for _, c in counts), 0)


def test_normal_windows_score_low_a_tenfold_spike_high() -> None:
    detector = RateDetector()
    detector.learn(windows(100))
    normal = windows(20, start=100, seed=9)
    assert max(detector.score(normal)) < 0.5
    [spike] = detector.score([at(120, ((1, 40), (2, 80)))])
    assert spike > 0.6
    [top, *_] = detector.deviations(at(120, ((1, 40), (2, 80))))
    assert (top.template_id, top.kind, top.observed) == (2, "spike", 80.0)
    assert top.expected == pytest.approx(8, rel=0.3)


def test_a_dip_of_a_busy_template_is_anomalous() -> None:
    detector = RateDetector()
    detector.learn(windows(100))
    [score] = detector.score([at(100, ((2, 8),))])  # template 1 stopped
    assert score > 0.5
    kinds = {(d.template_id, d.kind) for d in detector.deviations(at(100, ((2, 8),)))}
    assert (1, "dip") in kinds


def test_a_silent_source_yields_an_empty_window_per_period_that_scores_high() -> None:
    detector = RateDetector(silence_windows=3)
    detector.learn(windows(50))
    end = 50 * 60.0
    assert detector.silent(now=end + 60) == []
    [quiet] = detector.silent(now=end + 200)
    assert (quiet.source, quiet.lines, quiet.start) == ("app.log", 0, end)
    assert detector.silent(now=end + 300) == []  # reported once per silence period...
    assert len(detector.silent(now=end + 400)) == 1  # ...while it lasts
    [score] = detector.score([quiet])
    assert score > 0.55
    assert any(d.kind == "silent" and d.template_id is None for d in detector.deviations(quiet))
    detector.learn(windows(1, start=60))
    assert not detector.sources_["app.log"].silent_reported


def test_sessions_count_for_their_source_and_series_are_bounded() -> None:
    detector = RateDetector(max_series=4)
    detector.learn([at(0, ((1, 1),), "a.log#blk_1"), at(1, ((2, 1),), "a.log#blk_2")])
    assert list(detector.series_) == ["a.log"]
    detector.learn([at(2, ((5, 1), (6, 1)), "b.log")])
    assert detector._size <= 4
    assert "b.log" in detector.series_


def test_warm_up_and_state_round_trip() -> None:
    detector = RateDetector(warmup_windows=5)
    with pytest.raises(MonitorStateError):
        detector.score(windows(1))
    detector.learn(windows(60))
    restored = RateDetector.from_state(json.loads(json.dumps(detector.to_state())))
    probe = [*windows(5, start=60, seed=11), at(70, ((1, 400),))]
    assert restored.score(probe) == detector.score(probe)
    with pytest.raises(StateError):
        RateDetector.from_state({**detector.to_state(), "version": 0})


def ramp(n: int, start: int, base: float, end_factor: float, seed: int = 5) -> list[Window]:
    """Template 2 ramping from ``base`` per window to ``end_factor`` times it."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        mean = base * (1 + (end_factor - 1) * (k + 1) / n)
        a, b = int(rng.poisson(40)), int(rng.poisson(mean))
        i = start + k
        out.append(Window("app.log", i * 60.0, i * 60.0 + 60, ((1, a), (2, b)), a + b, 0))
    return out


def first_alert(detector: RateDetector, stream: list[Window]) -> int | None:
    for k, window in enumerate(stream):
        [score] = detector.score([window])
        detector.learn([window])
        if score >= 0.5:
            return k
    return None


def test_a_slow_drift_is_caught_by_the_cusum_before_any_single_window_stands_out() -> None:
    drift = ramp(30, 200, base=8, end_factor=4)
    with_cusum, z_only = RateDetector(alpha=0.02), RateDetector(alpha=0.02, drift_half=None)
    for detector in (with_cusum, z_only):
        detector.learn(windows(200))
    caught, by_z = first_alert(with_cusum, drift), first_alert(z_only, ramp(30, 200, 8, 4))
    assert caught is not None
    assert by_z is None or caught < by_z
    [top, *_] = with_cusum.deviations(drift[caught])
    assert (top.template_id, top.kind) == (2, "rising")


def test_steady_noise_keeps_the_cusum_quiet_and_it_survives_a_restart() -> None:
    detector = RateDetector(alpha=0.02)
    detector.learn(windows(200))
    normal = windows(300, start=200, seed=21)
    assert first_alert(detector, normal) is None
    rising = max(s.rising for s in detector.series_["app.log"].values())
    assert rising < detector.drift_half  # type: ignore[operator]
    detector.learn(ramp(12, 500, base=8, end_factor=3))
    restored = RateDetector.from_state(json.loads(json.dumps(detector.to_state())))
    assert restored.series_["app.log"][2].rising == detector.series_["app.log"][2].rising > 0
    probe = ramp(3, 512, base=20, end_factor=1.2)
    assert restored.score(probe) == detector.score(probe)


def with_template(stream: list[Window], template: int, rate: float, seed: int = 8) -> list[Window]:
    rng = np.random.default_rng(seed)
    out = []
    for w in stream:
        n = int(rng.poisson(rate))
        out.append(Window(w.source, w.start, w.end, (*w.counts, (template, n)), w.lines + n, 0))
    return out


@pytest.mark.parametrize("steady", [False, True])
def test_a_new_template_alerts_neither_after_its_burst_nor_while_it_keeps_logging(
    steady: bool,
) -> None:
    detector = RateDetector(alpha=0.02)
    detector.learn(windows(300))
    detector.learn([at(300, ((1, 40), (2, 8), (9, 30)))])  # a new template's first window
    after = windows(150, start=301, seed=4)
    blamed = set()
    for window in with_template(after, 9, 10.0) if steady else after:
        [score] = detector.score([window])
        if score >= 0.5:
            blamed.add(detector.deviations(window)[0].template_id)
        detector.learn([window])
    # Steady: the source's total rises for good by a fifth, which may alert once
    # its CUSUM has added that up; the new template's own series never does.
    assert blamed <= ({None} if steady else set())


def test_a_paused_source_that_resumes_at_its_usual_rate_does_not_alert() -> None:
    for gap in (5, 8, 12, 30):
        detector = RateDetector(alpha=0.02)
        detector.learn(windows(300))
        assert first_alert(detector, windows(30, start=300 + gap, seed=gap)) is None, gap
        assert all(s.falling == 0 for s in detector.series_["app.log"].values())


def test_a_source_that_logs_in_bursts_between_pauses_adds_up_no_rise() -> None:
    detector = RateDetector(alpha=0.02)
    rng = np.random.default_rng(2)
    bursts = [at(i, ((1, int(rng.poisson(30))),)) for i in range(0, 3000, 7)]  # 6 quiet
    detector.learn(bursts[:100])
    kinds = set()
    for window in bursts[100:]:
        kinds |= {d.kind for d in detector.deviations(window) if d.strength >= 0.5}
        detector.learn([window])
    assert not kinds & {"rising", "falling"}  # (a rare big burst may still be a spike)
    assert all(s.rising <= 2.0 for s in detector.series_["app.log"].values())  # one step


def test_a_new_template_gets_a_series_when_the_bound_is_reached() -> None:
    detector = RateDetector(max_series=4)
    detector.learn([at(i, ((1, 40), (2, 5), (3, 1))) for i in range(20)])
    detector.learn([at(i, ((1, 40), (2, 5), (3, 1), (9, 30))) for i in range(20, 50)])
    assert set(detector.series_["app.log"]) == {-1, 1, 2, 9}


def test_a_saved_series_row_of_the_wrong_length_is_a_state_error() -> None:
    detector = RateDetector()
    detector.learn(windows(20))
    state = detector.to_state()
    state["series"][0] = state["series"][0][:6]
    with pytest.raises(StateError):
        RateDetector.from_state(state)
    state["series"][0] = state["series"][1][:5]  # saved before the drift statistics
    assert RateDetector.from_state(state).series_


@pytest.mark.parametrize(
    "kwargs",
    [{"alpha": 0}, {"z_half": 0}, {"max_series": 0}, {"drift_k": -1}, {"drift_half": 0}],
)
def test_bad_settings_raise_config_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        RateDetector(**kwargs)  # type: ignore[arg-type]

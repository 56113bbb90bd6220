"""The Isolation Forest detector: warm-up, the paper's score, refits, bounds, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from logmonitor.detect.base import Detector
from logmonitor.detect.iforest import IsolationForestDetector, make_model
from logmonitor.errors import LogMonitorError, MonitorStateError
from logmonitor.records import Window

MEANS = (50, 20, 10, 5, 2)  # Poisson means of templates 1..5 in a normal window


def normal_windows(n: int, seed: int = 7) -> list[Window]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        counts = {t: int(rng.poisson(lam)) + 1 for t, lam in enumerate(MEANS, start=1)}
        ordered = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        lines = sum(counts.values())
        out.append(Window("a.log", i * 60.0, i * 60.0 + 60, ordered, lines, int(rng.integers(2))))
    return out


def burst() -> Window:
    """A never-seen template, 500 times, every line an error."""
    return Window("a.log", 0.0, 60.0, ((999, 500),), 500, 500, new_templates=(999,))


def test_it_is_a_detector_over_a_sklearn_forest() -> None:
    detector: Detector = IsolationForestDetector()
    assert detector.name == "iforest"
    assert isinstance(IsolationForestDetector().model, IsolationForest)
    model = make_model(seed=3)
    assert IsolationForestDetector(model).model is model
    assert model.random_state == 3


def test_not_ready_before_the_warm_up() -> None:
    detector = IsolationForestDetector(warmup_windows=10)
    windows = normal_windows(10)
    detector.learn(windows[:5])
    detector.learn(windows[5:9])
    assert not detector.ready
    with pytest.raises(MonitorStateError, match=r"ready"):
        detector.score(windows[:1])
    detector.learn(windows[9:])
    assert detector.ready
    assert detector.fits_ == 1


def test_score_before_ready_is_a_monitor_state_error() -> None:
    with pytest.raises(LogMonitorError):
        IsolationForestDetector().score([burst()])


def test_scores_are_floats_in_unit_interval() -> None:
    detector = IsolationForestDetector(warmup_windows=20)
    detector.learn(normal_windows(20))
    scores = detector.score([*normal_windows(50, seed=8), burst()])
    assert len(scores) == 51
    assert all(type(s) is float and 0.0 <= s <= 1.0 for s in scores)
    assert detector.score([]) == []


def test_a_burst_of_new_errors_scores_above_normal_and_the_boundary() -> None:
    detector = IsolationForestDetector(warmup_windows=40)
    detector.learn(normal_windows(40))
    normal = detector.score(normal_windows(40, seed=8))
    [anomaly] = detector.score([burst()])
    assert anomaly >= 0.5
    assert anomaly > max(normal)
    assert anomaly > float(np.median(normal)) + 0.1


def test_score_is_minus_score_samples() -> None:
    detector = IsolationForestDetector(warmup_windows=20)
    detector.learn(normal_windows(20))
    windows = [*normal_windows(10, seed=9), burst()]
    expected = -detector.model.score_samples(detector.vectorizer.transform(windows))
    np.testing.assert_allclose(detector.score(windows), expected)


def test_fit_returns_self_and_needs_two_windows() -> None:
    detector = IsolationForestDetector()
    detector.history_.extend(normal_windows(1))
    with pytest.raises(MonitorStateError):
        detector.fit()
    detector.history_.extend(normal_windows(1))
    assert detector.fit() is detector
    assert detector.ready


def test_refit_every_n_learned_windows() -> None:
    detector = IsolationForestDetector(warmup_windows=5, refit_every=10)
    windows = normal_windows(40)
    detector.learn(windows[:5])
    assert detector.fits_ == 1
    for i, w in enumerate(windows[5:25], start=1):
        detector.learn([w])
        assert detector.fits_ == 1 + i // 10
    assert detector.fits_ == 3
    detector.learn(windows[25:34])
    assert detector.fits_ == 3
    detector.learn(windows[34:35])
    assert detector.fits_ == 4


def test_a_refit_learns_new_templates() -> None:
    detector = IsolationForestDetector(warmup_windows=5, refit_every=5)
    detector.learn(normal_windows(5))
    assert 6 not in detector.vectorizer.vocabulary_
    shifted = [Window("a.log", 0.0, 60.0, ((6, 30), (1, 10)), 40, 0, (6,)) for _ in range(5)]
    detector.learn(shifted)
    assert 6 in detector.vectorizer.vocabulary_


def test_history_is_bounded() -> None:
    detector = IsolationForestDetector(warmup_windows=5, refit_every=5, history_size=12)
    windows = normal_windows(50)
    for w in windows:
        detector.learn([w])
    assert len(detector.history_) == 12
    assert list(detector.history_) == windows[-12:]


def test_same_seed_same_scores() -> None:
    def run(seed: int) -> list[float]:
        detector = IsolationForestDetector(make_model(seed), warmup_windows=20, refit_every=10)
        windows = normal_windows(45)
        detector.learn(windows[:20])
        first = detector.score([*windows[20:30], burst()])
        detector.learn(windows[20:45])  # two refits
        return first + detector.score([*windows[:10], burst()])

    assert run(0) == run(0)
    assert run(0) != run(1)


def test_scores_do_not_depend_on_the_batch() -> None:
    detector = IsolationForestDetector(warmup_windows=20)
    detector.learn(normal_windows(20))
    windows = [*normal_windows(5, seed=3), burst()]
    together = detector.score(windows)
    apart = [detector.score([w])[0] for w in windows]
    assert together == pytest.approx(apart)

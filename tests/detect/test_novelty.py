"""New and rare templates: rarity of what a window holds, or lacks; bounds; state."""

from __future__ import annotations

import json
import math

import pytest

from logmonitor.detect.base import Detector
from logmonitor.detect.novelty import NoveltyDetector
from logmonitor.errors import ConfigError, MonitorStateError, StateError
from logmonitor.records import Window


def win(*counts: tuple[int, int], new: tuple[int, ...] = ()) -> Window:
    lines = sum(c for _, c in counts)
    return Window("a.log#s", 0.0, 1.0, tuple(counts), lines, 0, new)


NORMAL = win((1, 3), (2, 1), (3, 3))
REPLICATED = win((1, 4), (2, 1), (3, 3), (6, 1), (7, 1))  # a rare but coherent pair


def trained(n: int = 200, **kwargs: object) -> NoveltyDetector:
    detector = NoveltyDetector(warmup_windows=10, **kwargs)  # type: ignore[arg-type]
    for i in range(n):
        detector.learn([REPLICATED if i % 50 == 0 else NORMAL])
    return detector


def test_it_is_a_detector_with_a_warm_up() -> None:
    detector: Detector = NoveltyDetector(warmup_windows=3)
    assert detector.name == "novelty"
    assert not detector.ready
    with pytest.raises(MonitorStateError, match="ready"):
        detector.score([NORMAL])
    detector.learn([NORMAL] * 3)
    assert detector.ready


def test_usual_windows_score_low_and_a_new_template_scores_high() -> None:
    detector = trained()
    usual, new = detector.score([NORMAL, win((1, 3), (2, 1), (3, 3), (99, 1), new=(99,))])
    assert usual < 0.1
    assert new > 0.6
    [top] = detector.surprises(win((1, 3), (2, 1), (3, 3), (99, 1)), limit=1)
    assert (top.template_id, top.present, top.new) == (99, True, True)


def test_a_missing_usual_template_is_surprising() -> None:
    detector = trained()
    [score] = detector.score([win((1, 3), (2, 1))])  # template 3 never came
    assert score > 0.5
    [top] = detector.surprises(win((1, 3), (2, 1)), limit=1)
    assert (top.template_id, top.present, top.observed) == (3, False, 0)
    assert top.expected == pytest.approx(3.0)


def test_a_rare_template_explained_by_a_less_rare_one_is_not_counted_twice() -> None:
    detector = trained()
    surprises = {s.template_id: s for s in detector.surprises(REPLICATED)}
    # 6 and 7 always came together: 7 given 6 is likely; 6 itself stays rare.
    assert surprises[7].given == 6
    assert surprises[7].probability > 0.5
    assert surprises[6].given is None
    assert surprises[6].probability == pytest.approx((4 + 0.5) / (200 + 1))


def test_the_score_is_monotone_in_rarity_and_half_at_half_probability() -> None:
    detector = NoveltyDetector(warmup_windows=1, half_probability=0.03)
    r = -math.log(0.03)
    assert r / (r + detector.r_half) == pytest.approx(0.5)
    detector = trained()
    rare = win((1, 3), (2, 1), (3, 3), (6, 1))
    rarer = win((1, 3), (2, 1), (3, 3), (99, 1))
    low, high = detector.score([rare, rarer])
    assert 0 < low < high <= 1


def test_templates_and_pairs_are_bounded() -> None:
    detector = NoveltyDetector(warmup_windows=1, max_templates=5, max_pairs=3)
    for t in range(20):
        detector.learn([win((t, 1), (t + 100, 1), (t + 200, 1))])
    assert len(detector.present_) == 5
    assert len(detector.pairs_) <= 3
    assert all(t in detector.present_ for t, _ in detector.pairs_)


def test_counts_halve_after_the_horizon() -> None:
    detector = NoveltyDetector(warmup_windows=1, horizon=10)
    detector.learn([NORMAL] * 10)
    assert detector.windows_ == 5.0
    assert detector.present_[1] == 5.0
    assert detector.learned_ == 10


def test_state_round_trips_through_json() -> None:
    detector = trained()
    state = json.loads(json.dumps(detector.to_state()))
    restored = NoveltyDetector.from_state(state)
    probes = [NORMAL, REPLICATED, win((1, 3), (99, 1))]
    assert restored.score(probes) == detector.score(probes)
    assert restored.to_state() == detector.to_state()


def test_foreign_or_old_state_is_refused() -> None:
    state = trained().to_state()
    with pytest.raises(StateError, match="not 'novelty'"):
        NoveltyDetector.from_state({**state, "kind": "rate"})
    with pytest.raises(StateError, match="version"):
        NoveltyDetector.from_state({**state, "version": 99})
    with pytest.raises(StateError, match="malformed"):
        NoveltyDetector.from_state({**state, "templates": [[1]]})


@pytest.mark.parametrize(
    "kwargs",
    [{"warmup_windows": 0}, {"half_probability": 0.5}, {"max_templates": 0}, {"max_pairs": -1}],
)
def test_bad_settings_raise_config_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        NoveltyDetector(**kwargs)  # type: ignore[arg-type]

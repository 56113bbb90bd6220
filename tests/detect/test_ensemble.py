"""The ensemble: one verdict per window, learning policy per member, state."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from logmonitor.detect.base import Detector
from logmonitor.detect.ensemble import Ensemble, Member, default_ensemble
from logmonitor.detect.iforest import IsolationForestDetector, make_model
from logmonitor.detect.novelty import NoveltyDetector
from logmonitor.detect.rate import RateDetector
from logmonitor.errors import ConfigError, StateError
from logmonitor.records import Window


def minutes(n: int, start: int = 0, seed: int = 5) -> list[Window]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(start, start + n):
        a, b = int(rng.poisson(30)) + 1, int(rng.poisson(6)) + 1
        out.append(Window("app.log", i * 60.0, i * 60.0 + 60, ((1, a), (2, b)), a + b, 0))
    return out


def burst(i: int = 500) -> Window:
    return Window("app.log", i * 60.0, i * 60.0 + 60, ((1, 30), (2, 6), (9, 200)), 236, 200, (9,))


def test_max_of_weighted_member_scores_with_explanation() -> None:
    ensemble = default_ensemble(0.5, "time", template_text={9: "disk <*> failed"}.get)
    detector: Detector = ensemble
    assert detector.name == "ensemble"
    assert not ensemble.ready
    for window in minutes(120):
        ensemble.process([window])
    assert ensemble.ready
    normal, anomalous = ensemble.process([*minutes(1, start=120), burst()])
    assert normal.score < 0.5
    assert anomalous.score > 0.6
    assert anomalous.score == max(s for _, s in anomalous.scores)
    assert {name for name, _ in anomalous.scores} == {"novelty", "rate", "iforest"}
    assert "novelty" in anomalous.explanation.fired
    assert anomalous.explanation.template_ids[0] == 9
    named = [d.template for d in anomalous.explanation.deviations if d.template_id == 9]
    assert named[0] == "disk <*> failed"


def test_the_forest_does_not_learn_alerted_windows_the_baselines_do() -> None:
    forest = IsolationForestDetector(warmup_windows=20, refit_every=10_000)
    novelty = NoveltyDetector(warmup_windows=20)
    ensemble = Ensemble([Member(novelty), Member(forest, learn_alerted=False)], 0.5)
    ensemble.process(minutes(40))
    history, learned = len(forest.history_), novelty.learned_
    [verdict] = ensemble.process([burst()])
    assert verdict.score >= 0.5
    assert len(forest.history_) == history
    assert novelty.learned_ == learned + 1


def test_mean_combination_and_weights() -> None:
    novelty = NoveltyDetector(warmup_windows=5)
    rate = RateDetector(warmup_windows=5)
    ensemble = Ensemble([Member(novelty, 1.0), Member(rate, 0.5)], 0.5, combine="mean")
    ensemble.learn(minutes(60))
    [verdict] = ensemble.evaluate([burst()])
    scores = dict(verdict.scores)
    assert verdict.score == pytest.approx((scores["novelty"] + 0.5 * scores["rate"]) / 1.5)


def test_state_round_trip_scores_the_same_and_refits_the_forest() -> None:
    ensemble = default_ensemble(0.5, "time")
    ensemble.process(minutes(80))
    state = json.loads(json.dumps(ensemble.to_state()))
    model = make_model(0)
    restored = Ensemble.from_state(state)
    probe = [*minutes(5, start=80, seed=8), burst()]
    assert [v.score for v in restored.evaluate(probe)] == pytest.approx(
        [v.score for v in ensemble.evaluate(probe)]
    )
    forest = Ensemble.from_state(state, model=model).detector("iforest")
    assert isinstance(forest, IsolationForestDetector)
    assert forest.model is model
    assert isinstance(forest.model, IsolationForest)
    assert forest.ready


def test_bad_ensembles_and_states_are_refused() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        Ensemble([])
    with pytest.raises(ConfigError, match="distinct"):
        Ensemble([Member(NoveltyDetector()), Member(NoveltyDetector())])
    with pytest.raises(ConfigError, match="weight"):
        Ensemble([Member(NoveltyDetector(), weight=2.0)])
    with pytest.raises(ConfigError, match="alert_threshold"):
        Ensemble([Member(NoveltyDetector())], threshold=0.0)
    state = default_ensemble().to_state()
    state["members"][0]["state"]["kind"] = "mystery"
    with pytest.raises(StateError, match="unknown detector"):
        Ensemble.from_state(state)


def test_deviations_are_gathered_only_from_explain_from() -> None:
    calm = [Window("a", 0, 1, ((1, 3),), 3, 0)] * 50
    odd = [Window("a", 0, 1, ((1, 3), (7, 1)), 4, 1)]
    quiet = [Window("a", 0, 1, ((1, 3),), 3, 0)]
    ensemble = Ensemble([Member(NoveltyDetector(warmup_windows=2))], threshold=0.5)
    ensemble.process(calm)
    [alerting] = ensemble.evaluate(odd)
    [below] = ensemble.evaluate(quiet)
    assert alerting.score >= 0.5
    assert alerting.explanation.deviations
    assert below.score < 0.5
    assert below.explanation.deviations == ()
    assert below.explanation.scores == below.scores  # the rest is still there
    ensemble.explain_from = 0.0
    [odd_again] = ensemble.evaluate(odd)
    assert odd_again.explanation == alerting.explanation
    # Unless set, it follows the threshold (a restart may load another threshold).
    ensemble = Ensemble([Member(NoveltyDetector(warmup_windows=2))], threshold=0.9)
    ensemble.process(calm)
    ensemble.threshold = 0.5
    assert ensemble.explain_from == 0.5
    assert ensemble.evaluate(odd)[0].explanation.deviations
    with pytest.raises(ConfigError, match="explain_from"):
        Ensemble([Member(NoveltyDetector())], explain_from=-1.0)

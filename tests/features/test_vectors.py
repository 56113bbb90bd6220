"""Windows -> fixed-length vectors: vocabulary, log scaling, shape columns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from logmonitor.features.vectors import SHAPE_FEATURES, CountVectorizer
from logmonitor.records import Window


def window(
    counts: dict[int, int], errors: int = 0, new: tuple[int, ...] = (), lines: int | None = None
) -> Window:
    total = sum(counts.values()) if lines is None else lines
    ordered = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return Window("a.log", 0.0, 60.0, ordered, total, errors, new)


def test_vocabulary_is_bounded_by_the_most_frequent_templates() -> None:
    # Template 1 is in every window, 2 in two, 3..9 in one each.
    windows = [window({1: 5, 2: 1}), window({1: 5, 2: 1, 3: 1})] + [
        window({1: 1, t: 1}) for t in range(4, 10)
    ]
    vectorizer = CountVectorizer(max_templates=3).fit(windows)
    assert len(vectorizer.vocabulary_) == 3
    assert vectorizer.vocabulary_ == {1: 0, 2: 1, 3: 2}  # ties broken by id
    assert vectorizer.n_features == 3 + len(SHAPE_FEATURES)


def test_fit_returns_self_and_refits_from_scratch() -> None:
    vectorizer = CountVectorizer()
    assert vectorizer.fit([window({1: 1})]) is vectorizer
    vectorizer.fit([window({7: 1})])
    assert vectorizer.vocabulary_ == {7: 0}


def test_feature_names_match_the_columns() -> None:
    vectorizer = CountVectorizer(max_templates=2).fit([window({5: 3, 9: 1}), window({9: 2})])
    names = vectorizer.feature_names()
    assert len(names) == vectorizer.n_features
    assert names == ["template:9", "template:5", *SHAPE_FEATURES]
    matrix = vectorizer.transform([window({5: 1})])
    assert matrix.shape == (1, vectorizer.n_features)


def test_counts_are_log_scaled() -> None:
    vectorizer = CountVectorizer().fit([window({1: 1, 2: 1})])
    [row] = vectorizer.transform([window({1: 1000, 2: 0}, errors=250, new=(1, 2, 3))])
    width = len(vectorizer.vocabulary_)
    assert row[vectorizer.vocabulary_[1]] == pytest.approx(math.log1p(1000))
    assert row[vectorizer.vocabulary_[2]] == 0.0
    assert row[width] == pytest.approx(math.log1p(1000))  # lines
    assert row[width + 1] == pytest.approx(0.25)  # error ratio: not log scaled
    assert row[width + 2] == pytest.approx(math.log1p(3))  # new templates
    assert row[width + 3] == 0.0  # nothing outside the vocabulary


def test_templates_outside_the_vocabulary_go_to_the_unknown_column() -> None:
    vectorizer = CountVectorizer().fit([window({1: 1})])
    [row] = vectorizer.transform([window({1: 2, 40: 3, 41: 4})])
    assert row[0] == pytest.approx(math.log1p(2))
    assert row[-1] == pytest.approx(math.log1p(7))
    assert row[1] == pytest.approx(math.log1p(9))


def test_empty_window_and_empty_batch() -> None:
    vectorizer = CountVectorizer().fit([window({1: 1})])
    [row] = vectorizer.transform([window({}, lines=0)])
    assert not row.any()
    assert vectorizer.transform([]).shape == (0, vectorizer.n_features)


def test_unfitted_vectorizer_still_has_shape_features() -> None:
    vectorizer = CountVectorizer()
    assert vectorizer.feature_names() == list(SHAPE_FEATURES)
    matrix = vectorizer.transform([window({1: 1})])
    assert matrix.shape == (1, len(SHAPE_FEATURES))
    assert matrix.dtype == np.float64


def test_transform_does_not_depend_on_batch_composition() -> None:
    train = [window({1: 3, 2: 1}), window({2: 4, 3: 1}, errors=1)]
    vectorizer = CountVectorizer().fit(train)
    together = vectorizer.transform(train)
    apart = np.vstack([vectorizer.transform([w]) for w in train])
    np.testing.assert_array_equal(together, apart)

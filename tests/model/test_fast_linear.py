"""The stacked calibrated SVM predicts exactly what sklearn's CalibratedClassifierCV predicts."""

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC

from smart_support.models.fast_linear import StackedSigmoidLinear, accelerate, stack_calibrated


def test_accelerated_m2_predicts_the_same(tiny_m2, tiny_splits) -> None:
    texts = tiny_splits["test"].texts
    fast = accelerate(tiny_m2, texts[:5])
    assert isinstance(fast.classifier.steps[-1][1], StackedSigmoidLinear)
    assert tiny_m2.classifier.steps[-1][1].__class__ is CalibratedClassifierCV  # not mutated
    expected, got = tiny_m2.predict(texts), fast.predict(texts)
    assert got.categories == expected.categories
    np.testing.assert_allclose(got.probabilities, expected.probabilities, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.urgency, expected.urgency, rtol=0, atol=1e-12)


def test_stacking_matches_sklearn_on_dense_random_data() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 20))
    y = np.array(["a", "b", "c", "d"])[(X[:, 0] > 0) + 2 * (X[:, 1] > 0.5)]
    model = CalibratedClassifierCV(LinearSVC(C=0.5), cv=4, method="sigmoid").fit(X, y)
    stacked = stack_calibrated(model)
    assert stacked is not None and list(stacked.classes_) == ["a", "b", "c", "d"]
    X_new = rng.normal(size=(50, 20)) * 3
    np.testing.assert_allclose(
        stacked.predict_proba(X_new), model.predict_proba(X_new), rtol=0, atol=1e-12
    )


def test_models_it_cannot_stack_are_left_alone() -> None:
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(120, 5)), rng.integers(0, 3, 120)
    isotonic = CalibratedClassifierCV(LinearSVC(), cv=3, method="isotonic").fit(X, y)
    binary = CalibratedClassifierCV(LinearSVC(), cv=3, method="sigmoid").fit(X, y % 2)
    assert stack_calibrated(isotonic) is None
    assert stack_calibrated(binary) is None
    assert stack_calibrated(LinearSVC().fit(X, y)) is None

"""The decision rule: validation-fitted class offsets help the minority classes, or stay off."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, recall_score

from smart_support.models.decision import DecisionRule, build_decision, macro_f1


def imbalanced(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping Gaussian classes, 90 % / 5 % / 5 %."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.9, 0.05, 0.05])
    centres = np.array([[0.0, 0.0], [1.5, 0.0], [0.0, 1.5]])
    return centres[y] + rng.normal(size=(n, 2)), y


@pytest.fixture(scope="module")
def problem() -> tuple[LogisticRegression, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X_train, y_train = imbalanced(3000, 0)
    X_val, y_val = imbalanced(2000, 1)
    X_test, y_test = imbalanced(4000, 2)
    model = LogisticRegression().fit(X_train, y_train)  # unweighted: favours class 0
    return model, model.predict_proba(X_val), y_val, model.predict_proba(X_test), y_test


def test_offsets_fitted_on_validation_raise_held_out_macro_f1(problem) -> None:
    _, val_proba, y_val, test_proba, y_test = problem
    rule = DecisionRule("class_offsets", bootstrap=10).fit(val_proba, y_val)
    assert rule.report["active"]
    plain, chosen = test_proba.argmax(axis=1), rule.choose(test_proba)
    assert (
        f1_score(y_test, chosen, average="macro") > f1_score(y_test, plain, average="macro") + 0.05
    )
    minority = [1, 2]
    assert np.all(
        recall_score(y_test, chosen, labels=minority, average=None)
        > recall_score(y_test, plain, labels=minority, average=None) + 0.1
    )


def test_offsets_stay_off_when_argmax_is_already_best() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 600)
    proba = np.full((600, 3), 0.1)
    proba[np.arange(600), y] = 0.8  # argmax is perfect: nothing to gain
    rule = DecisionRule("class_offsets").fit(proba, y)
    assert not rule.report["active"]
    assert rule.offsets is None
    assert np.array_equal(rule.choose(proba), proba.argmax(axis=1))


def test_argmax_rule_fits_nothing(problem) -> None:
    _, val_proba, y_val, test_proba, _ = problem
    rule = DecisionRule("argmax").fit(val_proba, y_val)
    assert rule.offsets is None
    assert np.array_equal(rule.choose(test_proba), test_proba.argmax(axis=1))


def test_macro_f1_matches_sklearn() -> None:
    rng = np.random.default_rng(4)
    y, pred = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    assert macro_f1(y, pred, 4) == pytest.approx(f1_score(y, pred, average="macro"))


def test_rule_from_config() -> None:
    assert build_decision(None).rule == "argmax"
    assert build_decision("class_offsets").rule == "class_offsets"
    rule = build_decision({"rule": "class_offsets", "bootstrap": 5, "min_gain": 0.01}, seed=7)
    assert (rule.bootstrap, rule.min_gain, rule.seed) == (5, 0.01, 7)
    with pytest.raises(ValueError, match="not one of"):
        build_decision("threshold")

"""The Optuna search tries the model's configured values first, once per study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.linear_model import LogisticRegression

from smart_support.tuning.search import configured, inside, tune

SPACE = {
    "C": {"type": "float", "low": 0.01, "high": 10.0, "log": True},
    "max_iter": {"type": "int", "low": 50, "high": 400},
    "fit_intercept": {"type": "categorical", "choices": [True, False]},
}


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    return X, (X[:, 0] + 0.3 * rng.standard_normal(60) > 0).astype(int)


def run(storage: str, estimator: LogisticRegression, n_trials: int) -> optuna.Study:
    X, y = data()
    return tune(
        estimator, X, y, SPACE, name="s", storage=storage, n_trials=n_trials, folds=3, seed=0
    )


def test_the_first_trial_is_the_configured_model(tmp_path: Path) -> None:
    estimator = LogisticRegression(C=0.37, max_iter=123, fit_intercept=False)
    study = run(f"sqlite:///{tmp_path}/o.db", estimator, 3)
    params = [t.params for t in study.trials]
    assert params[0] == {"C": 0.37, "max_iter": 123, "fit_intercept": False}
    assert all(p != params[0] for p in params[1:])  # the others are drawn


def test_a_resumed_study_does_not_try_the_configuration_again(tmp_path: Path) -> None:
    estimator = LogisticRegression(C=0.37, max_iter=123, fit_intercept=False)
    run(f"sqlite:///{tmp_path}/o.db", estimator, 2)
    study = run(f"sqlite:///{tmp_path}/o.db", estimator, 4)
    assert len(study.trials) == 4
    assert [t.params["C"] for t in study.trials].count(0.37) == 1


def test_a_configured_value_outside_the_space_is_drawn_instead() -> None:
    estimator = LogisticRegression(C=50.0, max_iter=123, fit_intercept=True)
    assert configured(estimator, SPACE) == {"max_iter": 123, "fit_intercept": True}


@pytest.mark.parametrize(
    ("value", "spec", "expected"),
    [
        (0.5, SPACE["C"], True),
        (10.5, SPACE["C"], False),
        (True, SPACE["C"], False),  # a flag is not a number here
        (100, SPACE["max_iter"], True),
        (100.5, SPACE["max_iter"], False),
        (False, SPACE["fit_intercept"], True),
        ("yes", SPACE["fit_intercept"], False),
    ],
)
def test_inside_names_what_the_space_can_draw(value: object, spec: dict, expected: bool) -> None:
    assert inside(value, spec) is expected

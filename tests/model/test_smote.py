"""SMOTE resamples training folds only: validation data is never synthesised."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from smart_support.models.builders import _steps
from smart_support.tuning.search import cross_validate


class CountingClassifier(BaseEstimator, ClassifierMixin):
    """Records how many rows it was fitted on and asked to predict."""

    fitted_rows: list[int] = []
    predicted_rows: list[int] = []

    def fit(self, X, y):
        CountingClassifier.fitted_rows.append(X.shape[0])
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        CountingClassifier.predicted_rows.append(X.shape[0])
        return np.full(X.shape[0], self.classes_[0])


def test_smote_grows_training_folds_and_leaves_validation_folds_alone() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    y = np.array(["big"] * 80 + ["small"] * 20)
    pipeline = _steps(None, CountingClassifier(), smote=True, seed=0)
    CountingClassifier.fitted_rows, CountingClassifier.predicted_rows = [], []
    cross_validate(pipeline, X, y, folds=5, seed=0)
    assert CountingClassifier.fitted_rows == [128] * 5  # 64 + 64 after oversampling 16 → 64
    assert CountingClassifier.predicted_rows == [20] * 5  # the untouched validation folds

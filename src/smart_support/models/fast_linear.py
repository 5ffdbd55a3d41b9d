"""Serving fast path for M2's calibrated LinearSVC: one matrix product instead of k sklearn calls.

`CalibratedClassifierCV(LinearSVC, method="sigmoid")` keeps k fold classifiers, each with a
sigmoid per class; its `predict_proba` validates and multiplies the input k times (~3 ms of
M2's ~5 ms per ticket, mostly sklearn overhead). The same numbers come from stacking the k
weight matrices into one. `accelerate` swaps the step in only after checking that the
probabilities agree with sklearn's on the given texts; anything else is left as it is.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV

log = logging.getLogger(__name__)


class StackedSigmoidLinear(ClassifierMixin, BaseEstimator):
    """k sigmoid-calibrated linear one-vs-rest classifiers over C classes, averaged."""

    def __init__(self) -> None:
        self.classes_ = np.zeros(0)
        self.weights_ = np.zeros((0, 0))  # (features, k * C)
        self.bias_ = np.zeros(0)  # (k * C,)
        self.slope_ = np.zeros(0)  # sigmoid a, (k * C,)
        self.offset_ = np.zeros(0)  # sigmoid b, (k * C,)

    def __sklearn_is_fitted__(self) -> bool:
        return len(self.classes_) > 0

    def fit(self, X: Any, y: Any) -> StackedSigmoidLinear:
        raise NotImplementedError("built from a fitted model by stack_calibrated(), not trained")

    def predict_proba(self, X: Any) -> np.ndarray:
        n_classes = len(self.classes_)
        scores = np.asarray(X @ self.weights_) + self.bias_
        proba = expit(-(self.slope_ * scores + self.offset_)).reshape(len(scores), -1, n_classes)
        total = proba.sum(axis=2, keepdims=True)
        proba = np.divide(
            proba, total, out=np.full_like(proba, 1.0 / n_classes), where=total != 0
        )
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba.mean(axis=1)


def stack_calibrated(model: Any) -> StackedSigmoidLinear | None:
    """The stacked form of a multiclass sigmoid-calibrated linear model, or None if not one."""
    if not isinstance(model, CalibratedClassifierCV) or model.method != "sigmoid":
        return None
    classes = np.asarray(model.classes_)
    if len(classes) < 3:
        return None  # binary calibration keeps one column: not handled here
    weights, bias, slope, offset = [], [], [], []
    for fold in model.calibrated_classifiers_:
        estimator = fold.estimator
        if not hasattr(estimator, "coef_") or list(estimator.classes_) != list(classes):
            return None
        weights.append(np.asarray(estimator.coef_, dtype=np.float64).T)
        bias.append(np.asarray(estimator.intercept_, dtype=np.float64))
        slope.append([float(c.a_) for c in fold.calibrators])
        offset.append([float(c.b_) for c in fold.calibrators])
    stacked = StackedSigmoidLinear()
    stacked.classes_ = classes
    stacked.weights_ = np.hstack(weights)
    stacked.bias_ = np.concatenate(bias)
    stacked.slope_ = np.concatenate(slope)
    stacked.offset_ = np.concatenate(offset)
    return stacked


def accelerate(router: Any, check_texts: Sequence[str]) -> Any:
    """A copy of `router` whose calibrated SVM step is stacked, if it predicts the same."""
    if getattr(router, "uses_embeddings", False):
        return router  # checked on texts only; embedding models keep sklearn's path
    steps = getattr(router.classifier, "steps", None)
    fast = stack_calibrated(steps[-1][1]) if steps else None
    if steps is None or fast is None:
        return router
    candidate = copy.copy(router)
    candidate.classifier = copy.copy(router.classifier)
    candidate.classifier.steps = [*steps[:-1], (steps[-1][0], fast)]
    texts = np.asarray(list(check_texts), dtype=object)
    expected = router.classifier.predict_proba(texts)
    if not np.allclose(candidate.classifier.predict_proba(texts), expected, atol=1e-9):
        log.warning("%s: stacked classifier disagrees with sklearn; not used", router.name)
        return router
    return candidate

"""The decision rule: which category a ticket gets from its class probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np

RULES = ("argmax", "class_offsets")


def macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Macro-F1 over all `n_classes` (a class never true nor predicted scores 0)."""
    cm = np.bincount(y * n_classes + pred, minlength=n_classes * n_classes)
    cm = cm.reshape(n_classes, n_classes)
    tp = np.diag(cm)
    denom = cm.sum(axis=0) + cm.sum(axis=1)
    return float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))


class DecisionRule:
    """argmax over log p(class) + offset(class); offsets fitted on validation data.

    `argmax` keeps every offset at 0. `class_offsets` searches one offset per class (the
    first stays 0) that maximises validation macro-F1 — the class-weighted or calibrated
    probabilities of an imbalanced problem often favour the majority class — by coordinate
    ascent over a grid, averaged over `bootstrap` resamples of the validation set. The
    offsets are kept only if, cross-fitted over `folds` folds of the validation set, they
    beat plain argmax by more than `min_gain`; otherwise the rule stays argmax.
    """

    def __init__(
        self,
        rule: str = "argmax",
        limit: float = 3.0,
        step: float = 0.05,
        rounds: int = 3,
        bootstrap: int = 30,
        folds: int = 5,
        min_gain: float = 0.0,
        seed: int = 42,
    ):
        if rule not in RULES:
            raise ValueError(f"decision rule {rule!r} is not one of {', '.join(RULES)}")
        self.rule = rule
        self.limit = limit
        self.step = step
        self.rounds = rounds
        self.bootstrap = bootstrap
        self.folds = folds
        self.min_gain = min_gain
        self.seed = seed
        self.offsets: np.ndarray | None = None  # None: plain argmax
        self.report: dict[str, Any] = {"rule": rule, "active": False}

    def fit(self, proba: np.ndarray, y: np.ndarray) -> DecisionRule:
        """`proba`: validation class probabilities; `y`: the true class indices."""
        self.offsets = None
        self.report = {"rule": self.rule, "active": False}
        if self.rule == "argmax" or len(y) == 0:
            return self
        scores, y = log_scores(proba), np.asarray(y, dtype=int)
        n_classes = scores.shape[1]
        rng = np.random.default_rng(self.seed)
        base = macro_f1(y, scores.argmax(axis=1), n_classes)
        fold = rng.permutation(len(y)) % max(self.folds, 2)
        cross = np.empty(len(y), dtype=int)
        for k in np.unique(fold):
            held = fold == k
            offsets = self._search(scores[~held], y[~held])
            cross[held] = (scores[held] + offsets).argmax(axis=1)
        gain = macro_f1(y, cross, n_classes) - base
        resamples = [rng.integers(0, len(y), len(y)) for _ in range(max(self.bootstrap, 0))]
        offsets = (
            np.mean([self._search(scores[i], y[i]) for i in resamples], axis=0)
            if resamples
            else self._search(scores, y)
        )
        active = gain > self.min_gain
        self.offsets = offsets if active else None
        self.report = {
            "rule": self.rule,
            "active": bool(active),
            "val_macro_f1_argmax": base,
            "val_cross_fitted_gain": float(gain),
            "val_macro_f1": macro_f1(y, self.choose(proba), n_classes),
            "offsets": [float(o) for o in offsets],
        }
        return self

    def choose(self, proba: np.ndarray) -> np.ndarray:
        """The chosen class index per row."""
        proba = np.asarray(proba)
        if self.offsets is None:
            return proba.argmax(axis=1)
        return (log_scores(proba) + self.offsets).argmax(axis=1)

    def _search(self, scores: np.ndarray, y: np.ndarray) -> np.ndarray:
        n_classes = scores.shape[1]
        grid = np.arange(-self.limit, self.limit + self.step / 2, self.step)
        offsets = np.zeros(n_classes)
        best = macro_f1(y, scores.argmax(axis=1), n_classes)
        for _ in range(self.rounds):
            improved = False
            for k in range(1, n_classes):
                shifted = scores + offsets
                others = shifted.copy()
                others[:, k] = -np.inf
                rival, rival_class = others.max(axis=1), others.argmax(axis=1)
                base_k = scores[:, k]
                for value in grid:  # class k wins a row iff its shifted score beats the rest
                    pred = np.where(base_k + value > rival, k, rival_class)
                    score = macro_f1(y, pred, n_classes)
                    if score > best + 1e-12:
                        best, offsets[k], improved = score, value, True
            if not improved:
                break
        return offsets


def log_scores(proba: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0))


def build_decision(cfg: Any = None, seed: int = 42) -> DecisionRule:
    """A rule from `decision:` in conf/model/*.yaml: a rule name or {rule: …, options}."""
    if cfg is None:
        return DecisionRule(seed=seed)
    if isinstance(cfg, str):
        return DecisionRule(rule=cfg, seed=seed)
    return DecisionRule(**{"seed": seed, **dict(cfg)})

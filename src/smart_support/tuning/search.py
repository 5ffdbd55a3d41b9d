"""Optuna, called directly: stratified k-fold macro-F1, seeded TPE, pruning across folds."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import optuna
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from smart_support.tracking.databases import ensure_database

log = logging.getLogger(__name__)

TrialCallback = Callable[[optuna.trial.FrozenTrial, float, float], None]


def suggest(trial: optuna.Trial, space: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Draw one value per parameter of a `conf/tune` search space."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        kind = spec["type"]
        if kind == "float":
            params[name] = trial.suggest_float(
                name, spec["low"], spec["high"], log=spec.get("log", False)
            )
        elif kind == "int":
            params[name] = trial.suggest_int(
                name, spec["low"], spec["high"], log=spec.get("log", False)
            )
        elif kind == "categorical":
            params[name] = trial.suggest_categorical(name, list(spec["choices"]))
        else:
            raise ValueError(
                f"search space {name}: unknown type {kind!r} (float, int, categorical)"
            )
    return params


def cross_validate(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    folds: int,
    seed: int,
    trial: optuna.Trial | None = None,
) -> tuple[float, float]:
    """Mean and std of macro-F1 over stratified folds; reports each fold to the pruner."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores: list[float] = []
    for fold, (fit_idx, val_idx) in enumerate(splitter.split(np.zeros(len(y)), y)):
        model = clone(estimator).fit(X[fit_idx], y[fit_idx])
        scores.append(float(f1_score(y[val_idx], model.predict(X[val_idx]), average="macro")))
        if trial is not None:
            trial.report(float(np.mean(scores)), fold)
            if trial.should_prune():
                raise optuna.TrialPruned()
    return float(np.mean(scores)), float(np.std(scores))


def study_name(
    prefix: str, milestone: str, labels: str, space: Mapping[str, Any], model: Mapping[str, Any]
) -> str:
    """Stable per search problem, so a re-run resumes the same study."""
    digest = hashlib.sha1(
        json.dumps([space, model], sort_keys=True, default=str).encode()
    ).hexdigest()
    return f"{prefix}-{milestone}-{labels}-{digest[:8]}"


def tune(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    space: Mapping[str, Mapping[str, Any]],
    *,
    name: str,
    storage: str,
    n_trials: int,
    folds: int,
    seed: int,
    pruner_cfg: Mapping[str, int] | None = None,
    on_trial: TrialCallback | None = None,
) -> optuna.Study:
    """Run (or resume) a study until it holds `n_trials` finished trials.

    Several processes may run this on one study in a shared `storage` (PostgreSQL): each sees
    every worker's trials, and together they stop at `n_trials`.
    """
    pruner_cfg = pruner_cfg or {}
    ensure_database(storage)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=pruner_cfg.get("n_startup_trials", 2),
            n_warmup_steps=pruner_cfg.get("n_warmup_steps", 1),
        ),
    )
    # A worker that joins (or resumes) a study draws from its own stream instead of
    # repeating the first worker's; the constant liar keeps parallel TPE draws apart.
    study.sampler = optuna.samplers.TPESampler(
        seed=seed + len(study.get_trials(deepcopy=False)), constant_liar=True
    )
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    remaining = n_trials - len(study.get_trials(states=finished))

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, space)
        mean, std = cross_validate(clone(estimator).set_params(**params), X, y, folds, seed, trial)
        trial.set_user_attr("cv_std", std)
        if on_trial is not None:
            on_trial(trial, mean, std)  # type: ignore[arg-type]
        return mean

    if remaining > 0 and space:
        log.info("study %s: running up to %d more trial(s)", name, remaining)
        # Workers sharing the study (tracking=postgres) stop once it holds n_trials in all.
        stop = optuna.study.MaxTrialsCallback(n_trials, states=finished)
        study.optimize(objective, n_trials=remaining, callbacks=[stop], gc_after_trial=True)
    elif not space:
        log.info("study %s: empty search space, nothing to tune", name)
    return study


def best_params(study: optuna.Study) -> dict[str, Any]:
    try:
        return dict(study.best_params)
    except ValueError:  # no completed trial (empty space or all pruned)
        return {}

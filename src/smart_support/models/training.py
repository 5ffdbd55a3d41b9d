"""Train one milestone: tune and fit the classifier and its decision rule, then urgency."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from smart_support.models.builders import build_model
from smart_support.models.novelty import build_novelty
from smart_support.models.prototypes import build_prior
from smart_support.models.router_model import RouterModel
from smart_support.models.urgency import AlertCalibrator
from smart_support.tuning.search import TrialCallback, best_params, study_name, tune

log = logging.getLogger(__name__)


@dataclass
class SplitData:
    """One prepared split with its cached features, aligned row by row."""

    frame: pd.DataFrame
    embeddings: np.ndarray | None = None

    @property
    def texts(self) -> list[str]:
        return self.frame["text"].tolist()

    @property
    def labelled(self) -> np.ndarray:
        return self.frame["category"].notna().to_numpy()

    def subset(self, mask: np.ndarray) -> SplitData:
        emb = None if self.embeddings is None else self.embeddings[mask]
        return SplitData(self.frame[mask].reset_index(drop=True), emb)


def load_split(prepared: str | Path, features: str | Path | None, name: str) -> SplitData:
    frame = pd.read_parquet(Path(prepared) / f"{name}.parquet")
    emb_path = Path(features) / f"{name}_embeddings.npy" if features else None
    embeddings = np.load(emb_path) if emb_path is not None and emb_path.exists() else None
    if embeddings is not None and len(embeddings) != len(frame):
        raise ValueError(f"{emb_path}: {len(embeddings)} vectors for {len(frame)} tickets; re-run featurize")
    return SplitData(frame, embeddings)


@dataclass
class TrainResult:
    model: RouterModel
    best_params: dict[str, Any]
    cv_mean: float | None
    cv_std: float | None
    study: optuna.Study | None = None
    trials: int = field(default=0)


def train_milestone(
    model_cfg: Mapping[str, Any],
    tune_cfg: Mapping[str, Any],
    labels_name: str,
    train: SplitData,
    val: SplitData,
    seed: int,
    alert: Mapping[str, float] | None = None,
    on_trial: TrialCallback | None = None,
) -> TrainResult:
    model = build_model(model_cfg, seed)
    model.calibrator = AlertCalibrator(**(alert or {}))
    labelled = train.subset(train.labelled)
    X = model.classifier_input(labelled.texts, labelled.embeddings)
    y = labelled.frame["category"].astype(str).to_numpy()
    space = (tune_cfg.get("spaces") or {}).get(model_cfg.get("tune_space") or "", {}) or {}
    study = None
    params: dict[str, Any] = {}
    cv_mean = cv_std = None
    if space and int(tune_cfg.get("n_trials", 0)) > 0:
        study = tune(
            model.classifier,
            X,
            y,
            space,
            name=study_name(tune_cfg["study_prefix"], str(model_cfg["name"]), labels_name, space, model_cfg),
            storage=str(tune_cfg["storage"]),
            n_trials=int(tune_cfg["n_trials"]),
            folds=int(tune_cfg["cv_folds"]),
            seed=seed,
            pruner_cfg=tune_cfg.get("pruner"),
            on_trial=on_trial,
        )
        params = best_params(study)
        if params:
            cv_mean = float(study.best_value)
            cv_std = float(study.best_trial.user_attrs.get("cv_std", float("nan")))
    model.classifier.set_params(**params)
    log.info("%s: fitting on %d labelled tickets with %s", model.name, len(y), params or "defaults")
    model.fit_classifier(labelled.texts, y, labelled.embeddings)
    model.prior = build_prior(model_cfg.get("prototypes"))
    if model.prior is not None:
        prior_embedding = dict(model_cfg["prototypes"]["embedding"])
        if model.embedding is not None and dict(model.embedding) != prior_embedding:
            raise ValueError(
                f"{model.name}: the prior's embedding {prior_embedding} differs from the "
                f"model's {dict(model.embedding)}; one encoder per model"
            )
        model.embedding = prior_embedding
        model.prior.fit(model.labels, model.embed)
    held_out = val.subset(val.labelled)
    model.fit_decision(
        held_out.texts,
        held_out.frame["category"].astype(str).to_numpy(),
        model.feature_vectors(held_out.embeddings),
    )
    log.info("%s: decision rule %s", model.name, model.decision.report)
    model.novelty = build_novelty(model_cfg.get("novelty"))
    model.fit_novelty(train.texts, val.texts)
    # Corrected tickets without a corrected urgency level have no urgency target (NaN)
    scored = train.subset(train.frame["urgency"].notna().to_numpy())
    model.fit_urgency(scored.texts, scored.frame["urgency"].to_numpy(float), scored.embeddings)
    model.calibrate_urgency(val.texts, val.frame["urgency"].to_numpy(), val.embeddings)
    trials = len(study.trials) if study is not None else 0
    return TrainResult(model, params, cv_mean, cv_std, study, trials)

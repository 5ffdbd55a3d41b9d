"""Stage `train@<milestone>`: tune with Optuna, fit, log to MLflow, save the model."""

from __future__ import annotations

import logging
import pickle
import sys
from pathlib import Path

import mlflow
import mlflow.data

from smart_support.config import load_params, setup_logging, to_dict, write_json
from smart_support.evaluation.evaluate import evaluate_model
from smart_support.models.pyfunc import log_router_model
from smart_support.models.training import load_split, train_milestone
from smart_support.tracking.runs import configure, flatten, git_commit, log_metrics

log = logging.getLogger("train")


def main(milestone: str) -> int:
    setup_logging()
    cfg = load_params()
    params = to_dict(cfg)
    model_cfg = params["models"][milestone]
    train = load_split(cfg.paths.prepared, cfg.paths.features, "train")
    val = load_split(cfg.paths.prepared, cfg.paths.features, "val")
    configure(params["tracking"])

    def log_trial(trial, mean, std) -> None:  # type: ignore[no-untyped-def]
        with mlflow.start_run(run_name=f"{milestone}-trial-{trial.number}", nested=True):
            mlflow.log_params(trial.params)
            mlflow.log_metrics({"cv_macro_f1_mean": mean, "cv_macro_f1_std": std})

    with mlflow.start_run(run_name=f"{milestone}-{cfg.labels.name}") as run:
        mlflow.set_tags(
            {"milestone": milestone, "labels": cfg.labels.name, "git_commit": git_commit()}
        )
        mlflow.log_params({k: v for k, v in flatten(params["models"][milestone]).items()})
        mlflow.log_params(
            {"labels": cfg.labels.name, "seed": cfg.seed, "n_trials": cfg.tune.n_trials}
        )
        mlflow.log_dict(params, "config.yaml")
        mlflow.log_input(
            mlflow.data.from_pandas(train.frame, name=f"tickets-train-{cfg.labels.name}"),
            context="training",
        )
        result = train_milestone(
            model_cfg,
            params["tune"],
            cfg.labels.name,
            train,
            val,
            cfg.seed,
            params["urgency_alert"],
            log_trial,
        )
        if result.cv_mean is not None:
            mlflow.log_metrics(
                {"cv_macro_f1_mean": result.cv_mean, "cv_macro_f1_std": result.cv_std or 0.0}
            )
        mlflow.log_params({f"best.{k}": v for k, v in result.best_params.items()})
        alert = float(cfg.urgency_alert.alert_threshold)
        val_metrics = evaluate_model(result.model, val, alert).metrics
        log_metrics(val_metrics, "val_")
        mlflow.log_dict(result.model.decision.report, "decision.json")
        novelty = result.model.novelty.report if result.model.novelty is not None else None
        if novelty is not None:
            mlflow.log_metric("novelty_threshold", novelty["threshold"])
        model_uri = log_router_model(result.model, val.frame[["subject", "body"]].head(3))

    out = Path(cfg.paths.models) / milestone
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "model.pkl", "wb") as handle:
        pickle.dump(result.model, handle)
    write_json(
        out / "run.json",
        {
            "milestone": milestone,
            "run_id": run.info.run_id,
            "model_uri": model_uri,
            "labels": cfg.labels.name,
            "best_params": result.best_params,
            "cv_macro_f1_mean": result.cv_mean,
            "cv_macro_f1_std": result.cv_std,
            "trials": result.trials,
            "val_metrics": val_metrics,
            "decision": result.model.decision.report,
            "novelty": novelty,
        },
    )
    log.info(
        "%s: run %s, best params %s, CV macro-F1 %s",
        milestone,
        run.info.run_id,
        result.best_params,
        result.cv_mean,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""Stage `evaluate@<milestone>`: test metrics, confusion plots, the behavioural suite and the
validation coverage/accuracy curve; logged into the train run."""

from __future__ import annotations

import csv
import json
import logging
import pickle
import sys
from pathlib import Path

import mlflow

from smart_support.config import load_params, setup_logging, to_dict, write_json
from smart_support.evaluation.behaviour import score_parts
from smart_support.evaluation.confidence import choose_threshold, coverage_curve
from smart_support.evaluation.evaluate import evaluate_model, latency_ms_per_ticket
from smart_support.evaluation.metrics import confusion_png, confusion_rows, report_text
from smart_support.models.training import load_split
from smart_support.tracking.runs import configure, log_metrics

log = logging.getLogger("evaluate")
LATENCY_SAMPLE = 100


def main(milestone: str) -> int:
    setup_logging()
    cfg = load_params()
    model_dir = Path(cfg.paths.models) / milestone
    with open(model_dir / "model.pkl", "rb") as handle:
        model = pickle.load(handle)
    run = json.loads((model_dir / "run.json").read_text())
    test = load_split(cfg.paths.prepared, cfg.paths.features, "test")
    result = evaluate_model(model, test, float(cfg.serve.urgency.alert_threshold))
    metrics = {**result.metrics, **latency_ms_per_ticket(model, test.texts[:LATENCY_SAMPLE])}

    reports = Path(cfg.paths.reports)
    plots = reports / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    write_json(
        reports / "metrics" / f"{milestone}.json",
        {"milestone": milestone, "labels": cfg.labels.name, **metrics},
    )
    with open(plots / f"{milestone}_confusion.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["actual", "predicted"])
        writer.writeheader()
        writer.writerows(confusion_rows(result.y_true, result.y_pred))
    png = plots / f"{milestone}_confusion.png"
    confusion_png(
        result.y_true, result.y_pred, model.labels, png, f"{milestone} ({cfg.labels.name}) test"
    )
    report = report_text(result.y_true, result.y_pred, model.labels)

    behaviour = score_parts(model, dict(cfg.behaviour.parts))
    write_json(
        reports / "behaviour" / f"{milestone}.json", {p: r.metrics for p, r in behaviour.items()}
    )
    write_json(
        reports / "behaviour" / f"{milestone}_failures.json",
        {p: r.failures for p, r in behaviour.items()},
    )

    val = load_split(cfg.paths.prepared, cfg.paths.features, "val")
    val_eval = evaluate_model(model, val, float(cfg.serve.urgency.alert_threshold))
    curve = coverage_curve(val_eval.confidences, val_eval.correct, familiar=val_eval.familiar)
    without_novelty = coverage_curve(val_eval.confidences, val_eval.correct)
    target = float(cfg.confidence.target_accuracy)
    novelty = getattr(model, "novelty", None)
    write_json(
        reports / "confidence" / f"{milestone}.json",
        {
            "split": "val",
            "target_accuracy": target,
            "review_threshold": choose_threshold(curve, target),
            "curve": curve,
            # the out-of-domain check: its threshold, and the curve without it
            "novelty": None if novelty is None else novelty.report,
            "curve_without_novelty": without_novelty,
        },
    )

    configure(to_dict(cfg.tracking))
    with mlflow.start_run(run_id=run["run_id"]):
        log_metrics(metrics, "test_")
        for part, scored in behaviour.items():
            log_metrics(scored.metrics, f"behaviour_{part}_")
        mlflow.log_artifact(str(png), "evaluation")
        mlflow.log_artifact(str(reports / "behaviour" / f"{milestone}_failures.json"), "behaviour")
        mlflow.log_artifact(str(reports / "confidence" / f"{milestone}.json"), "evaluation")
        mlflow.log_text(report, "evaluation/classification_report.txt")
    log.info("%s test metrics:\n%s\n%s", milestone, json.dumps(metrics, indent=2), report)
    log.info(
        "%s behaviour (mft/inv/dir): %s",
        milestone,
        {
            p: {
                k: round(r.metrics.get(k, float("nan")), 3)
                for k in ("mft_en", "mft_de", "inv", "dir")
            }
            for p, r in behaviour.items()
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

"""Stage `encoder`: fine-tune the dedup encoder on train-split pairs, export int8 ONNX, report.

The gain is measured on the validation split with the serving encoder settings (int8 ONNX,
serve.dedup.max_seq_length): paraphrase pairs mined there against real neighbouring tickets,
for the packaged model (before) and the fine-tuned one (after).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import mlflow
import pandas as pd

from smart_support.config import load_params, setup_logging, to_dict, write_json
from smart_support.features.embeddings import resolve_model_path, shared_embedder
from smart_support.features.encoder_finetune import (
    fine_tune,
    mine_pairs,
    separation,
    settings_from,
    training_rows,
)
from smart_support.features.onnx_encoder import SHIPPED_EXPORT, export_onnx
from smart_support.tracking.runs import configure, flatten, git_commit, log_metrics

log = logging.getLogger("encoder")


def log_step(step: int, loss: float) -> None:
    mlflow.log_metric("train_loss", loss, step=step)
    if step % 10 == 0:
        log.info("step %d: loss %.3f", step, loss)


def main() -> int:
    setup_logging()
    cfg = load_params()
    enc = to_dict(cfg.encoder)
    pair_settings, train_settings = settings_from(enc)
    raw = pd.read_parquet(cfg.paths.raw)
    prepared = Path(cfg.paths.prepared)
    train = training_rows(raw, pd.read_parquet(prepared / "train.parquet"), pair_settings.languages)
    val = training_rows(raw, pd.read_parquet(prepared / "val.parquet"), pair_settings.languages)
    pairs = mine_pairs(train, pair_settings, train_settings.seed)
    # the hand-written groups are training knowledge, not held-out pairs of the validation split
    held_out = mine_pairs(val, replace(pair_settings, paraphrase_groups=0), train_settings.seed)
    out = Path(enc["output"])
    shutil.rmtree(out, ignore_errors=True)
    configure(cfg.tracking)
    with mlflow.start_run(run_name="encoder"):
        mlflow.set_tags({"stage": "encoder", "git_commit": git_commit()})
        mlflow.log_params(flatten(enc, "encoder."))
        mlflow.log_params({f"pairs.{k}": int(v) for k, v in pairs["source"].value_counts().items()})
        stats = fine_tune(
            pairs,
            resolve_model_path(str(enc["base_model"])),
            out,
            train_settings,
            on_step=log_step,
        )
        export_onnx(out, out / SHIPPED_EXPORT, quantize=True)
        report = {"train": stats, "pairs": pairs["source"].value_counts().to_dict()}
        for name, model in (("before", str(enc["base_model"])), ("after", str(out.resolve()))):
            embed = shared_embedder(model, int(cfg.serve.dedup.max_seq_length), "onnx-int8").encode
            report[name] = {
                source: separation(
                    embed,
                    list(zip(group["anchor"], group["positive"], strict=True)),
                    val["text"].tolist(),
                    train_settings.seed,
                    int(enc["evaluation"]["sample"]),
                    int(enc["evaluation"]["samples"]),
                )
                for source, group in held_out.groupby("source")
            }
            for source, metrics in report[name].items():
                log_metrics(metrics, f"{name}.{source}.")
        log_metrics({k: v for k, v in stats.items() if k != "pairs"}, "train.")
    write_json(Path(cfg.paths.reports) / "encoder.json", report)
    log.info("stage report:\n%s", json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

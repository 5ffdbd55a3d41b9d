"""Compare routing-model options side by side: validation, test and the behavioural suite.

    python -m benchmarks.routing_options --labels three_way --options m1 m2 m3
    python -m benchmarks.routing_options --labels seed --options m2 --near-copy 0.6
    python -m benchmarks.routing_options --options m2 --set models.m3.prototypes.weight=0.3 \
        --embedding-cache /tmp/routing-options-vectors      # the zero-shot prior (issue 11)
    python -m benchmarks.routing_options --options m2 --latency 100 \
        --set prototypes.embedding.backend=onnx-int8 prototypes.embedding.max_seq_length=32

Default hyper-parameters (no Optuna search), decision rule fitted on validation, exactly as
the train stage does. Choose on `val` and `beh_dev`; `test` and `beh_holdout` are for reporting.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from smart_support.config import compose_config, to_dict
from smart_support.data.prepare import prepare_tickets
from smart_support.data.sources import load_tickets
from smart_support.evaluation.behaviour import load_suite, score_suite
from smart_support.evaluation.evaluate import evaluate_model, latency_ms_per_ticket
from smart_support.evaluation.metrics import near_copy_metrics
from smart_support.models.training import SplitData, train_milestone

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tickets.csv"


def _splits(labels: str, data: Path) -> dict[str, SplitData]:
    cfg = compose_config([f"labels={labels}"])
    frames, _ = prepare_tickets(load_tickets(str(data)), to_dict(cfg.data), to_dict(cfg.labels), 42)
    return {name: SplitData(frame) for name, frame in frames.items()}


def _with_embeddings(
    splits: dict[str, SplitData], cfg: Any, cache: Path | None = None
) -> dict[str, SplitData]:
    """Each split with its MiniLM vectors; with `cache`, read from / written to
    `<cache>/<split>.npy` (minutes on a shared CPU, so reuse them between runs)."""
    import numpy as np

    from smart_support.features.embeddings import shared_embedder

    emb = shared_embedder(
        str(cfg.features.embedding.model), int(cfg.features.embedding.max_seq_length)
    )
    out = {}
    for name, split in splits.items():
        path = cache / f"{name}.npy" if cache is not None else None
        vectors = np.load(path) if path is not None and path.exists() else None
        if vectors is None or len(vectors) != len(split.frame):
            vectors = emb.encode(split.texts)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, vectors)
        out[name] = SplitData(split.frame, vectors)
    return out


def _needs_vectors(option: str, overrides: list[str]) -> bool:
    """The option reads the featurize stage's vectors (a zero-shot prior alone embeds with its
    own encoder, `prototypes.embedding`)."""
    cfg = compose_config([f"model@models.m3={option}", *overrides]).models.m3
    if "finetune" in option:
        return False
    return cfg.get("embedding") is not None


def run_option(
    option: str,
    labels: str,
    splits: dict[str, SplitData],
    overrides: list[str],
    latency_tickets: int = 0,
    near_copy: float = 0.0,
) -> dict[str, Any]:
    cfg = compose_config(
        [f"model@models.m3={option}", "tune.n_trials=0", f"labels={labels}", *overrides]
    )
    params = to_dict(cfg)
    start = time.perf_counter()
    model = train_milestone(
        params["models"]["m3"],
        params["tune"],
        labels,
        splits["train"],
        splits["val"],
        42,
        params["urgency_alert"],
    ).model
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {"option": option, "overrides": overrides, "train_s": round(seconds, 1)}
    for part in ("val", "test"):
        evaluation = evaluate_model(model, splits[part], 0.8)
        m = evaluation.metrics
        out[part] = {
            k: round(m[k], 4)
            for k in ("macro_f1", "macro_f1_en", "macro_f1_de", "accuracy")
            if k in m
        }
        out[part].update({k: round(v, 3) for k, v in m.items() if k.startswith("f1_")})
        if near_copy > 0 and model.novelty is not None:  # its cosine to the nearest train ticket
            sim = model.novelty.similarity(splits[part].texts)[splits[part].labelled]
            near = near_copy_metrics(
                evaluation.y_true, evaluation.y_pred, model.labels, sim, near_copy
            )
            out[part].update({k: round(v, 4) for k, v in near.items()})
    for part in ("dev", "holdout"):
        beh = score_suite(model, load_suite(ROOT / "behaviour" / f"{part}.yaml")).metrics
        out[f"beh_{part}"] = {k: round(v, 3) for k, v in beh.items() if k.count("_") <= 1}
    if latency_tickets:  # model.predict on one ticket at a time, embedding included
        texts = splits["test"].texts[:latency_tickets]
        out["latency"] = {k: round(v, 2) for k, v in latency_ms_per_ticket(model, texts).items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", default="three_way")
    parser.add_argument("--options", nargs="+", default=["m1", "m2"])
    parser.add_argument(
        "--set", nargs="*", default=[], help="extra Hydra overrides, e.g. models.m3.C=2"
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--embedding-cache",
        type=Path,
        default=None,
        help="folder for the splits' MiniLM vectors (e.g. /tmp/routing-options-vectors)",
    )
    parser.add_argument(
        "--latency", type=int, default=0, help="also time predict on this many test tickets"
    )
    parser.add_argument(
        "--near-copy",
        type=float,
        default=0.0,
        help="also score val/test tickets with a near copy in train (char 3-5-gram cosine "
        ">= this, the novelty check's vectors) apart from the rest, e.g. 0.6",
    )
    args = parser.parse_args()
    splits = _splits(args.labels, args.data)
    embedded = None
    for option in args.options:
        use = splits
        if _needs_vectors(option, args.set):
            embedded = embedded or _with_embeddings(
                splits, compose_config(args.set), args.embedding_cache
            )
            use = embedded
        print(
            json.dumps(
                run_option(option, args.labels, use, args.set, args.latency, args.near_copy)
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

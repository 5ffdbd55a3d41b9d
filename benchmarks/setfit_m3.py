"""M3 with a SetFit-style fine-tuned encoder against M3 with the packaged one (issue 11 item 4).

    python -m benchmarks.setfit_m3 [--pairs 4000] [--options m3_stacked m3]

Fine-tunes the packaged all-MiniLM-L6-v2 on class pairs of the **train** split with
CosineSimilarityLoss (half same-department pairs, target 1; half different-department pairs,
target 0: explicit negatives, unlike the in-batch negatives of the encoder stage), then trains
each M3 option (default hyper-parameters, decision rule fitted on validation, as
`benchmarks.routing_options`) once on the packaged vectors and once on the fine-tuned ones.
Choose on `val` and `beh_dev`; `test` and `beh_holdout` are for reporting. Prints one JSON
line per run and the fine-tune's CPU cost.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.routing_options import DEFAULT_DATA, _splits, _with_embeddings, run_option
from smart_support.config import compose_config
from smart_support.features.embeddings import resolve_model_path
from smart_support.features.encoder_finetune import TrainSettings, class_pairs, fine_tune

PACKAGED = "packaged:all-MiniLM-L6-v2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", default="three_way")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pairs", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-seq-length", type=int, default=64, help="tokens while training")
    parser.add_argument("--options", nargs="+", default=["m3_stacked", "m3"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/setfit-m3/encoder"))
    parser.add_argument("--embedding-cache", type=Path, default=Path("/tmp/setfit-m3/vectors"))
    args = parser.parse_args()

    splits = _splits(args.labels, args.data)
    train = splits["train"].frame
    labelled = train["category"].notna()
    pairs = class_pairs(
        train.loc[labelled, "text"].tolist(), train.loc[labelled, "category"].tolist(),
        args.pairs, seed=42,
    )  # fmt: skip
    settings = TrainSettings(
        max_seq_length=args.max_seq_length, batch_size=16, epochs=args.epochs,
        learning_rate=2e-5, seed=42, threads=1,
    )  # fmt: skip
    if not (args.out / "config.json").exists():
        stats = fine_tune(pairs, resolve_model_path(PACKAGED), args.out, settings)
        print(json.dumps({"fine_tune": stats}), flush=True)
    for name, encoder in (("packaged", PACKAGED), ("setfit", str(args.out.resolve()))):
        overrides = [f"features.embedding.model={encoder}"]
        embedded = _with_embeddings(splits, compose_config(overrides), args.embedding_cache / name)
        for option in args.options:
            result = run_option(option, args.labels, embedded, overrides)
            print(json.dumps({"encoder": name, **result}), flush=True)


if __name__ == "__main__":
    main()

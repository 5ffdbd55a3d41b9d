"""Per-ticket latency of the dedup encoders as served: packaged vs fine-tuned, one run.

    HF_HUB_OFFLINE=1 python -m benchmarks.encoder_latency [--tickets 200]

Both run as conf/serve says (`dedup.backend`, `dedup.max_seq_length`, one thread), one ticket
per call, on real test-split tickets, interleaved (packaged, fine-tuned, packaged, ...) so the
shared machine's load falls on both alike. The fine-tuned encoder is `models/encoder` (the
`encoder` stage's output); the script stops with a message when it is not built.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
import yaml

from benchmarks.common import PREPARED_TEST, ROOT, percentiles
from smart_support.features.embeddings import PACKAGED_MODEL, shared_embedder

FINETUNED = ROOT / "models" / "encoder"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    args = parser.parse_args()
    if not (FINETUNED / "config.json").exists() or not PREPARED_TEST.exists():
        sys.exit("needs models/encoder and data/prepared/test.parquet: dvc repro encoder")
    dedup = yaml.safe_load((ROOT / "conf" / "serve" / "default.yaml").read_text())["dedup"]
    length, backend = int(dedup["max_seq_length"]), str(dedup["backend"])
    encoders = {
        "packaged": shared_embedder(PACKAGED_MODEL, length, backend, 1),
        "fine-tuned": shared_embedder(str(FINETUNED), length, backend, 1),
    }
    texts = pd.read_parquet(PREPARED_TEST, columns=["text"])["text"].tolist()[: args.tickets]
    samples: dict[str, list[float]] = {name: [] for name in encoders}
    for encoder in encoders.values():  # warm-up
        encoder.encode(texts[:5])
    for text in texts:
        for name, encoder in encoders.items():
            start = time.perf_counter()
            encoder.encode([text])
            samples[name].append((time.perf_counter() - start) * 1000.0)
    for name, values in samples.items():
        print(name, backend, length, percentiles(values))


if __name__ == "__main__":
    main()

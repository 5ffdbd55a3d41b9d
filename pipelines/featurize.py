"""Stage `featurize`: hand-made urgency features and cached sentence embeddings per split."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from smart_support.config import load_params, setup_logging, write_json
from smart_support.features.embeddings import SentenceEmbedder
from smart_support.features.urgency import FEATURE_NAMES, UrgencyFeatures

log = logging.getLogger("featurize")
SPLITS = ("train", "val", "test")


def main() -> int:
    setup_logging()
    cfg = load_params()
    emb_cfg = cfg.features.embedding
    embedder = SentenceEmbedder(
        str(emb_cfg.model), int(emb_cfg.max_seq_length), int(emb_cfg.batch_size)
    )
    cues = UrgencyFeatures(cfg.features.urgency_terms)
    out = Path(cfg.paths.features)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {
        "embedding_model": str(emb_cfg.model),
        "dimension": embedder.dimension,
    }
    for split in SPLITS:
        texts = pd.read_parquet(Path(cfg.paths.prepared) / f"{split}.parquet")["text"].tolist()
        pd.DataFrame(cues.transform(texts), columns=FEATURE_NAMES).to_parquet(
            out / f"{split}_urgency.parquet", index=False
        )
        start = time.perf_counter()
        vectors = embedder.encode(texts, show_progress_bar=True)
        seconds = time.perf_counter() - start
        np.save(out / f"{split}_embeddings.npy", vectors)
        log.info("%s: %d tickets embedded in %.1f s", split, len(texts), seconds)
        report[split] = {
            "rows": len(texts),
            "embed_ms_per_ticket": 1000 * seconds / max(len(texts), 1),
        }
    write_json(Path(cfg.paths.reports) / "featurize.json", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

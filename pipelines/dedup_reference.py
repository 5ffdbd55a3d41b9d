"""Stage `dedup_reference`: usual traffic for the burst rule, as the served encoder sees it.

The train split embedded by the served dedup encoder (conf/serve `dedup`): under
`dedup.rule: burst` a topic's usual count in a window is its close share of these tickets
(`routing.dedup.UsualRate`). Saved where `serve.dedup.reference` points (float32 unit rows);
the `package` stage puts the file in the Bento.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

from smart_support.config import load_params, publish_report, setup_logging
from smart_support.models.training import load_split
from smart_support.serving.bento_models import dedup_encoder
from smart_support.serving.settings import ServeSettings

log = logging.getLogger("dedup_reference")
SPLIT = "train"


def main() -> int:
    setup_logging()
    cfg = load_params()
    settings = ServeSettings.from_config(cfg.serve)
    if not settings.dedup.reference:
        print(
            "dedup_reference: serve.dedup.reference is not set; nothing to write", file=sys.stderr
        )
        return 1
    encoder = dedup_encoder(settings)
    vectors = np.asarray(encoder.encode(load_split(cfg.paths.prepared, None, SPLIT).texts))
    path = Path(settings.dedup.reference)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors.astype(np.float32))
    summary = {
        "path": str(path),
        "split": SPLIT,
        "tickets": len(vectors),
        "dimension": int(vectors.shape[1]),
        "encoder": {
            "model": encoder.model_name,
            "backend": encoder.backend,
            "max_seq_length": encoder.max_seq_length,
        },
    }
    publish_report(cfg.paths.reports, "dedup_reference", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

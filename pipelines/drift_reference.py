"""Stage `drift_reference`: what serving traffic is compared with to detect drift.

The @champion and the served dedup encoder run over the validation split (the tickets the
champion did not fit: its confidences there are what traffic should show); category mix,
confidence and length histograms, language mix and embedding centroid are saved where
`serve.drift.reference` points, and the `package` stage puts that file in the Bento.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from smart_support.config import load_params, publish_report, setup_logging, to_dict
from smart_support.models.pyfunc import load_router
from smart_support.models.training import load_split
from smart_support.monitoring.champion_reference import model_reference
from smart_support.monitoring.reference import save_reference
from smart_support.predict import registry_uri
from smart_support.serving.bento_models import dedup_encoder
from smart_support.serving.settings import ServeSettings
from smart_support.tracking.runs import configure

log = logging.getLogger("drift_reference")
SPLIT = "val"


def main() -> int:
    setup_logging()
    cfg = load_params()
    tracking = to_dict(cfg.tracking)
    configure(tracking)
    settings = ServeSettings.from_config(cfg.serve)
    if not settings.drift.reference:
        print(
            "drift_reference: serve.drift.reference is not set; nothing to write", file=sys.stderr
        )
        return 1
    uri = registry_uri(str(tracking["registered_model"]), str(tracking["champion_alias"]))
    champion = load_router(uri)
    split = load_split(cfg.paths.prepared, None, SPLIT)
    register = json.loads((Path(cfg.paths.reports) / "register.json").read_text())
    reference = model_reference(
        champion,
        dedup_encoder(settings),
        split.texts,
        source={"split": SPLIT, "registry": uri, "register": register.get("champion")},
    )
    save_reference(reference, settings.drift.reference)
    summary = {
        "path": settings.drift.reference,
        "tickets": reference.tickets,
        "category": dict(zip(reference.category.labels, reference.category.shares, strict=True)),
        "language": dict(zip(reference.language.labels, reference.language.shares, strict=True)),
        "embedding_spread": reference.embedding.spread if reference.embedding else None,
        "source": reference.source,
    }
    publish_report(cfg.paths.reports, "drift_reference", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stage `register`: every milestone versioned; the best on validation that passes the
behavioural floor (the cheapest within `register.margin` of it) → `smart-support-router@champion`
(if better); M1 → @fallback.

Reads the train runs (validation metrics) and the behavioural dev scores, never the test split.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from mlflow import MlflowClient

from smart_support.config import load_params, publish_report, setup_logging, to_dict
from smart_support.tracking.registry import candidate_from, register_models
from smart_support.tracking.runs import configure

log = logging.getLogger("register")


def main() -> int:
    setup_logging()
    cfg = load_params()
    tracking = to_dict(cfg.tracking)
    configure(tracking)
    runs, candidates = {}, {}
    for m in cfg.milestones:
        runs[m] = json.loads((Path(cfg.paths.models) / m / "run.json").read_text())
        behaviour = json.loads((Path(cfg.paths.reports) / "behaviour" / f"{m}.json").read_text())
        candidates[m] = candidate_from(m, runs[m], behaviour["dev"], float(cfg.behaviour.floor_mft))
    margin = float(cfg.register.margin)
    decision = register_models(MlflowClient(), tracking, runs, candidates, margin)
    publish_report(cfg.paths.reports, "register", decision)
    return 0


if __name__ == "__main__":
    sys.exit(main())

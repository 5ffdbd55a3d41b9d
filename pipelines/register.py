"""Stage `register`: best milestone → `smart-support-router@champion` (if better); M1 → @fallback."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from mlflow import MlflowClient

from smart_support.config import load_params, setup_logging, to_dict, write_json
from smart_support.tracking.registry import register_models
from smart_support.tracking.runs import configure

log = logging.getLogger("register")


def main() -> int:
    setup_logging()
    cfg = load_params()
    tracking = to_dict(cfg.tracking)
    configure(tracking)
    milestones = list(cfg.milestones)
    runs = {
        m: json.loads((Path(cfg.paths.models) / m / "run.json").read_text()) for m in milestones
    }
    metrics = {
        m: json.loads((Path(cfg.paths.reports) / "metrics" / f"{m}.json").read_text())
        for m in milestones
    }
    decision = register_models(MlflowClient(), tracking, runs, metrics)
    write_json(Path(cfg.paths.reports) / "register.json", decision)
    print(json.dumps(decision, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stage `prepare`: validate, label, clean, drop exact duplicates, split (Parquet)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pandas as pd

from smart_support.config import load_params, setup_logging, to_dict, write_json
from smart_support.data.feedback import read_corrections
from smart_support.data.prepare import prepare_tickets
from smart_support.data.validation import SchemaError

log = logging.getLogger("prepare")


def main() -> int:
    setup_logging()
    cfg = load_params()
    raw_path = Path(cfg.paths.raw)
    try:
        feedback = read_corrections(cfg.paths.feedback) if cfg.data.feedback.include else None
        splits, report = prepare_tickets(
            pd.read_parquet(raw_path),
            to_dict(cfg.data),
            to_dict(cfg.labels),
            cfg.seed,
            source=str(raw_path),
            feedback=feedback,
        )
    except (SchemaError, ValueError) as exc:
        print(f"prepare: {exc}", file=sys.stderr)
        return 1
    out = Path(cfg.paths.prepared)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in splits.items():
        part.to_parquet(out / f"{name}.parquet", index=False)
    write_json(Path(cfg.paths.reports) / "prepare.json", report)
    log.info("stage report:\n%s", json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stage `download`: read the configured source (Hub id or local file) into data/raw."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from smart_support.config import load_params, setup_logging, write_json
from smart_support.data.sources import DataSourceError, is_local_source, load_tickets

log = logging.getLogger("download")


def main() -> int:
    setup_logging()
    cfg = load_params()
    source = str(cfg.data.source)
    try:
        frame = load_tickets(source, hub_split=cfg.data.hub_split)
    except DataSourceError as exc:
        print(f"download: {exc}", file=sys.stderr)
        return 1
    kind = "local file" if is_local_source(source) else "Hugging Face Hub"
    log.info("loaded %d rows from %s (%s)", len(frame), source, kind)
    out = Path(cfg.paths.raw)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}).to_parquet(
        out, index=False
    )
    write_json(
        Path(cfg.paths.reports) / "download.json",
        {"source": source, "kind": kind, "rows": len(frame), "columns": list(frame.columns)},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stage `download`: read the source into data/raw: `SMART_SUPPORT_DATA` (a local file) when set,
else `data.source` (a Hub id or a local file)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from smart_support.config import load_params, setup_logging, write_json
from smart_support.data.sources import (
    ENV_DATA,
    DataSourceError,
    is_local_source,
    load_tickets,
    resolve_source,
)

log = logging.getLogger("download")


def main() -> int:
    setup_logging()
    cfg = load_params()
    source = resolve_source(str(cfg.data.source))
    try:
        frame = load_tickets(source, hub_split=cfg.data.hub_split)
    except DataSourceError as exc:
        print(f"download: {exc}", file=sys.stderr)
        return 1
    kind = "local file" if is_local_source(source) else "Hugging Face Hub"
    log.info("loaded %d rows from %s (%s)", len(frame), source, kind)
    # The report is tracked by dvc.lock: a machine's local path is named by its file name only.
    shown = (
        str(cfg.data.source) if source == cfg.data.source else f"{ENV_DATA}: {Path(source).name}"
    )
    out = Path(cfg.paths.raw)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}).to_parquet(
        out, index=False
    )
    write_json(
        Path(cfg.paths.reports) / "download.json",
        {"source": shown, "kind": kind, "rows": len(frame), "columns": list(frame.columns)},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stage `export_feedback`: agents' corrections from the serving store into
data/feedback/corrections.parquet (a DVC-versioned dataset).

The store is the service's (conf/serve `store`, overridden by SMART_SUPPORT_STORE_URL or
SMART_SUPPORT_STORE as at serving time). No store, or one that does not answer, gives an
empty file with the same columns: a fresh clone still runs the pipeline.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from smart_support.config import load_params, setup_logging, write_json
from smart_support.data.feedback import export_corrections, write_corrections
from smart_support.serving.database import Database
from smart_support.serving.runtime import load_serve_settings

log = logging.getLogger("export_feedback")


def main() -> int:
    setup_logging()
    cfg = load_params()
    database = Database.from_settings(load_serve_settings().store)
    try:
        frame, note = export_corrections(database)
    finally:
        database.close()
    (log.warning if frame.empty else log.info)("%s", note)
    write_corrections(frame, cfg.paths.feedback)
    # Tracked by dvc.lock: counts only, never the store's address (a machine's detail)
    write_json(
        Path(cfg.paths.reports) / "export_feedback.json",
        {
            "rows": len(frame),
            "per_category": frame["category"].value_counts().sort_index().to_dict(),
            "with_urgency_level": int(frame["urgency_level"].notna().sum()),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stage `package`: MLflow registry (@champion, @fallback) → BentoML model store → Bento."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from smart_support.config import load_params, publish_report, setup_logging, to_dict
from smart_support.tracking.packaging import BentoBuildError, build_bento, import_registered
from smart_support.tracking.runs import configure

log = logging.getLogger("package")


def main() -> int:
    setup_logging()
    cfg = load_params()
    tracking = to_dict(cfg.tracking)
    configure(tracking)
    imported = import_registered(tracking)
    try:
        bento = build_bento(Path.cwd())
    except BentoBuildError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    report = {"models": imported, "bento": bento}
    publish_report(cfg.paths.reports, "package", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stage `package`: MLflow registry (@champion, @fallback) → BentoML model store → Bento."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from smart_support.config import load_params, setup_logging, to_dict, write_json
from smart_support.tracking.packaging import import_registered
from smart_support.tracking.runs import configure

log = logging.getLogger("package")


def main() -> int:
    setup_logging()
    cfg = load_params()
    tracking = to_dict(cfg.tracking)
    configure(tracking)
    imported = import_registered(tracking)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "bentoml",
            "build",
            "-f",
            "bentos/bentofile.yaml",
            ".",
            "--output",
            "tag",
        ],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        print(f"package: bentoml build failed:\n{build.stderr[-2000:]}", file=sys.stderr)
        return 1
    bento = build.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    report = {"models": imported, "bento": bento}
    write_json(Path(cfg.paths.reports) / "package.json", report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

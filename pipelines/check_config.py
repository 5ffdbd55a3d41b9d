"""Stage `check_config`: stop when conf/ was edited but params.yaml was not recomposed.

`dvc exp run` (`make repro`) recomposes params.yaml from conf/, plus its `-S` overrides, before
any stage runs, and tells the stages so through DVC_EXP_NAME. Plain `dvc repro` reads
params.yaml as it is on disk: without this check an edit in conf/ would be silently ignored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path

from smart_support.config import (
    PARAMS_FILE,
    load_params,
    params_drift,
    setup_logging,
    write_json,
)

log = logging.getLogger("check_config")


def main() -> int:
    setup_logging()
    experiment = os.environ.get("DVC_EXP_NAME")
    if experiment:
        log.info("dvc exp run %s composed params.yaml from conf/", experiment)
    else:
        drift = params_drift()
        if drift:
            shown = ", ".join(drift[:5]) + (f" and {len(drift) - 5} more" if len(drift) > 5 else "")
            print(
                f"check_config: params.yaml differs from what conf/ composes ({shown}): conf/ "
                "was edited after params.yaml was written. Run `dvc exp run` (or `make repro`), "
                "which recomposes params.yaml from conf/, instead of plain `dvc repro`.",
                file=sys.stderr,
            )
            return 1
    digest = hashlib.sha256(Path(PARAMS_FILE).read_bytes()).hexdigest()
    write_json(Path(load_params().paths.reports) / "config.json", {"params_sha256": digest})
    return 0


if __name__ == "__main__":
    sys.exit(main())

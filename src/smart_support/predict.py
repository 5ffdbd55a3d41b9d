"""Batch prediction from the MLflow registry.

    python -m smart_support.predict --input tickets.csv --output predictions.csv \\
        [--model champion|fallback|m1|m2|m3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mlflow
import pandas as pd

from smart_support.config import PARAMS_FILE, compose_config, load_params, to_dict
from smart_support.models.pyfunc import OUTPUT_COLUMNS, load_router, predict_frame

CHOICES = ("champion", "fallback", "m1", "m2", "m3")


def registry_uri(name: str, alias: str) -> str:
    return f"models:/{name}@{alias}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m smart_support.predict", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--input", required=True, type=Path, help="CSV with subject and body columns"
    )
    parser.add_argument(
        "--output", required=True, type=Path, help="where to write the predictions CSV"
    )
    parser.add_argument(
        "--model", default="champion", choices=CHOICES, help="registry alias (default: champion)"
    )
    parser.add_argument(
        "--tracking-uri", default=None, help="MLflow tracking URI (default: from params.yaml)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tracking = to_dict((load_params() if Path(PARAMS_FILE).exists() else compose_config()).tracking)
    mlflow.set_tracking_uri(args.tracking_uri or str(tracking["tracking_uri"]))
    try:
        frame = pd.read_csv(args.input, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        print(f"predict: cannot read {args.input}: {exc}", file=sys.stderr)
        return 2
    if missing := {"subject", "body"} - set(frame.columns):
        print(
            f"predict: {args.input} lacks column(s) {', '.join(sorted(missing))}", file=sys.stderr
        )
        return 2
    alias = (
        str(tracking[f"{args.model}_alias"])
        if args.model in ("champion", "fallback")
        else args.model
    )
    uri = registry_uri(str(tracking["registered_model"]), alias)
    try:
        router = load_router(uri)
    except Exception as exc:  # noqa: BLE001 - MLflow raises many kinds; say which model
        print(
            f"predict: cannot load {uri} ({exc}); run the pipeline first (make repro)",
            file=sys.stderr,
        )
        return 1
    out = predict_frame(router, frame)
    out.insert(0, "model", router.name)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    out[[*OUTPUT_COLUMNS, "model"]].to_csv(args.output, index=False)
    print(f"predict: {len(out)} tickets → {args.output} ({uri}, {router.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

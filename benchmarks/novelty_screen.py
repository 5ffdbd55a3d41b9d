"""The out-of-domain check per ticket: the screened decision against the full scan, same run.

    python -m benchmarks.novelty_screen [--tickets 300]

Fits `NoveltyGate` as conf/config.yaml `novelty:` says on the prepared train split, calibrates
on validation (as the train stage does), then times one ticket at a time, alternating the two
ways: `similarity >= threshold` over every training ticket (the full scan) and `familiar`
(rarest n-grams first, early stop). Tickets: the test split, the behavioural suite (hand-written)
and the out-of-domain texts of tests/model/test_novelty.py. Checks that both decide alike on
every ticket. Writes benchmarks/results/novelty_screen.json.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from benchmarks.common import ROOT, machine, percentiles, write_json
from smart_support.config import compose_config, to_dict
from smart_support.evaluation.behaviour import load_suite
from smart_support.models.novelty import build_novelty
from smart_support.models.training import SplitData
from tests.model.test_novelty import GIBBERISH, RECIPE

PREPARED = ROOT / "data" / "prepared"


def split_texts(name: str) -> list[str]:
    path = PREPARED / f"{name}.parquet"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run the pipeline's prepare stage (make repro)")
    return list(SplitData(pd.read_parquet(path)).texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300, help="test tickets timed")
    args = parser.parse_args()

    gate = build_novelty(to_dict(compose_config().novelty))
    if gate is None:
        raise SystemExit("novelty is disabled in conf/config.yaml")
    gate.fit(split_texts("train")).calibrate(split_texts("val"))
    sets = {
        "test": split_texts("test")[: args.tickets],
        "behaviour": [
            t.text
            for part in ("dev", "holdout")
            for t in load_suite(ROOT / "behaviour" / f"{part}.yaml")
        ],
        "out_of_domain": [RECIPE, GIBBERISH],
    }
    report: dict[str, object] = {"machine": machine(), "threshold": gate.threshold}
    for name, texts in sets.items():
        full, screened, disagree = [], [], 0
        for text in texts:
            start = time.perf_counter()
            by_scan = bool(gate.similar_enough(gate.similarity([text]))[0])
            middle = time.perf_counter()
            by_screen = bool(gate.familiar([text])[0])
            full.append((middle - start) * 1e3)
            screened.append((time.perf_counter() - middle) * 1e3)
            disagree += by_scan != by_screen
        report[name] = {
            "tickets": len(texts),
            "disagreements": disagree,
            "full_scan": percentiles(full),
            "screened": percentiles(screened),
        }
        print(name, report[name], flush=True)
    write_json("novelty_screen.json", report)


if __name__ == "__main__":
    main()

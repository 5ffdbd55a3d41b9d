"""What one dedup decision costs on real ticket vectors, per rule, as the window fills.

    python -m benchmarks.dedup_decision_cost [--sizes 0 3000 30000] [--routes 300]

`Deduplicator.observe` in-process, one BLAS and faiss thread (as served): the window holds
`size` real tickets (train, validation and test splits embedded by the served encoder, drawn
with replacement, so a 30,000-ticket window repeats each ticket about three times, as this
dataset's template topics do), then `--routes` test tickets are decided one after another. The
served rule (conf/serve `dedup`: the significant burst, usual rates from the dedup_reference
stage's file) and the pairwise link rule served before (serving.settings.PAIRWISE_LINK) run in
turn on the same window and tickets, in the same run. Random vectors (as in `route_window`) sit
far apart and would hide what a low threshold costs: real tickets have dozens of neighbours
above 0.55 in a full window. Writes benchmarks/results/dedup_decision_cost.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from benchmarks.common import ROOT, machine, percentiles, write_json

SPLITS = ("train", "val", "test")


def embedded_splits() -> dict[str, np.ndarray]:
    """Each prepared split's tickets, embedded by the served dedup encoder."""
    import pandas as pd

    from smart_support.serving.bento_models import dedup_encoder
    from smart_support.serving.settings import ServeSettings

    encoder = dedup_encoder(ServeSettings.from_config({}))
    vectors = {}
    for split in SPLITS:
        path = ROOT / "data" / "prepared" / f"{split}.parquet"
        if not path.exists():
            sys.exit(f"missing {path.relative_to(ROOT)}: run `dvc repro prepare` first")
        vectors[split] = encoder.encode(pd.read_parquet(path, columns=["text"])["text"].tolist())
    return vectors


def decide_times(rule: dict[str, Any], window: np.ndarray, queries: np.ndarray) -> list[float]:
    """Milliseconds per decision: `window` loaded (spread over the last five minutes), then
    each query observed at the window's end (it joins the window, as in service). The served
    rule reads the dedup_reference stage's file, as the service does."""
    from smart_support.routing.dedup import no_incidents
    from smart_support.serving.settings import DedupSettings
    from smart_support.serving.window_cache import WindowCache

    settings = DedupSettings(**rule)
    dedup = WindowCache(settings).dedup
    times = np.linspace(0.0, settings.window_s - 1.0, len(window))
    for i, vector in enumerate(window):
        dedup.window.add(f"w{i}", f"w{i}", vector, float(times[i]))
    samples = []
    for i, query in enumerate(queries):
        start = time.perf_counter()
        dedup.observe(f"q{i}", query, settings.window_s, no_incidents)
        samples.append(1000 * (time.perf_counter() - start))
    return samples


def run(sizes: list[int], routes: int, seed: int = 0) -> dict[str, Any]:
    import faiss
    from threadpoolctl import threadpool_limits

    from smart_support.serving.settings import PAIRWISE_LINK, DedupSettings

    faiss.omp_set_num_threads(1)
    vectors = embedded_splits()
    pool = np.concatenate([vectors[s] for s in SPLITS])
    served = DedupSettings()
    rules = {
        f"served ({served.rule} {served.threshold})": {},
        "served without cohesion": {"cohesion": None},
        "pairwise link (0.85)": PAIRWISE_LINK,
    }
    rng = np.random.default_rng(seed)
    results: dict[str, Any] = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for size in sizes:
            window = pool[rng.choice(len(pool), size)]
            queries = vectors["test"][rng.choice(len(vectors["test"]), routes)]
            for label, rule in rules.items():
                timing = percentiles(decide_times(rule, window, queries))
                results[f"{label}, window of {size}"] = timing
                print(f"  {label}, window of {size}: {timing}", file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 3_000, 30_000])
    parser.add_argument("--routes", type=int, default=300)
    args = parser.parse_args(argv)
    report = {"machine": machine(), "routes": args.routes, "results": run(args.sizes, args.routes)}
    write_json("dedup_decision_cost.json", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

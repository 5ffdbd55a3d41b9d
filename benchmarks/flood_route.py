"""What one route costs as an outage flood's incident grows (the served dedup rule).

    python -m benchmarks.flood_route [--baseline /tmp/base] [--tickets 2500] [--backlog 2000]

In-process, through the state store (`TicketLedger.record_routing`, an SQLite file): the roster
of conf/serve is saturated and `--backlog` unrelated tickets wait (route_window.fill_window);
then `--tickets` reports of one problem (near copies of one random direction, pairwise cosine
about 0.96) are routed one after another, 10 ms apart. The first ones open an incident and
every later one joins it, so the incident's member count grows with each route. Reported: the
CPU p50 of the routes per stretch of members (100 routes each). `--baseline` runs the same on
another checkout's `src/` in a child process first (before and after in the same run). Writes
benchmarks/results/flood_route.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ROOT, json_of_checkout, machine, percentiles, write_json
from benchmarks.route_window import DIM, STEP_S, SteppingClock, fill_window, served_store

STRETCH = 100  # routes per reported stretch
NOISE = 0.01  # per-component noise of a report around the problem's direction


def measure(tickets: int, backlog: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """CPU ms per route by the members the incident had, in stretches of STRETCH routes."""
    from smart_support.serving.records import NewTicket

    rng = np.random.default_rng(seed)
    clock = SteppingClock(1_000_000.0)
    problem = rng.standard_normal(DIM).astype(np.float32)
    problem /= np.linalg.norm(problem)
    cpu = []
    with tempfile.TemporaryDirectory() as tmp:
        store, settings = served_store(tmp, clock)  # and the service's threads
        fill_window(store.database, list(settings.agents), backlog, clock.t, rng)
        for i in range(tickets):
            clock.t += STEP_S
            vector = problem + NOISE * rng.standard_normal(DIM).astype(np.float32)
            ticket = NewTicket(
                f"f{i}", "checkout fails", "Technical", 0.9, False, 0.5, "m2", "en",
                vector / np.linalg.norm(vector),
            )  # fmt: skip
            start = time.thread_time()
            store.ledger.record_routing([ticket])
            cpu.append(1000 * (time.thread_time() - start))
        store.close()
    return {
        f"members {start}-{start + STRETCH - 1}": percentiles(cpu[start : start + STRETCH])
        for start in range(0, tickets - STRETCH + 1, STRETCH)
    }


def measure_of(root: Path, tickets: int, backlog: int) -> dict[str, dict[str, float]]:
    """`measure()` on another checkout's `src/` (the baseline), in a child process."""
    return json_of_checkout(root, f"benchmarks.flood_route:measure({tickets}, {backlog})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout (its src/) to measure as before")
    parser.add_argument("--tickets", type=int, default=2_500)
    parser.add_argument("--backlog", type=int, default=2_000)
    args = parser.parse_args(argv)
    roots = {**({"before": args.baseline} if args.baseline else {}), "after": ROOT}
    results = {label: measure_of(root, args.tickets, args.backlog) for label, root in roots.items()}
    table = {
        stretch: {label: rows[stretch]["p50_ms"] for label, rows in results.items()}
        for stretch in results["after"]
    }
    report: dict[str, Any] = {"machine": machine(), "cpu_p50_ms": table, "results": results}
    write_json("flood_route.json", report)
    print(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

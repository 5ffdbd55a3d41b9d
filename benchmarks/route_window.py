"""What one routing write costs as the dedup window fills (agents saturated, thousands waiting).

    python -m benchmarks.route_window [--baseline /tmp/base [--rounds 4]] [--sizes 0 300 3000 30000]
        [--real]
    python -m benchmarks.route_window --http [--baseline /tmp/base] [--rule burst]

`--http` measures POST /route against `bentoml serve` instead (benchmarks/route_window_http.py).

In-process, through the state store (`TicketLedger.record_routing`, an SQLite file): the window
is filled by direct inserts of synthetic unit vectors spread over the last five minutes (with
`--real`, real tickets' vectors, and test-split tickets are routed: groups, merges and
incidents then form as in service), the roster of conf/serve is saturated by the first
tickets and every other one waits; then `--routes` single tickets are routed one after another
while the clock advances 10 ms each (100 tickets/s: old tickets leave the window as new ones
arrive, as in steady traffic). The classifier is not involved: this is the cost the window
adds to a route. `--baseline` runs the same measurement on another checkout's `src/` (e.g.
`git archive 78f8fc6 src | tar -x -C /tmp/base`) in a child process, so before and after come
from the same run; `--rounds N` runs them in turn N times and reports the median of the
rounds' CPU p50s. Writes benchmarks/results/route_window[_real].json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ROOT, json_of_checkout, machine, percentiles, write_json

DIM = 384
WINDOW_S = 300.0
STEP_S = 0.01  # 100 tickets/s
CATEGORIES = ("Technical", "Billing", "Legal")
WARM_UP = 20  # routes not measured: the first ones load the window into the process's cache


class SteppingClock:
    def __init__(self, start: float) -> None:
        self.t = start

    def now(self) -> float:
        return self.t


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def window_rows(
    size: int,
    now: float,
    rng: np.random.Generator,
    assigned: Sequence[str] = (),
    prefix: str = "w",
    span_s: float = WINDOW_S,
    jitter_s: float = 0.0,
    pool: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """`size` tickets created over the `span_s` seconds before `now`, oldest first, each time
    then moved later by up to `jitter_s` (tickets stored slightly out of arrival order, as
    replicas commit them); the first `len(assigned)` hold those agent slots, the rest wait.
    Their vectors are synthetic unit vectors (unrelated tickets), or drawn from `pool` (real
    tickets' vectors: each at most once while the pool suffices, else with replacement, and
    then every ticket has copies in the window)."""
    if pool is None:
        vectors = unit_vectors(rng, size)
    else:
        vectors = pool[rng.choice(len(pool), size, replace=size > len(pool))]
    times = np.sort(now - span_s * rng.uniform(0.0, 0.999, size) - jitter_s)
    times = np.minimum(times + rng.uniform(0.0, jitter_s, size), now)
    return [
        {
            "ticket_id": f"{prefix}{i}",
            "created_at": float(times[i]),
            "subject": f"window ticket {i}",
            "category": CATEGORIES[i % 3],
            "routing_category": CATEGORIES[i % 3],
            "confidence": 0.9,
            "needs_review": False,
            "urgency": float(rng.uniform()),
            "model_used": "m2",
            "language": "en",
            "agent_id": assigned[i] if i < len(assigned) else None,
            "status": "assigned" if i < len(assigned) else "waiting",
            "group_id": f"{prefix}{i}",
            "is_duplicate": False,
            "similarity": 0.0,
            "embedding": vectors[i].tobytes(),
        }
        for i in range(size)
    ]


def insert_rows(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Direct inserts into the tickets table (the waiting-bucket triggers keep counts exact)."""
    import sqlalchemy as sa

    if not rows:
        return
    names = list(rows[0])
    insert = sa.text(
        f"INSERT INTO tickets ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
    ).bindparams(sa.bindparam("embedding", type_=sa.LargeBinary()))
    for start in range(0, len(rows), 5_000):
        conn.execute(insert, rows[start : start + 5_000])


def slots_of(agents: list[Any]) -> list[str]:
    """One entry per unit of capacity: the tickets that saturate the roster."""
    return [a.id for a in agents for _ in range(a.capacity)]


def fill_window(
    db: Any,
    agents: list[Any],
    size: int,
    now: float,
    rng: np.random.Generator,
    jitter_s: float = 0.0,
    pool: np.ndarray | None = None,
) -> None:
    """`size` tickets created over the last five minutes (unrelated ones, or drawn from
    `pool`), inserted directly; the first ones fill every agent's capacity, the rest wait."""
    rows = window_rows(size, now, rng, slots_of(agents), jitter_s=jitter_s, pool=pool)
    with db.transaction() as conn:
        insert_rows(conn, rows)


@functools.cache  # embedded once per process, whatever the number of sizes
def real_vectors() -> tuple[np.ndarray, np.ndarray]:
    """Real tickets as the served dedup encoder embeds them: the other prepared splits (the
    window's pool) and the test split (the routed tickets, none of them in the window)."""
    from benchmarks.dedup_decision_cost import embedded_splits

    splits = embedded_splits()
    routed = splits.pop("test")
    return np.concatenate(list(splits.values())), routed


def measure(
    size: int, routes: int, seed: int = 0, jitter_s: float = 0.0, real: bool = False
) -> tuple[list[float], list[float]]:
    """Milliseconds per `record_routing` of one new ticket against a window of `size`: wall
    time, and the routing thread's CPU time (steadier on a shared machine: no run-queue
    waits; SQLite's WAL commit does not wait for the disk). `real`: real tickets fill the
    window and are routed (`real_vectors`), so groups, merges and incidents form as they do
    in service; otherwise random unit vectors, which never group."""
    from smart_support.serving.records import NewTicket

    rng = np.random.default_rng(seed)
    now = 1_000_000.0
    clock = SteppingClock(now)
    with tempfile.TemporaryDirectory() as tmp:
        store, settings = served_store(tmp, clock)
        pool, routed = real_vectors() if real else (None, None)
        fill_window(store.database, list(settings.agents), size, now, rng, jitter_s, pool)
        if routed is None:
            vectors = unit_vectors(rng, routes + WARM_UP)
        else:
            vectors = routed[rng.choice(len(routed), routes + WARM_UP)]
        wall, cpu = [], []
        for i, vector in enumerate(vectors):
            clock.t += STEP_S
            ticket = NewTicket(
                f"r{i}", f"new ticket {i}", CATEGORIES[i % 3], 0.9, False,
                float(rng.uniform()), "m2", "en", vector,
            )  # fmt: skip
            start, start_cpu = time.perf_counter(), time.thread_time()
            store.ledger.record_routing([ticket])
            if i >= WARM_UP:
                wall.append(1000 * (time.perf_counter() - start))
                cpu.append(1000 * (time.thread_time() - start_cpu))
        store.close()
    return wall, cpu


def served_store(directory: str, clock: SteppingClock) -> tuple[Any, Any]:
    """A state store (an SQLite file in `directory`) with conf/serve's roster and dedup rule,
    and the serve settings; this process then runs BLAS and faiss on the service's threads
    (`blas_threads`: one, where faiss would otherwise start one per core)."""
    from smart_support.config import compose_config
    from smart_support.serving.settings import ServeSettings, limit_threads
    from smart_support.serving.store import StateStore

    settings = ServeSettings.from_config(compose_config().serve)
    store = StateStore.open(
        f"sqlite:///{directory}/state.db",
        clock,
        agents=settings.agents,
        dedup=settings.dedup,
        min_affinity=settings.routing.min_affinity,
    )
    limit_threads(settings)
    return store, settings


def run(
    sizes: list[int], routes: int, jitter_s: float = 0.0, real: bool = False
) -> dict[str, dict[str, dict[str, float]]]:
    results = {}
    for size in sizes:
        wall, cpu = measure(size, routes, jitter_s=jitter_s, real=real)
        results[f"window of {size}"] = {
            "wall": percentiles(wall),
            "cpu": percentiles(cpu),
        }
        print(f"  route, window of {size}: {results[f'window of {size}']}", file=sys.stderr)
    return results


def run_of(
    root: Path, sizes: list[int], routes: int, jitter_s: float = 0.0, real: bool = False
) -> dict[str, dict[str, dict[str, float]]]:
    """`run()` on another checkout's `src/` (the baseline), in a child process."""
    return json_of_checkout(
        root, f"benchmarks.route_window:run({sizes!r}, {routes}, {jitter_s!r}, {real!r})"
    )


def alternate(
    baseline: Path, sizes: list[int], routes: int, jitter_s: float, rounds: int, real: bool = False
) -> dict[str, Any]:
    """Before and after in turn, `rounds` times (the machine's load drifts within minutes):
    per checkout and size, the median over rounds of each round's CPU p50, and every round."""
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for round_ in range(rounds):
        print(f"round {round_ + 1} of {rounds}: before ({baseline}), then after", file=sys.stderr)
        runs["before"].append(run_of(baseline, sizes, routes, jitter_s, real))
        runs["after"].append(run_of(ROOT, sizes, routes, jitter_s, real))
    report: dict[str, Any] = {"rounds": runs}
    for label, results in runs.items():
        p50s = {key: [r[key]["cpu"]["p50_ms"] for r in results] for key in results[0]}
        report[label] = {
            key: {"cpu_p50_ms_median_of_rounds": round(float(np.median(v)), 2)}
            for key, v in p50s.items()
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout (its src/) to measure as before")
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 300, 3_000, 30_000])
    parser.add_argument("--routes", type=int, default=300)
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --baseline: alternate before/after this often"
    )
    parser.add_argument(
        "--jitter-ms", type=float, default=0.0, help="window tickets stored out of order by this"
    )
    parser.add_argument("--http", action="store_true", help="POST /route to `bentoml serve`")
    parser.add_argument("--rule", help="another dedup rule than conf/serve's")
    parser.add_argument("--backlog", type=int, default=2_000, help="--http: tickets waiting")
    parser.add_argument(
        "--against-empty", action="store_true", help="--http: an empty window beside each size"
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="real tickets fill the window and are routed (needs data/prepared)",
    )
    args = parser.parse_args(argv)
    if args.http:
        from benchmarks.route_window_http import run_http

        run_http(
            args.baseline,
            args.sizes,
            args.routes,
            args.rule,
            args.backlog,
            args.jitter_ms / 1000,
            args.against_empty,
            args.real,
        )
        return 0
    jitter_s = args.jitter_ms / 1000
    if args.rule:  # conf/serve's env override, inherited by the baseline's child process
        os.environ["SMART_SUPPORT_SERVE__DEDUP__RULE"] = args.rule
    report: dict[str, Any] = {
        "machine": machine(),
        "routes": args.routes,
        "jitter_s": jitter_s,
        "rule": args.rule or "served (conf/serve)",
        "window": "real tickets" if args.real else "synthetic unit vectors",
    }
    if args.baseline:
        report |= alternate(
            args.baseline, args.sizes, args.routes, jitter_s, args.rounds, args.real
        )
    else:
        print("after (this checkout):", file=sys.stderr)
        report["after"] = run(args.sizes, args.routes, jitter_s, args.real)
    print(json.dumps(report, indent=2))
    suffix = (f"_{args.rule}" if args.rule else "") + (
        f"_jitter{args.jitter_ms:g}ms" if args.jitter_ms else ""
    )
    suffix += "_real" if args.real else ""
    write_json(f"route_window{suffix}.json", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""State store backends over HTTP: SQLite beside PostgreSQL, one replica and two.

    python -m benchmarks.backends [--quick] [--tiny-models]

Setups: `sqlite` (the embedded default, one replica), `postgresql` (one replica) and
`postgresql x2` (two `bentoml serve` on one database; the client sends requests to both in
turn, as a round-robin load balancer would). For each: POST /route sequentially (p50/p95) and
at concurrency 8 (throughput, p50/p95), in rounds that alternate between the setups so
background load on this shared machine hits all alike; each setup starts on an empty store.
Tickets are synthetic (the load test's background tickets), so no data is needed.
`--tiny-models` serves the test suite's small models from a throw-away BentoML home instead of
the pipeline's champion: requests are cheaper, so the store's share of each is larger.
Writes benchmarks/results/backends.json and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import create_database, drop_database, machine, median_of, write_json
from benchmarks.loadtest import background_ticket
from benchmarks.run import load, server_params

SETUPS = ("sqlite", "postgresql", "postgresql x2")


def setups(tmp: Path, pg_url: dict[str, str]) -> dict[str, list[Any]]:
    """The servers of each setup (not started yet)."""
    from tests.local_server import LocalServer

    params = server_params(tmp, cooldown_s=30.0)
    base = {"SMART_SUPPORT_PARAMS": str(params)}
    servers = {
        "sqlite": [LocalServer(env=base, log_path=tmp / "sqlite.log")],
        "postgresql": [
            LocalServer(
                env={**base, "SMART_SUPPORT_STORE_URL": pg_url["postgresql"]},
                log_path=tmp / "pg.log",
            )
        ],
        "postgresql x2": [
            LocalServer(
                env={**base, "SMART_SUPPORT_STORE_URL": pg_url["postgresql x2"]},
                log_path=tmp / f"pg2-{i}.log",
            )
            for i in range(2)
        ],
    }
    return servers


def measure(
    servers: dict[str, list[Any]], tickets: list[dict[str, str]], rounds: int, n: int
) -> dict[str, dict[str, Any]]:
    urls = {name: [s.url for s in group] for name, group in servers.items()}
    for name in SETUPS:  # warm-up: connections, first-use costs
        asyncio.run(load(urls[name], tickets, 2, 10 * len(urls[name])))
    runs: dict[str, dict[str, list]] = {name: {"seq": [], "c8": []} for name in SETUPS}
    for r in range(rounds):
        for name in SETUPS:
            runs[name]["seq"].append(asyncio.run(load(urls[name], tickets, 1, n)))
            runs[name]["c8"].append(asyncio.run(load(urls[name], tickets, 8, n)))
            print(f"  round {r + 1} {name}: seq {runs[name]['seq'][-1]} c8 {runs[name]['c8'][-1]}")
    return {name: {k: median_of(v) for k, v in runs[name].items()} for name in SETUPS}


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| setup | sequential p50 ms | sequential p95 ms | c=8 req/s | c=8 p50 ms | c=8 p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name in SETUPS:
        seq, c8 = results[name]["seq"], results[name]["c8"]
        lines.append(
            f"| {name} | {seq['p50_ms']} | {seq['p95_ms']} | {c8['req_per_s']} | "
            f"{c8['p50_ms']} | {c8['p95_ms']} |"
        )
    sqlite, pg, pg2 = (results[name] for name in SETUPS)
    lines += [
        "",
        f"PostgreSQL vs SQLite, one replica: sequential p50 "
        f"{pg['seq']['p50_ms'] / sqlite['seq']['p50_ms'] - 1:+.0%}, throughput at c=8 "
        f"{pg['c8']['req_per_s'] / sqlite['c8']['req_per_s'] - 1:+.0%}",
        f"PostgreSQL two replicas vs one: throughput at c=8 "
        f"{pg2['c8']['req_per_s'] / pg['c8']['req_per_s'] - 1:+.0%}",
    ]
    return "\n".join(lines)


def use_tiny_models(tmp: Path) -> None:
    """Train and import the test suite's small models into a BentoML home under `tmp`."""
    os.environ["BENTOML_HOME"] = str(tmp / "bentoml")
    from smart_support.config import compose_config, to_dict
    from tests.helpers import make_tickets, splits_from
    from tests.serving.tiny_models import import_tiny_models

    tracking = to_dict(compose_config().tracking)
    tracking["tracking_uri"] = f"sqlite:///{tmp}/mlflow.db"
    import_tiny_models(tracking, splits_from(make_tickets(240)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of 60 requests")
    parser.add_argument("--tiny-models", action="store_true", help="serve the tests' models")
    args = parser.parse_args(argv)
    rounds, n = (1, 60) if args.quick else (3, 200)
    rng = random.Random(11)
    tickets = [background_ticket(rng) for _ in range(500)]
    report: dict[str, Any] = {"machine": machine(), "started": time.time(), "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        if args.tiny_models:
            use_tiny_models(tmp)
        report["models"] = "tests' tiny models" if args.tiny_models else "pipeline champion"
        pg_url = {name: create_database("smart_support_bench") for name in SETUPS[1:]}
        servers = setups(tmp, pg_url)
        try:
            for group in servers.values():
                for server in group:
                    server.start(timeout_s=300)
            report["results"] = measure(servers, tickets, rounds, n)
        finally:
            for group in servers.values():
                for server in group:
                    server.stop()
            for url in pg_url.values():
                drop_database(url)
    report["table"] = table(report["results"])
    print(write_json("backends.json", report))
    print(report["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""POST /route against `bentoml serve` as the dedup window fills (agents saturated, thousands
waiting): `python -m benchmarks.route_window --http [--baseline /tmp/base] [--rule burst]`.

For each window size, two fresh servers, this checkout (`after`) and `--baseline` (`before`,
e.g. `git archive 0462bdf | tar -x -C /tmp/base`), run side by side on fresh SQLite stores,
serving the test suite's tiny models (the window's cost does not depend on the classifier)
with the served dedup encoder and conf/serve's dedup settings (`--rule` overrides the rule).
Once they are ready each store gets, by direct inserts: a backlog created ten minutes ago,
outside the window (the roster's 41 slots taken, `--backlog` tickets waiting), then the window:
that many waiting tickets created over the last five minutes in arrival order (synthetic unit
vectors: `route_window.window_rows`), and the load test's template tickets are routed. With
`--real`, real tickets instead: the window's vectors are the train and validation splits'
tickets as the served dedup encoder embeds them (`route_window.real_vectors`: each at most once
while the 7,618 suffice; a 30,000-ticket window repeats each about four times), and test-split
tickets, none of them in the window, are routed, so the burst rule meets what it meets
in service (hundreds of tickets above its threshold; random vectors have none). After a
warm-up (the first route reads the window into the process), `--routes` sequential requests
go to each server in blocks of 25 that alternate between the servers, so background load
hits both alike. The window ages in real time (~100
tickets/s leave a full one, as many as arrive in real traffic) and keeps the measured requests;
the report gives its size at the start and end. Per size and server: the service's own
`latency_ms` and the client's wall time (p50/p95), and the front worker's CPU milliseconds per
route (psutil, per block: steadier than wall time on a shared machine). Writes
benchmarks/results/route_window_http[_<rule>][_against_empty][_real].json.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import sqlalchemy as sa
import yaml

from benchmarks.common import ROOT, machine, percentiles, write_json
from benchmarks.loadtest import background_ticket
from benchmarks.route_window import WINDOW_S, insert_rows, window_rows

BACKLOG_AGE_S = 600.0  # the backlog was created before the window started
BLOCK = 25  # requests in a row to one server
WARM_UP = 10


def server_params(tmp: Path, root: Path, rule: str | None) -> Path:
    """conf/serve of `root` (its params.yaml) with a store under `tmp`, no rate limit in the
    way of a benchmark client, and optionally another dedup rule."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    serve = params["serve"]
    serve["store"]["path"] = str(tmp / "state.db")
    serve["limits"].update(rate_per_s=100_000, burst=100_000)
    if rule:
        serve["dedup"]["rule"] = rule
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True))
    return path


def start_servers(tmp: Path, roots: dict[str, Path], rule: str | None) -> dict[str, Any]:
    """A `bentoml serve` of each checkout in `roots`, each on its own store; started together."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.local_server import LocalServer

    servers = {}
    for label, root in roots.items():
        home = tmp / label
        home.mkdir(parents=True)
        env = {"SMART_SUPPORT_PARAMS": str(server_params(home, root, rule))}
        if root != ROOT:
            env["PYTHONPATH"] = f"{root / 'src'}:{root}"
        servers[label] = LocalServer(env=env, log_path=home / "serve.log", cwd=root)
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(lambda server: server.start(timeout_s=600), servers.values()))
    return servers


def engine_of(tmp: Path, label: str) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{tmp / label / 'state.db'}", connect_args={"timeout": 60})


def add_backlog(engine: sa.Engine, waiting: int, rng: np.random.Generator) -> None:
    """The roster saturated and `waiting` tickets queued, all from before the window."""
    from benchmarks.route_window import slots_of
    from smart_support.config import compose_config
    from smart_support.serving.settings import ServeSettings

    agents = list(ServeSettings.from_config(compose_config().serve).agents)
    slots = slots_of(agents)
    old = time.time() - BACKLOG_AGE_S
    rows = window_rows(len(slots) + waiting, old, rng, slots, prefix="b", span_s=60.0)
    with engine.begin() as conn:
        insert_rows(conn, rows)


def live_window(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT COUNT(*) FROM tickets WHERE created_at >= :cutoff")
        return int(conn.execute(query, {"cutoff": time.time() - WINDOW_S}).scalar_one())


def fill(
    engine: sa.Engine,
    size: int,
    rng: np.random.Generator,
    jitter_s: float,
    pool: np.ndarray | None = None,
) -> None:
    """`size` waiting tickets created over the last five minutes, in arrival order (as one
    replica stores them: tickets then leave the window from its oldest end), or out of it by
    up to `jitter_s` (as replicas commit them); vectors from `pool` when given."""
    with engine.begin() as conn:
        insert_rows(conn, window_rows(size, time.time(), rng, jitter_s=jitter_s, pool=pool))


@dataclass(frozen=True)
class Traffic:
    """What fills the window and what is routed: synthetic (random unit vectors, the load
    test's template tickets) or real (the train and validation splits' tickets as the served
    dedup encoder embeds them, and the test split's tickets routed)."""

    pool: np.ndarray | None = None
    tickets: tuple[dict[str, str], ...] = ()

    def ticket(self, rng: random.Random) -> dict[str, str]:
        return dict(rng.choice(self.tickets)) if self.tickets else background_ticket(rng)


def real_traffic() -> Traffic:
    import pandas as pd

    from benchmarks.route_window import real_vectors

    pool, _ = real_vectors()
    test = pd.read_parquet(ROOT / "data" / "prepared" / "test.parquet", columns=["subject", "body"])
    tickets = tuple(
        {"subject": str(subject or ""), "body": str(body)}
        for subject, body in zip(test["subject"], test["body"], strict=True)
    )
    return Traffic(pool, tickets)


def route(http: httpx.Client, ticket: dict[str, str]) -> tuple[float, float]:
    """(client wall ms, the service's latency_ms) of one POST /route."""
    start = time.perf_counter()
    response = http.post("/route", json=ticket)
    wall = 1000 * (time.perf_counter() - start)
    response.raise_for_status()
    return wall, float(response.json()["latency_ms"])


def front_process(server: Any) -> psutil.Process:
    """The worker of the HTTP front (`smart-support`), where the window lives."""
    for child in psutil.Process(server.process.pid).children(recursive=True):
        args = child.cmdline()
        if "--service-name" in args and args[args.index("--service-name") + 1] == "smart-support":
            return child
    raise RuntimeError(f"no smart-support worker under {server.process.pid}")


def cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def measure_size(
    servers: dict[str, Any],
    clients: dict[str, httpx.Client],
    routes: int,
    tickets: random.Random,
    traffic: Traffic,
) -> dict[str, dict[str, list[float]]]:
    """`routes` requests per server in blocks of BLOCK that alternate between the servers. Per
    request the service's and the client's milliseconds; per block the front worker's CPU
    milliseconds per route."""
    samples: dict[str, dict[str, list[float]]] = {
        label: {"server": [], "client": [], "front_cpu": []} for label in clients
    }
    fronts = {label: front_process(server) for label, server in servers.items()}
    for http in clients.values():  # the first routes read the window into the process
        for _ in range(WARM_UP):
            route(http, traffic.ticket(tickets))
    for _ in range(max(1, routes // BLOCK)):
        for label, http in clients.items():
            start = cpu_s(fronts[label])
            for _ in range(BLOCK):
                wall, server = route(http, traffic.ticket(tickets))
                samples[label]["client"].append(wall)
                samples[label]["server"].append(server)
            samples[label]["front_cpu"].append(1000 * (cpu_s(fronts[label]) - start) / BLOCK)
    return samples


def measure_window(
    tmp: Path,
    setups: dict[str, tuple[Path, int]],
    rule: str | None,
    backlog: int,
    routes: int,
    jitter_s: float,
    traffic: Traffic,
) -> dict[str, Any]:
    """Fresh servers on fresh stores, one per setup (a checkout and a window size): the
    backlog, the window, then the requests."""
    rng = np.random.default_rng(max(size for _, size in setups.values()))
    tickets = random.Random(len(setups))
    servers = start_servers(tmp, {label: root for label, (root, _) in setups.items()}, rule)
    clients = {label: httpx.Client(base_url=s.url, timeout=120) for label, s in servers.items()}
    try:
        engines = {label: engine_of(tmp, label) for label in servers}
        for label, engine in engines.items():
            add_backlog(engine, backlog, rng)
            fill(engine, setups[label][1], rng, jitter_s, traffic.pool)
        filled = {label: live_window(engine) for label, engine in engines.items()}
        samples = measure_size(servers, clients, routes, tickets, traffic)
        return {
            label: {
                "server": percentiles(samples[label]["server"]),
                "client": percentiles(samples[label]["client"]),
                "front_cpu_ms_per_route": percentiles(samples[label]["front_cpu"]),
                "window_at_start": filled[label],
                "window_at_end": live_window(engines[label]),
            }
            for label in servers
        }
    finally:
        for http in clients.values():
            http.close()
        for server in servers.values():
            server.stop()


def run_http(
    baseline: Path | None,
    sizes: list[int],
    routes: int,
    rule: str | None,
    backlog: int,
    jitter_s: float = 0.0,
    against_empty: bool = False,
    real: bool = False,
) -> dict[str, Any]:
    """Per size, `before` and `after` side by side; `against_empty`: each beside an empty
    window of the same checkout too (four servers), so the window's added cost is measured
    at the same time as the empty window's (the machine's load drifts between sizes)."""
    from benchmarks.backends import use_tiny_models

    report: dict[str, Any] = {
        "machine": machine(),
        "routes_per_size": routes,
        "rule": rule or "served (conf/serve)",
        "backlog_waiting": backlog,
        "window_vectors": (
            "real tickets (train and validation splits, served dedup encoder), inserted directly"
            " into the store"
            if real
            else "synthetic unit vectors, inserted directly into the store"
        ),
        "routed": "test-split tickets" if real else "the load test's template tickets",
        "jitter_s": jitter_s,
        "models": "tests' tiny models",
        "results": {},
    }
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        use_tiny_models(tmp)
        traffic = real_traffic() if real else Traffic()
        for size in sizes:
            roots = {"after": ROOT, **({"before": baseline} if baseline else {})}
            setups = {label: (root, size) for label, root in roots.items()}
            if against_empty:
                setups |= {f"{label} empty": (root, 0) for label, root in roots.items()}
            row = measure_window(
                tmp / f"size{size}", setups, rule, backlog, routes, jitter_s, traffic
            )
            report["results"][f"window of {size}"] = row
            print(f"  window of {size}: {row}", file=sys.stderr)
    report["table"] = (empty_table if against_empty else table)(report["results"])
    suffix = (f"_{rule}" if rule else "") + (f"_jitter{1000 * jitter_s:g}ms" if jitter_s else "")
    suffix += ("_against_empty" if against_empty else "") + ("_real" if real else "")
    write_json(f"route_window_http{suffix}.json", report)
    print(report["table"])
    return report


def table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: per size and server, p50 / p95 of the service's latency_ms and of the client,
    the front worker's CPU per route (median of blocks), and p50s above the empty window's."""
    labels = [label for label in ("before", "after") if label in next(iter(results.values()))]
    columns = [
        (f"{label} {name}", label, key, stat)
        for name, key, stat in (
            ("server p50 / p95", "server", "both"),
            ("client p50 / p95", "client", "both"),
            ("front CPU / route", "front_cpu_ms_per_route", "p50_ms"),
        )
        for label in labels
    ]
    deltas = [
        (f"{label} {name} − empty", label, key)
        for name, key in (("server p50", "server"), ("front CPU", "front_cpu_ms_per_route"))
        for label in labels
    ]
    lines = [
        "| window | " + " | ".join(c[0] for c in columns + deltas) + " |",  # type: ignore[misc]
        "|---" * (1 + len(columns) + len(deltas)) + "|",
    ]
    empty = next(iter(results.values()))
    for size, row in results.items():
        cells = []
        for _, label, key, stat in columns:
            values = row[label][key]
            both = f"{values['p50_ms']} / {values['p95_ms']}"
            cells.append(both if stat == "both" else str(values[stat]))
        for _, label, key in deltas:
            cells.append(f"{row[label][key]['p50_ms'] - empty[label][key]['p50_ms']:+.2f}")
        lines.append(f"| {size.removeprefix('window of ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def empty_table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: per size, each checkout's p50s beside its own empty window's, same run."""
    labels = [label for label in ("before", "after") if label in next(iter(results.values()))]
    lines = [
        "| window | "
        + " | ".join(
            f"{label} server p50: empty → full (Δ) | {label} front CPU / route: empty → full (Δ)"
            for label in labels
        )
        + " |",
        "|---" * (1 + 2 * len(labels)) + "|",
    ]
    for size, row in results.items():
        cells = []
        for label in labels:
            for key in ("server", "front_cpu_ms_per_route"):
                empty, full = row[f"{label} empty"][key]["p50_ms"], row[label][key]["p50_ms"]
                cells.append(f"{empty} → {full} ({full - empty:+.2f})")
        lines.append(f"| {size.removeprefix('window of ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

"""Latency and throughput: models in-process, then the service over HTTP (`make bench`).

    python -m benchmarks.run [--baseline /tmp/base] [--quick] [--http-only]

In-process: M1, M2, M3 from the MLflow registry and the dedup embedding, per ticket (single and
batches of 32). Over HTTP against `bentoml serve` on loopback: POST /route at concurrency 1, 8
and 32, POST /route/batch (100 tickets), first request after ready; once with the champion and
once with the fallback (breaker tripped by injected delay, long cool-down). Real test tickets are
read from data/prepared/test.parquet at run time. Writes benchmarks/results/bench.json
and renders docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import yaml

from benchmarks.common import (
    RESULTS,
    ROOT,
    json_of_checkout,
    machine,
    median_of,
    percentiles,
    test_tickets,
    timed,
    write_json,
)

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_params(root: Path = ROOT) -> dict[str, Any]:
    return yaml.safe_load((root / "params.yaml").read_text())


# --- in-process ------------------------------------------------------------------------------


def in_process(tickets: list[dict[str, str]], repeats: int, rounds: int) -> dict[str, Any]:
    import mlflow

    from smart_support.features.embeddings import dedup_encoder_model, shared_embedder
    from smart_support.models.fast_linear import accelerate
    from smart_support.models.pyfunc import load_router
    from smart_support.serving.model_router import SAMPLE_TICKETS
    from smart_support.serving.settings import (
        ServeSettings,
        limit_encoder_threads,
        limit_threads,
    )

    params = load_params()
    serve = ServeSettings.from_config(params["serve"])
    limit_threads(serve)  # native thread pools as the classifier sets them (conf/serve)
    limit_encoder_threads(serve)
    mlflow.set_tracking_uri(params["tracking"]["tracking_uri"])
    name = params["tracking"]["registered_model"]
    texts = [t["text"] for t in tickets]
    embedder = shared_embedder(
        dedup_encoder_model(serve.dedup.finetuned, ROOT),
        max_seq_length=serve.dedup.max_seq_length,
        backend=serve.dedup.backend,
        threads=serve.encoder_threads,
        parallel=serve.encoder_parallel,
    )
    # As served, plus the forms they replaced (the profiling fixes' before/after, same run).
    targets = {
        "dedup_embedding": embedder.encode,
        "dedup_embedding before (torch, 128 tokens)": shared_embedder(max_seq_length=128).encode,
        "dedup_embedding packaged (before fine-tuning)": shared_embedder(
            max_seq_length=serve.dedup.max_seq_length,
            backend=serve.dedup.backend,
            threads=serve.encoder_threads,
            parallel=serve.encoder_parallel,
        ).encode,
    }
    for milestone in ("m1", "m2", "m3"):
        router = load_router(f"models:/{name}@{milestone}")
        served = accelerate(router, SAMPLE_TICKETS)
        targets[milestone] = served.predict
        if served is not router:
            targets[f"{milestone} before (sklearn predict_proba)"] = router.predict

    results: dict[str, Any] = {}
    for target, fn in targets.items():
        fn(texts[:32])  # warm-up
        runs = [measure(fn, texts, repeats, r) for r in range(rounds)]
        results[target] = {
            "single": median_of([single for single, _ in runs]),
            "batch32_per_ticket": median_of([batch for _, batch in runs]),
        }
        print(f"  in-process {target}: single p50 {results[target]['single']['p50_ms']} ms")
    return results


def dedup_window(
    sizes: tuple[int, ...] = (300, 3_000, 30_000),
    repeats: int = 200,
    seed: int = 0,
    rule: tuple[str, float, int] | None = None,
) -> dict[str, dict[str, float]]:
    """The front's dedup decision per ticket (`Deduplicator.observe`) against a window of
    `size` unrelated tickets: 5 minutes at 100 tickets/s hold 30,000. Random unit vectors (most
    traffic is unrelated); one BLAS thread, as the service runs. `rule` is (grouping rule,
    threshold, min_matches), conf/serve's `dedup` when None. The code before a change is
    measured by the same function: `PYTHONPATH=<old checkout>/src python -c "from
    benchmarks.run import dedup_window; print(dedup_window())"`."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    results = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for size in sizes:
            vectors = rng.normal(size=(size + repeats, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            times = _dedup_decisions(vectors, size, rule or _configured_rule())
            results[f"window of {size}"] = percentiles(times)
            print(f"  dedup decision, window of {size}: {results[f'window of {size}']}")
    return results


def dedup_window_of(root: Path) -> dict[str, dict[str, float]]:
    """`dedup_window()` on another checkout's code (the baseline), in a child process."""
    return json_of_checkout(root, "benchmarks.run:dedup_window()")


def _configured_rule() -> tuple[str, float, int]:
    dedup = yaml.safe_load((ROOT / "conf" / "serve" / "default.yaml").read_text())["dedup"]
    return str(dedup["rule"]), float(dedup["threshold"]), int(dedup["min_matches"])


def _dedup_decisions(vectors: Any, size: int, rule: tuple[str, float, int]) -> list[float]:
    """Milliseconds per decision for the vectors after the first `size` (the window)."""
    from smart_support.routing.dedup import Deduplicator, no_incidents

    name, threshold, min_matches = rule
    dedup = Deduplicator(threshold, window_s=1e9, rule=name, min_matches=min_matches)
    for i in range(size):
        dedup.window.add(f"w{i}", f"w{i}", vectors[i], 0.0)
    times = []
    for i in range(size, len(vectors)):
        start = time.perf_counter()
        dedup.observe(f"t{i}", vectors[i], 1.0, no_incidents)
        times.append(1000 * (time.perf_counter() - start))
    return times


def measure(fn: Any, texts: list[str], repeats: int, r: int) -> tuple[dict, dict]:
    """One round: `repeats` single tickets, `repeats // 5` batches of 32 (per-ticket times)."""
    tickets = iter(texts[(r * repeats + i) % len(texts)] for i in range(repeats))
    single = timed(lambda: fn([next(tickets)]), repeats)
    batch = texts[(r * 32) % len(texts) :][:32] or texts[:32]
    per_ticket = [t / len(batch) for t in timed(lambda: fn(batch), max(2, repeats // 5))]
    return percentiles(single), percentiles(per_ticket)


# --- over HTTP -------------------------------------------------------------------------------


def describe_checkout(root: Path) -> str:
    """`<short commit> (<path>)` for a git checkout or worktree, else the path."""
    import subprocess

    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return f"{done.stdout.strip()} ({root})" if done.returncode == 0 else str(root)


def server_params(tmp: Path, cooldown_s: float, root: Path = ROOT) -> Path:
    params = load_params(root)
    params["serve"]["store"]["path"] = str(tmp / "state.db")
    params["serve"]["breaker"]["cooldown_s"] = cooldown_s
    # The service's capacity, not the per-client rate limit (50/s: every request past it a 429).
    params["serve"]["limits"].update(rate_per_s=100_000, burst=100_000)
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True))
    return path


def payload(ticket: dict[str, str]) -> dict[str, str]:
    return {"subject": ticket["subject"], "body": ticket["body"]}


async def load(
    url: str | Sequence[str], tickets: list[dict[str, str]], concurrency: int, n: int
) -> dict:
    """`n` POST /route requests, at most `concurrency` in flight; latency and throughput.
    Several URLs (replicas) take the requests in turn, as a round-robin load balancer would.

    The load generator is aiohttp: httpx's async client spent ~1 ms of its own per request on
    this machine (GET /agents p50: aiohttp 1.4-1.9 ms, httpx async 2.4 ms), time that is the
    client's and not the service's. Before and after are always measured with the same client.
    """
    urls = [url] if isinstance(url, str) else list(url)
    latencies: list[float] = []
    errors = 0
    next_index = iter(range(n))
    timeout = aiohttp.ClientTimeout(total=60)
    sessions = [
        aiohttp.ClientSession(u, connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout)
        for u in urls
    ]
    try:

        async def user() -> None:
            nonlocal errors
            for i in next_index:
                http = sessions[i % len(sessions)]
                start = time.perf_counter()
                async with http.post("/route", json=payload(tickets[i % len(tickets)])) as response:
                    await response.read()
                latencies.append(1000 * (time.perf_counter() - start))
                errors += response.status != 200

        start = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    finally:
        for http in sessions:
            await http.close()
    return {**percentiles(latencies), "req_per_s": round(n / wall, 1), "errors": errors}


@dataclass(frozen=True)
class Baseline:
    """Another checkout of the repository, optionally with the BentoML home its models are in."""

    root: Path
    bentoml_home: Path | None = None


def start_server(tmp: Path, fallback: bool, baseline: Baseline | None) -> Any:
    """`bentoml serve` of this checkout, or of `baseline`."""
    from tests.local_server import LocalServer

    tmp.mkdir(parents=True, exist_ok=True)
    root = baseline.root if baseline else ROOT
    env = {
        "SMART_SUPPORT_PARAMS": str(server_params(tmp, 3600.0 if fallback else 30.0, root)),
        "SMART_SUPPORT_FAULT_INJECTION": "1",
    }
    kwargs: dict[str, Any] = {}
    if baseline is not None:
        env["PYTHONPATH"] = f"{root / 'src'}:{root}"
        kwargs["cwd"] = root
        if baseline.bentoml_home:
            env["BENTOML_HOME"] = str(baseline.bentoml_home)
    return LocalServer(env=env, log_path=tmp / "serve.log", **kwargs)


def prepare(server: Any, tickets: list[dict[str, str]], fallback: bool) -> dict[str, Any]:
    """Start, time the first request, and (fallback) trip the breaker with an injected delay."""
    started = time.perf_counter()
    server.start()
    ready_s = time.perf_counter() - started
    with httpx.Client(base_url=server.url, timeout=60) as http:
        first_start = time.perf_counter()
        http.post("/route", json=payload(tickets[0])).raise_for_status()
        first_ms = 1000 * (time.perf_counter() - first_start)
        if fallback:  # slow the champion until the breaker opens, then remove the delay
            http.post("/admin/faults", params={"delay_ms": 700}).raise_for_status()
            for ticket in tickets[:4]:
                http.post("/route", json=payload(ticket))
            http.post("/admin/faults", params={"delay_ms": 0}).raise_for_status()
            state = http.get("/health").json()["breaker"]["state"]
            assert state == "open", f"breaker did not open: {state}"
        model_used = http.post("/route", json=payload(tickets[1])).json()["model_used"]
    return {
        "model_used": model_used,
        "ready_s": round(ready_s, 1),
        "first_request_ms": round(first_ms, 1),
        "new_connection_ms": new_connection_ms(server.url, tickets),
    }


def new_connection_ms(url: str, tickets: list[dict[str, str]], n: int = 5) -> float:
    """Median of requests that each open a connection, as the first request does (the load
    runs reuse theirs): what "the first request is as fast as the rest" compares against."""
    times = []
    for ticket in tickets[2 : 2 + n]:
        with httpx.Client(base_url=url, timeout=60) as http:
            start = time.perf_counter()
            http.post("/route", json=payload(ticket)).raise_for_status()
            times.append(1000 * (time.perf_counter() - start))
    return round(sorted(times)[len(times) // 2], 1)


def batches(url: str, tickets: list[dict[str, str]], r: int) -> float:
    chunk = [payload(t) for t in (tickets * 2)[r * 100 % len(tickets) :][:100]]
    start = time.perf_counter()
    response = httpx.post(f"{url}/route/batch", json={"tickets": chunk}, timeout=120)
    response.raise_for_status()
    return 1000 * (time.perf_counter() - start)


def over_http(
    tickets: list[dict[str, str]], fallback: bool, rounds: int, n: int, baseline: Baseline | None
) -> dict[str, dict[str, Any]]:
    """Each measurement alternates between the servers, so background noise hits both alike."""
    labels = ["after"] + (["before"] if baseline else [])
    with tempfile.TemporaryDirectory() as tmp:
        servers = {
            label: start_server(
                Path(tmp) / label, fallback, baseline if label == "before" else None
            )
            for label in labels
        }
        try:
            results = {label: prepare(servers[label], tickets, fallback) for label in labels}
            for concurrency in (1, 8, 32):
                runs: dict[str, list] = {label: [] for label in labels}
                for _ in range(rounds):
                    for label in labels:
                        runs[label].append(
                            asyncio.run(load(servers[label].url, tickets, concurrency, n))
                        )
                for label in labels:
                    results[label][f"route_c{concurrency}"] = median_of(runs[label])
                    print(
                        f"  {label} {results[label]['model_used']} c={concurrency}: "
                        f"{results[label][f'route_c{concurrency}']}"
                    )
            batch_ms: dict[str, list[float]] = {label: [] for label in labels}
            for r in range(rounds * 2):
                for label in labels:
                    batch_ms[label].append(batches(servers[label].url, tickets, r))
            for label in labels:
                stats = percentiles(batch_ms[label])
                results[label]["batch100"] = {
                    "p50_ms": stats["p50_ms"],
                    "p95_ms": stats["p95_ms"],
                    "tickets_per_s": round(100_000 / stats["p50_ms"], 1),
                }
                print(f"  {label} batch of 100: {results[label]['batch100']}")
        finally:
            for server in servers.values():
                server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of the code before a change (git worktree add /tmp/base <commit>): "
        "its server is measured alongside, as `before`",
    )
    parser.add_argument(
        "--baseline-bentoml-home",
        type=Path,
        help="a BentoML home holding the models the baseline served (when the pipeline has "
        "imported newer ones since)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    parser.add_argument("--http-only", action="store_true")
    parser.add_argument(
        "--in-process-only", action="store_true", help="update only in_process in bench.json"
    )
    args = parser.parse_args(argv)
    rounds, repeats, n = (1, 20, 40) if args.quick else (3, 40, 400)
    baseline = Baseline(args.baseline, args.baseline_bentoml_home) if args.baseline else None
    tickets = test_tickets()
    report: dict[str, Any] = {"machine": machine(), "started": time.time()}
    if not args.http_only:
        report["in_process"] = in_process(tickets, repeats, rounds)
        report["dedup_window"] = {"after": dedup_window()}
        if baseline:
            report["dedup_window"]["before"] = dedup_window_of(baseline.root)
    if args.in_process_only:
        previous = json.loads((RESULTS / "bench.json").read_text())
        path = write_json("bench.json", {**previous, "in_process": report["in_process"]})
        from benchmarks.render import render

        print(f"wrote {path} and {render()}")
        return 0
    report["http"] = {
        "champion": over_http(tickets, False, rounds, n, baseline),
        "fallback": over_http(tickets, True, rounds, n, baseline),
    }
    if args.baseline:
        report["baseline"] = describe_checkout(args.baseline)
    path = write_json("bench.json", report)
    print(f"wrote {path}")
    from benchmarks.render import render

    print(f"wrote {render()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

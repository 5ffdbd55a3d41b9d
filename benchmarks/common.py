"""Shared helpers: percentiles, the machine, real test tickets (read at run time, never copied)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PREPARED_TEST = ROOT / "data" / "prepared" / "test.parquet"
# The PostgreSQL server every machine of the project runs (trust auth); another by env var.
PG_ADMIN_URL = os.environ.get(
    "SMART_SUPPORT_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    values = np.asarray(samples_ms, dtype=float)
    return {
        "n": int(values.size),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "mean_ms": round(float(values.mean()), 2),
    }


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(1000 * (time.perf_counter() - start))
    return samples


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Element-wise median of repeated runs (the machine is shared, so single runs are noisy)."""
    return {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {
        "cpu_model": model,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "load_avg_1m_at_start": round(load, 2),
    }


def test_tickets(limit: int = 500) -> list[dict[str, str]]:
    """Real tickets from the pipeline's prepared test split (data stays outside the repo)."""
    import pandas as pd

    frame = pd.read_parquet(PREPARED_TEST, columns=["text", "subject", "body"])
    frame = frame[(frame.subject.str.strip() != "") & (frame.body.str.strip() != "")]
    return frame.head(limit).to_dict("records")


def json_of_checkout(root: Path, call: str) -> Any:
    """The JSON a benchmark function returns when run on another checkout's `src/` (a
    baseline) in a child process: `call` is `module:expression`, e.g.
    `benchmarks.run:dedup_window()`; the benchmark code itself is this checkout's."""
    import subprocess
    import sys

    module, expression = call.split(":", 1)
    script = f"import json; import {module} as m; print(json.dumps(m.{expression}))"
    env = {**os.environ, "PYTHONPATH": f"{root / 'src'}:{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{call} on {root} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def create_database(prefix: str, admin_url: str = PG_ADMIN_URL) -> str:
    """A new, empty, uniquely named PostgreSQL database (tests, benchmarks); its URL.
    Raises sqlalchemy.exc.OperationalError when the server cannot be reached."""
    import uuid

    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _on_server(admin_url, f'CREATE DATABASE "{name}"')
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, admin_url: str = PG_ADMIN_URL) -> None:
    """Drop a database `create_database` made, closing whatever is still connected to it."""
    import sqlalchemy as sa

    _on_server(admin_url, f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')


def _on_server(admin_url: str, statement: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()

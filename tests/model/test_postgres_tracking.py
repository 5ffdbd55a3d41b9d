"""tracking=postgres: MLflow runs + registry and Optuna studies on a PostgreSQL server."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import optuna
import pytest
import sqlalchemy
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from smart_support.config import compose_config, to_dict
from smart_support.tracking.databases import DatabaseUnreachable, ensure_database
from smart_support.tracking.runs import configure
from smart_support.tuning.search import tune
from tests.postgres import postgres_url  # noqa: F401 - fixture

N_TRIALS = 10
SPACE = {"C": {"type": "float", "low": 0.01, "high": 10.0, "log": True}}


def test_the_postgres_option_puts_runs_registry_and_studies_on_the_server() -> None:
    cfg = to_dict(compose_config(["tracking=postgres"]))
    mlflow_db, optuna_db = cfg["tracking"]["tracking_uri"], cfg["tune"]["storage"]
    assert mlflow_db.startswith("postgresql+psycopg://") and optuna_db.startswith("postgresql")
    assert mlflow_db.rsplit("/", 1)[1] != optuna_db.rsplit("/", 1)[1]  # one database each
    assert cfg["tracking"]["experiment"] == to_dict(compose_config())["tracking"]["experiment"]


def test_an_unreachable_server_is_named_without_its_password() -> None:
    with pytest.raises(DatabaseUnreachable, match=r"root:\*\*\*@127\.0\.0\.1:1/x") as err:
        ensure_database("postgresql+psycopg://root:secret@127.0.0.1:1/x")
    assert "secret" not in str(err.value)


def test_mlflow_runs_and_registry_live_in_the_postgres_database(
    postgres_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    tracking = {
        **to_dict(compose_config(["tracking=postgres"]).tracking),
        "tracking_uri": postgres_url,
        "artifact_location": str(tmp_path / "artifacts"),
    }
    try:
        configure(tracking)  # creates the database
        with mlflow.start_run() as run:
            mlflow.log_metric("macro_f1", 0.9)
        client = MlflowClient()
        client.create_registered_model("router")
        version = client.create_model_version(
            "router", source="runs:/x/model", run_id=run.info.run_id
        )
        client.set_registered_model_alias("router", "champion", version.version)
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as connection:
        runs = connection.execute(sqlalchemy.text("SELECT run_uuid FROM runs")).scalars().all()
        aliases = connection.execute(
            sqlalchemy.text("SELECT alias, version FROM registered_model_aliases")
        ).all()
    engine.dispose()
    assert runs == [run.info.run_id]
    assert [tuple(a) for a in aliases] == [("champion", int(version.version))]


def _worker(storage: str, barrier: Any, results: Any, name: str) -> None:
    """One tuning process: waits for the other, tunes, waits again, then reads the study."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(int)
    mine: list[int] = []

    def on_trial(trial: Any, mean: float, std: float) -> None:
        mine.append(trial.number)
        time.sleep(0.3)  # trials long enough that both workers are inside the study at once

    barrier.wait()
    tune(LogisticRegression(), X, y, SPACE, name="shared", storage=storage, n_trials=N_TRIALS,
         folds=2, seed=42, pruner_cfg={"n_startup_trials": 10**6}, on_trial=on_trial)  # fmt: skip
    barrier.wait()  # both finished: what does each see now?
    seen = optuna.load_study(study_name="shared", storage=storage).get_trials(deepcopy=False)
    results.put((name, mine, sorted(t.number for t in seen if t.state.is_finished())))


def test_two_tuning_processes_share_one_study(postgres_url: str) -> None:  # noqa: F811
    ensure_database(postgres_url)
    optuna.create_study(study_name="shared", storage=postgres_url, direction="maximize")
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    workers = [
        spawn.Process(target=_worker, args=(postgres_url, barrier, results, name))
        for name in ("a", "b")
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=240)
    assert [p.exitcode for p in workers] == [0, 0]
    (_, ran_a, seen_a), (_, ran_b, seen_b) = sorted(results.get(timeout=5) for _ in workers)
    assert ran_a and ran_b, "each worker must run trials of the shared study"
    assert not set(ran_a) & set(ran_b)
    assert seen_a == seen_b == sorted(ran_a + ran_b)  # both see every trial
    assert N_TRIALS <= len(ran_a) + len(ran_b) <= N_TRIALS + 1  # stop at n_trials in all

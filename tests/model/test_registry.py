"""Registration: every milestone versioned, @champion moves only on improvement, @fallback = M1."""

import mlflow
import pytest
from mlflow import MlflowClient

from smart_support.models.pyfunc import load_router, log_router_model
from smart_support.tracking.registry import (
    Champion,
    best_milestone,
    register_models,
    should_promote,
)

TRACKING = {
    "registered_model": "router-test",
    "champion_alias": "champion",
    "fallback_alias": "fallback",
    "fallback_milestone": "m1",
}


@pytest.mark.parametrize(
    ("candidate", "current", "promote"),
    [
        (0.90, None, True),
        (0.90, Champion("1", 0.85, "three_way", "m1"), True),
        (0.85, Champion("1", 0.85, "three_way", "m1"), False),
        (0.80, Champion("1", 0.85, "three_way", "m2"), False),
        (0.80, Champion("1", 0.95, "seed", "m2"), True),
    ],
)
def test_promote_only_on_improvement(candidate, current, promote) -> None:
    assert should_promote(candidate, "three_way", current) is promote


def test_best_milestone_prefers_the_earlier_one_on_a_tie() -> None:
    assert (
        best_milestone({"m1": {"macro_f1": 0.9}, "m2": {"macro_f1": 0.9}, "m3": {"macro_f1": 0.8}})
        == "m1"
    )


@pytest.fixture
def runs(tmp_path, tiny_m2, tiny_splits):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    mlflow.set_experiment("test")
    example = tiny_splits["test"].frame[["subject", "body"]].head(2)
    uris = {}
    for milestone in ("m1", "m2"):
        with mlflow.start_run():
            uris[milestone] = {"model_uri": log_router_model(tiny_m2, example)}
    yield uris
    mlflow.set_tracking_uri(None)


def metrics(m1: float, m2: float) -> dict:
    return {
        "m1": {"macro_f1": m1, "labels": "three_way"},
        "m2": {"macro_f1": m2, "labels": "three_way"},
    }


def test_register_promotes_then_keeps_the_better_champion(runs) -> None:
    client = MlflowClient()
    first = register_models(client, TRACKING, runs, metrics(0.80, 0.90))
    assert first["promoted"] and first["champion_milestone"] == "m2"
    worse = register_models(client, TRACKING, runs, metrics(0.70, 0.85))
    assert not worse["promoted"]
    assert worse["champion_version"] == first["champion_version"]
    assert worse["fallback_version"] == worse["versions"]["m1"] != first["fallback_version"]
    better = register_models(client, TRACKING, runs, metrics(0.70, 0.95))
    assert better["promoted"] and better["champion_version"] == better["versions"]["m2"]


def test_registered_aliases_load_as_routers(runs) -> None:
    register_models(MlflowClient(), TRACKING, runs, metrics(0.8, 0.9))
    for alias in ("champion", "fallback", "m1", "m2"):
        assert load_router(f"models:/router-test@{alias}").labels


def test_batch_cli_writes_one_row_per_input(runs, tmp_path, tiny_splits) -> None:
    from smart_support.predict import main

    register_models(
        MlflowClient(),
        {**TRACKING, "registered_model": "smart-support-router"},
        runs,
        metrics(0.8, 0.9),
    )
    source = tmp_path / "in.csv"
    tiny_splits["test"].frame[["subject", "body"]].to_csv(source, index=False)
    out = tmp_path / "out.csv"
    uri = mlflow.get_tracking_uri()
    assert (
        main(
            [
                "--input",
                str(source),
                "--output",
                str(out),
                "--model",
                "fallback",
                "--tracking-uri",
                uri,
            ]
        )
        == 0
    )
    import pandas as pd

    frame = pd.read_csv(out)
    assert list(frame.columns) == ["category", "confidence", "urgency_score", "model"]
    assert len(frame) == len(tiny_splits["test"].frame)


def test_batch_cli_rejects_a_file_without_body(tmp_path, capsys) -> None:
    from smart_support.predict import main

    source = tmp_path / "in.csv"
    source.write_text("subject\nhello\n")
    assert main(["--input", str(source), "--output", str(tmp_path / "o.csv")]) == 2
    assert "body" in capsys.readouterr().err

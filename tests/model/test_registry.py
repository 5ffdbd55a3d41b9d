"""Registration: every milestone versioned, @champion moves only on improvement, @fallback = M1."""

import mlflow
import pytest
from mlflow import MlflowClient

from smart_support.models.pyfunc import load_router, log_router_model
from smart_support.tracking.registry import (
    Candidate,
    Champion,
    best_milestone,
    candidate_from,
    register_models,
    should_promote,
)

TRACKING = {
    "registered_model": "router-test",
    "champion_alias": "champion",
    "fallback_alias": "fallback",
    "fallback_milestone": "m1",
}


def cand(milestone: str, val: float, floor: bool = True, labels: str = "three_way") -> Candidate:
    return Candidate(milestone, val, labels, 1.0 if floor else 0.5, floor)


@pytest.mark.parametrize(
    ("candidate", "current", "promote"),
    [
        (cand("m2", 0.90), None, True),
        (cand("m2", 0.90), Champion("1", 0.85, "three_way", "m1"), True),
        (cand("m2", 0.85), Champion("1", 0.85, "three_way", "m1"), False),
        (cand("m2", 0.80), Champion("1", 0.85, "three_way", "m2"), False),
        (cand("m2", 0.80), Champion("1", 0.95, "seed", "m2"), True),
        (cand("m2", 0.80), Champion("1", 0.95, "three_way", "m2", floor_passed=False), True),
        (cand("m2", 0.99, floor=False), Champion("1", 0.85, "three_way", "m1"), False),
        (cand("m2", 0.99, floor=False), None, True),
    ],
)
def test_promote_only_on_improvement_and_behaviour(candidate, current, promote) -> None:
    assert should_promote(candidate, current) is promote


def test_best_milestone_prefers_the_earlier_one_on_a_tie() -> None:
    candidates = {"m1": cand("m1", 0.9), "m2": cand("m2", 0.9), "m3": cand("m3", 0.8)}
    assert best_milestone(candidates) == "m1"


def test_a_later_milestone_must_beat_an_earlier_one_by_more_than_the_margin() -> None:
    candidates = {"m1": cand("m1", 0.85), "m2": cand("m2", 0.910), "m3": cand("m3", 0.914)}
    assert best_milestone(candidates, margin=0.005) == "m2"
    assert best_milestone(candidates, margin=0.0) == "m3"
    assert best_milestone({**candidates, "m3": cand("m3", 0.916)}, margin=0.005) == "m3"
    below = {**candidates, "m2": cand("m2", 0.910, floor=False)}
    assert best_milestone(below, margin=0.005) == "m3"


def test_best_milestone_skips_those_below_the_behavioural_floor() -> None:
    candidates = {"m1": cand("m1", 0.8), "m2": cand("m2", 0.9, floor=False)}
    assert best_milestone(candidates) == "m1"
    below = {"m1": cand("m1", 0.8, floor=False), "m2": cand("m2", 0.9, floor=False)}
    assert best_milestone(below) == "m2"


def test_candidacy_reads_validation_and_the_dev_floor() -> None:
    run = {"labels": "three_way", "val_metrics": {"macro_f1": 0.88}}
    c = candidate_from("m2", run, {"mft_en": 0.95, "mft_de": 0.85}, floor=0.9)
    assert c == Candidate("m2", 0.88, "three_way", 0.85, False)


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


def metrics(m1: float, m2: float, m2_floor: bool = True) -> dict:
    return {"m1": cand("m1", m1), "m2": cand("m2", m2, m2_floor)}


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
    misroutes = register_models(client, TRACKING, runs, metrics(0.70, 0.99, m2_floor=False))
    assert not misroutes["promoted"] and misroutes["best_milestone"] == "m1"
    assert misroutes["champion_version"] == better["champion_version"]


def test_an_empty_registry_gets_a_champion_tagged_below_the_floor(runs) -> None:
    client = MlflowClient()
    below = {"m1": cand("m1", 0.8, floor=False), "m2": cand("m2", 0.9, floor=False)}
    first = register_models(client, TRACKING, runs, below)
    assert first["promoted"] and first["champion_milestone"] == "m2"
    assert first["champion_below_behaviour_floor"]
    version = client.get_model_version_by_alias("router-test", "champion")
    assert version.tags["behaviour_floor_passed"] == "false"
    passing = register_models(client, TRACKING, runs, metrics(0.8, 0.85))
    assert passing["promoted"] and not passing["champion_below_behaviour_floor"]


def test_the_register_stage_never_reads_test_metrics(tmp_path, runs, monkeypatch) -> None:
    """Validation says m1, the test metrics on disk say m2: m1 wins."""
    import json

    import yaml

    from pipelines import register as stage

    monkeypatch.chdir(tmp_path)
    params = {
        "milestones": ["m1", "m2"],
        "paths": {"models": "models", "reports": "reports"},
        "behaviour": {"floor_mft": 0.9},
        "register": {"margin": 0.005},
        "tracking": {**TRACKING, "tracking_uri": mlflow.get_tracking_uri(), "experiment": "t"},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for m, val in (("m1", 0.9), ("m2", 0.8)):
        (tmp_path / "models" / m).mkdir(parents=True)
        run = {**runs[m], "labels": "three_way", "val_metrics": {"macro_f1": val}}
        (tmp_path / "models" / m / "run.json").write_text(json.dumps(run))
        (tmp_path / "reports" / "behaviour").mkdir(parents=True, exist_ok=True)
        beh = {"dev": {"mft_en": 1.0, "mft_de": 1.0}, "holdout": {"mft_en": 0.0, "mft_de": 0.0}}
        (tmp_path / "reports" / "behaviour" / f"{m}.json").write_text(json.dumps(beh))
        test = {"macro_f1": 1.0 - val, "labels": "three_way"}  # test ranks m2 first
        (tmp_path / "reports" / "metrics").mkdir(parents=True, exist_ok=True)
        (tmp_path / "reports" / "metrics" / f"{m}.json").write_text(json.dumps(test))
    assert stage.main() == 0
    decision = json.loads((tmp_path / "reports" / "register.json").read_text())
    assert decision["champion_milestone"] == "m1"
    assert decision["best_val_macro_f1"] == 0.9


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
    assert list(frame.columns) == ["category", "confidence", "urgency_score", "familiar", "model"]
    assert len(frame) == len(tiny_splits["test"].frame)


def test_batch_cli_rejects_a_file_without_body(tmp_path, capsys) -> None:
    from smart_support.predict import main

    source = tmp_path / "in.csv"
    source.write_text("subject\nhello\n")
    assert main(["--input", str(source), "--output", str(tmp_path / "o.csv")]) == 2
    assert "body" in capsys.readouterr().err

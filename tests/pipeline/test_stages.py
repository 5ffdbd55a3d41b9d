"""The thin stage scripts on a small synthetic file: outputs, reports and clear failures."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from smart_support.config import compose_config, to_dict

ROOT = Path(__file__).resolve().parents[2]


def stage(name: str):
    spec = importlib.util.spec_from_file_location(
        f"stage_{name}", ROOT / "pipelines" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch, tickets_csv: Path) -> Path:
    monkeypatch.delenv("SMART_SUPPORT_DATA", raising=False)  # `make` sets it
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    monkeypatch.delenv("SMART_SUPPORT_STORE", raising=False)  # the service's store, if any
    monkeypatch.delenv("SMART_SUPPORT_STORE_URL", raising=False)
    cfg = to_dict(compose_config([f"data.source={tickets_csv}"]))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_smart_support_data_overrides_the_configured_source(
    workdir: Path, monkeypatch, tickets_csv: Path
) -> None:
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["data"]["source"] = "nobody/no-such-dataset-offline"
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.setenv("SMART_SUPPORT_DATA", str(tickets_csv))
    assert stage("download")() == 0
    report = json.loads((workdir / "reports/download.json").read_text())
    assert report["rows"] == 240
    assert report["source"] == "SMART_SUPPORT_DATA: tickets.csv"  # no machine's path


@pytest.fixture
def composed(tmp_path: Path, monkeypatch) -> Path:
    """A checkout whose params.yaml is what its conf/ composes."""
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    cfg = to_dict(compose_config(conf_dir=tmp_path / "conf"))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit_conf(root: Path) -> None:
    tune = root / "conf" / "tune" / "default.yaml"
    tune.write_text(tune.read_text().replace("n_trials: 6", "n_trials: 9"))


def test_check_config_passes_when_params_yaml_is_what_conf_composes(composed: Path) -> None:
    assert stage("check_config")() == 0
    assert (composed / "reports" / "config.json").exists()


def test_an_edit_in_conf_stops_plain_dvc_repro_with_the_fix(composed: Path, capsys) -> None:
    edit_conf(composed)
    assert stage("check_config")() == 1
    err = capsys.readouterr().err
    assert "tune.n_trials" in err and "dvc exp run" in err


def test_dvc_exp_run_may_override_conf(composed: Path, monkeypatch) -> None:
    edit_conf(composed)  # as `-S tune.n_trials=...` leaves params.yaml apart from conf/
    monkeypatch.setenv("DVC_EXP_NAME", "exp-1")
    assert stage("check_config")() == 0


def test_download_then_prepare_write_data_and_reports(workdir: Path) -> None:
    assert stage("download")() == 0
    assert json.loads((workdir / "reports/download.json").read_text())["rows"] == 240
    assert stage("export_feedback")() == 0  # no store here: an empty dataset
    assert stage("prepare")() == 0
    report = json.loads((workdir / "reports/prepare.json").read_text())
    assert sum(report["rows"].values()) == 240
    assert {p.name for p in (workdir / "data/prepared").iterdir()} == {
        "train.parquet",
        "val.parquet",
        "test.parquet",
    }


def test_download_names_a_missing_source(workdir: Path, capsys) -> None:
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["data"]["source"] = str(workdir / "nowhere.csv")
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    assert stage("download")() == 1
    assert "nowhere.csv does not exist" in capsys.readouterr().err


def test_prepare_names_the_bad_file_and_the_missing_column(workdir: Path, capsys, tickets) -> None:
    raw = workdir / "data/raw/tickets.parquet"
    raw.parent.mkdir(parents=True)
    tickets.drop(columns=["queue"]).to_parquet(raw)
    assert stage("export_feedback")() == 0
    assert stage("prepare")() == 1
    err = capsys.readouterr().err
    assert "data/raw/tickets.parquet" in err and "queue" in err


def store_with_a_correction(path: Path) -> None:
    import numpy as np

    from smart_support.serving.records import NewTicket
    from smart_support.serving.store import StateStore
    from tests.fakes import FakeClock
    from tests.helpers import served_dedup

    store = StateStore.open(f"sqlite:///{path}", FakeClock(), dedup=served_dedup())
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    body = "The parking permit sticker for garage level 3 peeled off, please send one."
    new = NewTicket("t1", "Parking permit", "Billing", 0.4, True, 0.2, "m1", "en", vector, body)
    store.ledger.record_routing([new])
    store.corrections.correct("t1", "Legal", "low", "agent")
    store.close()


def test_export_feedback_writes_the_same_bytes_until_a_correction_changes(
    workdir: Path, monkeypatch
) -> None:
    monkeypatch.delenv("SMART_SUPPORT_STORE_URL", raising=False)
    monkeypatch.setenv("SMART_SUPPORT_STORE", str(workdir / "state.db"))
    out = workdir / "data/feedback/corrections.parquet"
    assert stage("export_feedback")() == 0
    empty = out.read_bytes()
    assert len(pd.read_parquet(out)) == 0
    store_with_a_correction(workdir / "state.db")
    assert stage("export_feedback")() == 0
    first = out.read_bytes()
    assert stage("export_feedback")() == 0
    assert out.read_bytes() == first != empty
    assert json.loads((workdir / "reports/export_feedback.json").read_text())["rows"] == 1


def test_prepare_merges_the_exported_corrections_into_train_only(
    workdir: Path, monkeypatch
) -> None:
    monkeypatch.setenv("SMART_SUPPORT_STORE", str(workdir / "state.db"))
    store_with_a_correction(workdir / "state.db")
    assert stage("download")() == 0
    assert stage("export_feedback")() == 0
    assert stage("prepare")() == 0
    parts = {n: pd.read_parquet(workdir / f"data/prepared/{n}.parquet") for n in ("train", "val")}
    added = parts["train"][parts["train"]["source"] == "feedback"]
    assert added[["category", "priority", "ticket_id"]].values.tolist() == [["Legal", "low", "t1"]]
    assert (parts["val"]["source"] == "data").all()
    report = json.loads((workdir / "reports/prepare.json").read_text())
    assert report["feedback"]["added"] == 1


def test_prepare_names_a_missing_feedback_export(workdir: Path, capsys) -> None:
    assert stage("download")() == 0
    assert stage("prepare")() == 1
    assert "corrections.parquet does not exist" in capsys.readouterr().err


def test_drift_reference_saves_the_champions_reference_on_validation(
    workdir: Path, tiny_splits, monkeypatch
) -> None:
    from tests.serving.tiny_models import import_tiny_models

    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params["tracking"]["tracking_uri"] = f"sqlite:///{workdir / 'mlflow.db'}"
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    with monkeypatch.context() as inside:
        inside.chdir(ROOT)  # conf/ is composed from the checkout
        import_tiny_models(params["tracking"], tiny_splits)  # M2 @champion
    assert stage("download")() == 0 and stage("export_feedback")() == 0
    assert stage("prepare")() == 0
    (workdir / "reports/register.json").write_text(json.dumps({"champion": "m2"}))
    assert stage("drift_reference")() == 0
    saved = json.loads((workdir / params["serve"]["drift"]["reference"]).read_text())
    val_rows = json.loads((workdir / "reports/prepare.json").read_text())["rows"]["val"]
    assert saved["tickets"] == val_rows
    assert saved["source"]["model"] == "m2" and saved["source"]["split"] == "val"
    assert len(saved["embedding"]["centroid"]) == 384
    report = json.loads((workdir / "reports/drift_reference.json").read_text())
    assert set(report["category"]) <= {"Billing", "Legal", "Technical"}


def test_dedup_reference_embeds_the_train_split_with_the_served_encoder(workdir: Path) -> None:
    assert stage("download")() == 0 and stage("export_feedback")() == 0
    assert stage("prepare")() == 0
    assert stage("dedup_reference")() == 0
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    vectors = np.load(workdir / params["serve"]["dedup"]["reference"])
    train_rows = json.loads((workdir / "reports/prepare.json").read_text())["rows"]["train"]
    assert vectors.shape == (train_rows, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    report = json.loads((workdir / "reports/dedup_reference.json").read_text())
    assert report["encoder"]["backend"] == params["serve"]["dedup"]["backend"]

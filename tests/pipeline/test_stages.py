"""The thin stage scripts on a small synthetic file: outputs, reports and clear failures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

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
    cfg = to_dict(compose_config([f"data.source={tickets_csv}"]))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_download_then_prepare_write_data_and_reports(workdir: Path) -> None:
    assert stage("download")() == 0
    assert json.loads((workdir / "reports/download.json").read_text())["rows"] == 240
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
    assert stage("prepare")() == 1
    err = capsys.readouterr().err
    assert "data/raw/tickets.parquet" in err and "queue" in err

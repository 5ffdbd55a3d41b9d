"""Every option of every config group composes, and its `_target_`s build."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from smart_support.config import compose_config, params_drift, publish_report, to_dict
from smart_support.models.builders import build_model

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"
GROUPS = ["data", "labels", "features", "tune", "tracking", "serve"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_every_group_option_composes(group: str, option: str) -> None:
    import yaml

    cfg = to_dict(compose_config([f"{group}={option}"])[group])
    written = yaml.safe_load((CONF / group / f"{option}.yaml").read_text()) or {}
    written.pop("defaults", None)  # Hydra's own key: composed away
    # every key of the option file reaches the composed config (values may be interpolated)
    assert written and set(written) <= set(cfg)
    for key, value in written.items():
        if "${" not in yaml.safe_dump(value):  # interpolated values differ by design
            assert cfg[key] == value, key


@pytest.mark.parametrize("option", options("model"))
@pytest.mark.parametrize("slot", ["m1", "m2", "m3"])
def test_every_model_option_composes_and_builds(slot: str, option: str) -> None:
    cfg = compose_config([f"model@models.{slot}={option}"])
    model = build_model(to_dict(cfg.models[slot]), seed=0)
    assert model.name == cfg.models[slot].name


def test_value_overrides_reach_the_composed_config() -> None:
    cfg = compose_config(["tune.n_trials=200", "models.m1.C=3"])
    assert cfg.tune.n_trials == 200 and cfg.models.m1.C == 3


def test_the_data_source_is_the_hub_id_whatever_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("SMART_SUPPORT_DATA", "/tmp/tickets.csv")
    assert compose_config().data.source == "Tobi-Bueck/customer-support-tickets"


def test_the_committed_params_yaml_is_what_conf_composes() -> None:
    assert params_drift(ROOT / "params.yaml", CONF) == []


def machine_paths(tree: Any) -> list[str]:
    """String values that look like a path on one machine (absolute, home or parent dir)."""
    if isinstance(tree, dict):
        return [p for value in tree.values() for p in machine_paths(value)]
    if isinstance(tree, list):
        return [p for value in tree for p in machine_paths(value)]
    text = str(tree)
    return [text] if text.startswith(("/", "~", "../")) or "/../" in text else []


@pytest.mark.parametrize("name", ["params.yaml", "dvc.lock"])
def test_committed_pipeline_files_name_no_machine_path(name: str) -> None:
    assert machine_paths(yaml.safe_load((ROOT / name).read_text())) == []


def test_an_edit_in_conf_is_reported_by_its_key(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(to_dict(compose_config(conf_dir=conf))))
    assert params_drift(params, conf) == []
    tune = conf / "tune" / "default.yaml"
    tune.write_text(tune.read_text().replace("n_trials: 6", "n_trials: 7"))
    assert params_drift(params, conf) == ["tune.n_trials"]


def test_the_champions_prior_reads_the_vectors_dedup_computes() -> None:
    """conf/serve's dedup encoder and M2's prior encoder are one (model, length, backend), so
    the service embeds each ticket once (serving/model_router.same_encoder)."""
    from smart_support.features.embeddings import dedup_encoder_model
    from smart_support.serving.settings import ServeSettings

    cfg = compose_config()
    prior = to_dict(cfg.models.m2.prototypes.embedding)
    dedup = ServeSettings.from_config(cfg.serve).dedup
    assert cfg.models.m2.prototypes.weight > 0
    served = (dedup_encoder_model(dedup.finetuned), dedup.max_seq_length, dedup.backend)
    assert (prior["model"], prior["max_seq_length"], prior["backend"]) == served


def test_a_stage_report_is_written_under_its_name_and_printed(tmp_path: Path, capsys) -> None:
    publish_report(tmp_path / "reports", "package", {"bento": "smart-support:abc", "models": 2})
    written = json.loads((tmp_path / "reports" / "package.json").read_text())
    assert written == {"bento": "smart-support:abc", "models": 2}
    assert json.loads(capsys.readouterr().out) == written

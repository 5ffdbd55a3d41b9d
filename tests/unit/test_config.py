"""Every option of every config group composes, and its `_target_`s build."""

from pathlib import Path

import pytest

from smart_support.config import compose_config, to_dict
from smart_support.models.builders import build_model

CONF = Path(__file__).resolve().parents[2] / "conf"
GROUPS = ["data", "labels", "features", "tune", "tracking", "serve"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in GROUPS for o in options(g)])
def test_every_group_option_composes(group: str, option: str) -> None:
    import yaml

    cfg = to_dict(compose_config([f"{group}={option}"])[group])
    written = yaml.safe_load((CONF / group / f"{option}.yaml").read_text()) or {}
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


def test_data_source_defaults_to_the_hub_without_the_env_var(monkeypatch) -> None:
    monkeypatch.delenv("SMART_SUPPORT_DATA", raising=False)
    assert compose_config().data.source == "Tobi-Bueck/customer-support-tickets"


def test_data_source_env_var_points_at_a_local_file(monkeypatch) -> None:
    monkeypatch.setenv("SMART_SUPPORT_DATA", "/tmp/tickets.csv")
    assert compose_config().data.source == "/tmp/tickets.csv"

"""Read the composed configuration (params.yaml) and write stage reports."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

PARAMS_FILE = "params.yaml"
CONF_DIR = "conf"


def load_params(path: str | Path = PARAMS_FILE) -> DictConfig:
    """The parameters DVC composed from conf/ (stages never use @hydra.main)."""
    cfg = OmegaConf.load(path)
    assert isinstance(cfg, DictConfig)
    return cfg


def compose_config(
    overrides: list[str] | None = None, conf_dir: str | Path = CONF_DIR
) -> DictConfig:
    """Compose conf/ directly with Hydra, as DVC does for params.yaml (tests, notebooks)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(Path(conf_dir).resolve()), version_base=None):
        cfg = compose(config_name="config", overrides=overrides or [])
    OmegaConf.resolve(cfg)
    return cfg


def differing_keys(left: Any, right: Any, prefix: str = "") -> list[str]:
    """Dotted keys at which two config trees differ (added, removed or changed values)."""
    if not (isinstance(left, Mapping) and isinstance(right, Mapping)):
        return [] if left == right else [prefix or "<root>"]
    keys = sorted(set(left) | set(right), key=str)
    return [
        key
        for name in keys
        for key in differing_keys(left.get(name), right.get(name), f"{prefix}{name}.")
    ]


def params_drift(params: str | Path = PARAMS_FILE, conf_dir: str | Path = CONF_DIR) -> list[str]:
    """Keys at which `params` differs from what conf/ composes now (empty: in sync)."""
    written = yaml.safe_load(Path(params).read_text())
    keys = differing_keys(written, to_dict(compose_config(conf_dir=conf_dir)))
    return [key.removesuffix(".") for key in keys]


def to_dict(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        value = OmegaConf.to_container(cfg, resolve=True)
        assert isinstance(value, dict)
        return {str(key): item for key, item in value.items()}
    return dict(cfg)


def write_json(path: str | Path, payload: Any) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def publish_report(reports: str | Path, name: str, payload: Any) -> None:
    """A stage's summary: written to `<reports>/<name>.json` and printed for the log."""
    write_json(Path(reports) / f"{name}.json", payload)
    print(json.dumps(payload, indent=2, default=str))


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

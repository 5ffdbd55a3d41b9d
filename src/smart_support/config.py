"""Read the composed configuration (params.yaml) and write stage reports."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

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


def to_dict(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        value = OmegaConf.to_container(cfg, resolve=True)
        assert isinstance(value, dict)
        return value
    return dict(cfg)


def write_json(path: str | Path, payload: Any) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

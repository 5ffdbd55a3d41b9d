"""Small real models trained in fixtures (no mocks of model output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smart_support.config import compose_config, to_dict
from smart_support.data.prepare import prepare_tickets
from smart_support.data.sources import load_tickets
from smart_support.models.training import SplitData, train_milestone
from tests.conftest import make_tickets


def splits_from(raw: Any, labels: str = "three_way") -> dict[str, SplitData]:
    cfg = compose_config([f"labels={labels}"])
    frames, _ = prepare_tickets(raw, to_dict(cfg.data), to_dict(cfg.labels), 42)
    return {name: SplitData(frame) for name, frame in frames.items()}


def with_embeddings(split: SplitData) -> SplitData:
    from smart_support.features.embeddings import shared_embedder

    return SplitData(split.frame, shared_embedder("packaged:all-MiniLM-L6-v2", 128).encode(split.texts))


def fit(option: str, splits: dict[str, SplitData], slot: str = "m1", **overrides: Any):
    cfg = compose_config([f"model@models.{slot}={option}", "tune.n_trials=0"])
    params = to_dict(cfg)
    model_cfg = {**params["models"][slot], **overrides}
    return train_milestone(
        model_cfg, params["tune"], "three_way", splits["train"], splits["val"], 42, params["urgency_alert"]
    ).model


@pytest.fixture(scope="session")
def tiny_splits() -> dict[str, SplitData]:
    return splits_from(make_tickets(240))


@pytest.fixture(scope="session")
def tiny_m2(tiny_splits):
    return fit("m2", tiny_splits, slot="m2")


@pytest.fixture(scope="session")
def real_m2(request) -> Any:
    """M2 trained on the shared real sample (default hyper-parameters, seconds)."""
    real = request.getfixturevalue("real_sample")
    return fit("m2", splits_from(load_tickets(str(real))), slot="m2")


@pytest.fixture
def texts() -> list[str]:
    return ["Invoice 123 was charged twice, please refund", "Server down after update, error 500"]


def assert_valid_prediction(model, texts: list[str], embeddings: np.ndarray | None = None) -> None:
    prediction = model.predict(texts, embeddings)
    assert len(prediction.categories) == len(texts)
    assert set(prediction.categories) <= set(model.labels)
    assert np.all((prediction.confidences > 0) & (prediction.confidences <= 1))
    assert np.all((prediction.urgency >= 0) & (prediction.urgency <= 1))
    assert np.allclose(prediction.probabilities.sum(axis=1), 1.0)


ROOT = Path(__file__).resolve().parents[2]

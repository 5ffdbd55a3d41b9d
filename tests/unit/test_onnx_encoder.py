"""The ONNX Runtime encoder gives the sentence-transformers vectors (float32) or close to them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from smart_support.features import onnx_encoder
from smart_support.features.embeddings import PACKAGED_MODEL, shared_embedder

TEXTS = [
    "Invoice charged twice",
    "Unser Produktionsserver ist seit 10 Minuten nicht erreichbar, bitte sofort melden!",
    "",
    "VPN drops every few minutes since the update. " * 20,  # longer than max_seq_length
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return shared_embedder(PACKAGED_MODEL, 64, "torch").encode(TEXTS)


@pytest.mark.parametrize(("backend", "min_cosine"), [("onnx", 0.9999), ("onnx-int8", 0.97)])
def test_onnx_vectors_match_sentence_transformers(torch_vectors, backend, min_cosine) -> None:
    vectors = shared_embedder(PACKAGED_MODEL, 64, backend, 1).encode(TEXTS)
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(vectors * torch_vectors, axis=1)) >= min_cosine


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])  # float32 batches pad, int8 not
def test_padding_in_a_batch_does_not_change_a_vector(backend) -> None:
    embedder = shared_embedder(PACKAGED_MODEL, 64, backend, 1)
    batched = embedder.encode(TEXTS)
    alone = np.vstack([embedder.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(batched, alone, atol=1e-4)


def test_long_bodies_are_cut_before_tokenizing_without_changing_the_vector() -> None:
    embedder = shared_embedder(PACKAGED_MODEL, 32, "onnx", 1)
    text = "Der Server antwortet nicht mehr, bitte dringend prüfen. " * 400  # ~22,000 chars
    full = embedder._tokenizer.encode(text).ids  # truncated by the tokenizer itself
    assert embedder._tokenizer.encode(text[: embedder._max_chars]).ids == full
    assert embedder.encode([text]).shape == (1, embedder.dimension)


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend 'tensorrt'"):
        shared_embedder(PACKAGED_MODEL, 64, "tensorrt")


def test_only_mean_pooling_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    with pytest.raises(ValueError, match="mean pooling only.*pooling_mode_cls_token"):
        onnx_encoder.check_mean_pooling(tmp_path)


def test_export_is_cached_per_model_and_precision(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(onnx_encoder.ENV_CACHE, str(tmp_path / "cache"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights")
    calls: list[bool] = []

    def fake_export(model_dir: Path, out: Path, quantize: bool) -> Path:
        calls.append(quantize)
        (out / "model.onnx").write_bytes(b"onnx")
        return out / "model.onnx"

    monkeypatch.setattr(onnx_encoder, "export_onnx", fake_export)
    first = onnx_encoder.cached_export(model, quantize=True)
    assert onnx_encoder.cached_export(model, quantize=True) == first
    assert calls == [True]
    other = onnx_encoder.cached_export(model, quantize=False)
    assert other != first and calls == [True, False]
    (model / "model.safetensors").write_bytes(b"new weights")  # retrained: exported again
    assert onnx_encoder.cached_export(model, quantize=True) != first
    assert not list((tmp_path / "cache" / "onnx").glob(".export-*"))  # no temp dirs left


def test_parallel_runs_give_the_same_vectors() -> None:
    one = shared_embedder(PACKAGED_MODEL, 64, "onnx-int8", 1, 1).encode(TEXTS * 3)
    two = shared_embedder(PACKAGED_MODEL, 64, "onnx-int8", 1, 2).encode(TEXTS * 3)
    np.testing.assert_allclose(two, one, rtol=0, atol=1e-6)


def test_dedup_encoder_is_the_fine_tuned_one_once_built(tmp_path) -> None:
    from smart_support.features.embeddings import dedup_encoder_model

    assert dedup_encoder_model("models/encoder", tmp_path) == PACKAGED_MODEL  # not built yet
    assert dedup_encoder_model(None, tmp_path) == PACKAGED_MODEL
    (tmp_path / "models" / "encoder").mkdir(parents=True)
    (tmp_path / "models" / "encoder" / "config.json").write_text("{}")
    assert dedup_encoder_model("models/encoder", tmp_path) == str(tmp_path / "models" / "encoder")


@pytest.mark.parametrize(
    ("pooling", "ok"),
    [
        ({"pooling_mode": "mean"}, True),  # sentence-transformers 6
        ({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, True),
        ({"pooling_mode": "cls"}, False),
    ],
)
def test_only_mean_pooled_models_are_exported(tmp_path, pooling, ok) -> None:

    from smart_support.features.onnx_encoder import check_mean_pooling

    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    if ok:
        check_mean_pooling(tmp_path)
    else:
        with pytest.raises(ValueError, match="mean pooling"):
            check_mean_pooling(tmp_path)

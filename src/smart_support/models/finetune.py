"""M3 option: fine-tune a transformer classifier end to end with transformers' Trainer."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from smart_support.features.embeddings import resolve_model_path


class FineTunedClassifier:
    """sklearn-style fit/predict_proba over texts; pickles its weights, not a path."""

    def __init__(
        self,
        base_model: str,
        max_length: int = 128,
        epochs: float = 1.0,
        learning_rate: float = 5e-5,
        batch_size: int = 16,
        max_train_samples: int | None = None,
        seed: int = 42,
    ) -> None:
        self.base_model = base_model
        self.max_length = max_length
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_train_samples = max_train_samples
        self.seed = seed
        self.classes_: np.ndarray = np.array([])
        self._model: Any = None
        self._tokenizer: Any = None

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        keys = ("base_model", "max_length", "epochs", "learning_rate", "batch_size", "seed")
        return {k: getattr(self, k) for k in keys}

    def set_params(self, **params: Any) -> FineTunedClassifier:
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit(self, texts: Sequence[str], y: Sequence[str]) -> FineTunedClassifier:
        import torch
        from transformers import (
            AutoModelForSequenceClassification,
            AutoTokenizer,
            Trainer,
            TrainingArguments,
        )

        torch.manual_seed(self.seed)
        texts, labels = list(texts), np.asarray(y)
        if self.max_train_samples:
            rng = np.random.default_rng(self.seed)
            keep = rng.permutation(len(texts))[: self.max_train_samples]
            texts, labels = [texts[i] for i in keep.tolist()], labels[keep]
        self.classes_ = np.unique(labels)
        index = {c: i for i, c in enumerate(self.classes_)}
        path = resolve_model_path(self.base_model)
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(self.classes_)
        )
        encoded = self._tokenizer(texts, truncation=True, max_length=self.max_length)
        rows = [
            {"input_ids": ids, "attention_mask": mask, "labels": index[label]}
            for ids, mask, label in zip(
                encoded["input_ids"], encoded["attention_mask"], labels, strict=True
            )
        ]
        with tempfile.TemporaryDirectory() as out:
            args = TrainingArguments(
                output_dir=out,
                num_train_epochs=self.epochs,
                learning_rate=self.learning_rate,
                per_device_train_batch_size=self.batch_size,
                save_strategy="no",
                report_to=[],
                seed=self.seed,
                logging_steps=50,
                disable_tqdm=True,
            )
            from transformers import DataCollatorWithPadding

            trainer = Trainer(
                model=self._model,
                args=args,
                train_dataset=rows,
                data_collator=DataCollatorWithPadding(self._tokenizer),
            )
            trainer.train()
        self._model.eval()
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), 32):
                batch = self._tokenizer(
                    list(texts[start : start + 32]),
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                out.append(torch.softmax(self._model(**batch).logits, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)))

    def __getstate__(self) -> dict[str, Any]:
        import torch

        state = self.__dict__.copy()
        if self._model is not None:
            buffer = io.BytesIO()
            torch.save(self._model.state_dict(), buffer)
            state["_model"] = buffer.getvalue()
        state["_tokenizer"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.__dict__.update(state)
        if isinstance(self._model, bytes):
            path = resolve_model_path(self.base_model)
            model = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=len(self.classes_)
            )
            model.load_state_dict(torch.load(io.BytesIO(self._model), weights_only=True))
            self._model = model.eval()
            self._tokenizer = AutoTokenizer.from_pretrained(path)

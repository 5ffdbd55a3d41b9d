"""What the classifier service sends the front: classifications with their embeddings as base64
float32 (a JSON float list is ~3x larger and slow to build and parse: 384 floats per ticket,
100 tickets per batch)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from smart_support.serving.model_router import Classified


def pack(vector: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(vector, dtype="<f4").tobytes()).decode("ascii")


def unpack(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)


def to_wire(classified: Classified) -> dict[str, Any]:
    """One classification as the classifier service returns it (JSON, vector packed)."""
    return {
        "category": classified.category,
        "confidence": classified.confidence,
        "urgency": classified.urgency,
        "model_used": classified.model_used,
        "embedding": pack(classified.embedding),
        "language": classified.language,
        "model_version": classified.model_version,
        "familiar": classified.familiar,
    }


def from_wire(row: dict[str, Any]) -> Classified:
    """The inverse of `to_wire`, in the front service."""
    return Classified(
        category=row["category"],
        confidence=float(row["confidence"]),
        urgency=float(row["urgency"]),
        model_used=row["model_used"],
        embedding=unpack(row["embedding"]),
        language=row["language"],
        model_version=str(row.get("model_version", "")),
        familiar=bool(row.get("familiar", True)),
    )

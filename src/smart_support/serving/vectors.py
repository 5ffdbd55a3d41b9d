"""Embeddings between the two services as base64 float32 (a JSON float list is ~3x larger and
slow to build and parse: 384 floats per ticket, 100 tickets per batch)."""

from __future__ import annotations

import base64

import numpy as np


def pack(vector: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(vector, dtype="<f4").tobytes()).decode("ascii")


def unpack(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)

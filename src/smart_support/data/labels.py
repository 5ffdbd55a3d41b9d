"""Map raw queues to category labels and priorities to urgency targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


def queue_to_category(queue: str, cfg: Mapping[str, Any]) -> str | None:
    """The category of one queue under a label set; None means excluded."""
    for category, queues in (cfg.get("queues") or {}).items():
        if queue in queues:
            return str(category)
    for category, prefixes in (cfg.get("prefixes") or {}).items():
        if any(queue.startswith(p) for p in prefixes):
            return str(category)
    other = cfg.get("other")
    return None if other is None else str(other)


def assign_categories(queues: pd.Series, cfg: Mapping[str, Any]) -> pd.Series:
    """Category per ticket (NA = excluded from the category task)."""
    if cfg.get("name") == "queue":
        counts = queues.value_counts()
        frequent = set(counts[counts >= int(cfg.get("min_examples", 0))].index)
        return queues.where(queues.isin(frequent)).astype("string")
    return queues.map(lambda q: queue_to_category(q, cfg)).astype("string")


def urgency_target(priorities: pd.Series, scale: Mapping[str, float]) -> pd.Series:
    return priorities.map(lambda p: float(scale[p])).astype(float)


def label_classes(categories: pd.Series, configured: Sequence[str] | None) -> list[str]:
    if configured:
        return [str(c) for c in configured]
    return sorted(categories.dropna().unique().tolist())

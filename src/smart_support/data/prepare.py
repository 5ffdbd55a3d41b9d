"""The prepare step as one function: validate → label → clean → dedup → split, then agents'
corrections (data/feedback.py) into train only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from smart_support.data.feedback import empty_corrections, merge_feedback
from smart_support.data.labels import assign_categories, label_classes, urgency_target
from smart_support.data.split import add_text, drop_exact_duplicates, stratified_split
from smart_support.data.validation import validate_tickets

COLUMNS = ["text", "subject", "body", "category", "urgency", "priority", "language", "queue"]


def prepare_tickets(
    raw: pd.DataFrame, data_cfg: Mapping[str, Any], labels_cfg: Mapping[str, Any], seed: int,
    source: str = "data",
    feedback: pd.DataFrame | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Return the train/val/test frames and the stage report. `feedback`: exported
    corrections to add to train (None: left out, `data.feedback.include: false`)."""
    valid, validation = validate_tickets(
        raw,
        data_cfg["required_columns"],
        data_cfg["priorities"],
        int(data_cfg.get("min_text_chars", 3)),
        source=source,
    )
    frame = add_text(valid)
    frame, duplicates = drop_exact_duplicates(frame)
    frame["category"] = assign_categories(frame["queue"], labels_cfg)
    classes = label_classes(frame["category"], labels_cfg.get("classes"))
    frame.loc[~frame["category"].isin(classes), "category"] = pd.NA
    frame["urgency"] = urgency_target(frame["priority"], labels_cfg["urgency"])
    split_cfg = data_cfg["split"]
    splits = stratified_split(frame[COLUMNS], split_cfg["test_size"], split_cfg["val_size"], seed)
    corrected = empty_corrections() if feedback is None else feedback
    splits, merged = merge_feedback(splits, corrected, classes, labels_cfg["urgency"])
    report = {
        "validation": validation.as_dict(),
        "exact_duplicates_dropped": duplicates,
        "labels": labels_cfg["name"],
        "classes": classes,
        "excluded_from_category": int(frame["category"].isna().sum()),
        "excluded_queues": frame.loc[frame["category"].isna(), "queue"].value_counts().head(20).to_dict(),
        "rows": {name: len(part) for name, part in splits.items()},
        "per_label": {
            name: part["category"].fillna("excluded").value_counts().to_dict()
            for name, part in splits.items()
        },
        "per_language": frame["language"].value_counts().to_dict(),
        "feedback": {"included": feedback is not None, **merged},
    }
    return splits, report

"""Corrections merged into the training data: train only, with provenance, never a leak."""

from __future__ import annotations

import pandas as pd
import pytest

from smart_support.config import compose_config, to_dict
from smart_support.data.feedback import (
    SCHEMA,
    empty_corrections,
    merge_feedback,
    training_subject,
)
from smart_support.data.prepare import prepare_tickets

URGENCY = {"critical": 1.0, "high": 0.75, "medium": 0.5, "low": 0.25, "very_low": 0.0}
CLASSES = ["Billing", "Legal", "Technical"]


def corrections(*rows: dict) -> pd.DataFrame:
    base = {
        "ticket_id": "t", "subject": "", "body": "", "language": "en", "category": "Legal",
        "urgency_level": None, "predicted_category": "Billing", "model_used": "m2",
        "model_version": "3", "created_at": 1.0, "corrected_at": 2.0,
    }  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows], columns=list(SCHEMA)).astype(SCHEMA)


@pytest.fixture
def splits(tickets: pd.DataFrame) -> dict[str, pd.DataFrame]:
    cfg = compose_config()
    frames, _ = prepare_tickets(tickets, to_dict(cfg.data), to_dict(cfg.labels), 42)
    return frames


def test_corrections_go_to_train_only_with_their_provenance(splits) -> None:
    feedback = corrections(
        {"ticket_id": "t1", "subject": "Parking", "body": "Sticker gone", "urgency_level": "high"},
        {"ticket_id": "t2", "body": "Another new text", "category": "Technical"},
    )
    merged, report = merge_feedback(splits, feedback, CLASSES, URGENCY)
    added = merged["train"][merged["train"]["source"] == "feedback"]
    assert added["ticket_id"].tolist() == ["t1", "t2"]
    assert added["category"].tolist() == ["Legal", "Technical"]
    assert added["urgency"].tolist()[0] == 0.75 and pd.isna(added["urgency"].tolist()[1])
    assert added["model_version"].tolist() == ["3", "3"]
    for name in ("val", "test"):
        assert len(merged[name]) == len(splits[name])
        assert (merged[name]["source"] == "data").all()
    assert report["added"] == 2


def test_a_corrected_ticket_already_in_val_or_test_is_left_out(splits) -> None:
    held_out = splits["test"].iloc[0]
    feedback = corrections({"subject": held_out["subject"], "body": held_out["body"]})
    merged, report = merge_feedback(splits, feedback, CLASSES, URGENCY)
    assert (merged["train"]["source"] == "data").all()
    assert report["skipped_in_val_or_test"] == 1


def test_a_corrected_ticket_already_in_train_replaces_that_row(splits) -> None:
    row = splits["train"].dropna(subset=["category"]).iloc[0]
    other = next(c for c in CLASSES if c != row["category"])
    feedback = corrections({"subject": row["subject"], "body": row["body"], "category": other})
    merged, report = merge_feedback(splits, feedback, CLASSES, URGENCY)
    same = merged["train"][merged["train"]["text"] == row["text"]]
    assert same["category"].tolist() == [other] and same["source"].tolist() == ["feedback"]
    assert len(merged["train"]) == len(splits["train"])
    assert report["replaced_train_rows"] == 1


def test_a_category_outside_this_runs_labels_is_skipped(splits) -> None:
    feedback = corrections({"body": "A new text", "category": "Sales"})
    _, report = merge_feedback(splits, feedback, CLASSES, URGENCY)
    assert (report["added"], report["skipped_unknown_category"]) == (0, 1)


def test_no_corrections_only_mark_the_rows_as_data(splits) -> None:
    merged, report = merge_feedback(splits, empty_corrections(), CLASSES, URGENCY)
    assert report["added"] == 0
    assert {len(p) for p in merged.values()} == {len(p) for p in splits.values()}


@pytest.mark.parametrize(
    ("title", "body", "subject"),
    [
        ("Parking permit", "The sticker peeled off", "Parking permit"),
        ("The sticker peeled", "The sticker peeled off", ""),  # a title taken from the body
        ("", "The sticker", ""),
    ],
)
def test_a_title_taken_from_the_body_is_no_subject(title: str, body: str, subject: str) -> None:
    assert training_subject(title, body) == subject

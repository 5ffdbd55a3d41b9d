"""Agents' corrections as training data: exported from the serving store, merged into train.

`export_corrections` reads the latest correction of every ticket whose text the store kept
(see serving/feedback.py and migration 0004) into a frame with a fixed schema, sorted by
ticket id: an unchanged store gives a byte-identical Parquet file, so DVC runs nothing after
the export stage. An absent or unreachable store gives an empty frame with the same schema
(a fresh clone still runs the pipeline).

`merge_feedback` adds those tickets to the TRAIN split only, with `source = "feedback"` and
their provenance (ticket id, model and model version corrected, time of the correction);
rows of the dataset carry `source = "data"`. A corrected ticket whose text is also in
validation or test is left out (no leak into what the models are scored on); one whose text
is in train replaces that row (the agent's label is the newer one).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from smart_support.data.split import add_text
from smart_support.serving.database import Database, StoreUnavailable

log = logging.getLogger(__name__)

SOURCE_DATA = "data"
SOURCE_FEEDBACK = "feedback"

# The exported dataset's columns and types (pandas' nullable dtypes: empty frames keep them)
SCHEMA: dict[str, str] = {
    "ticket_id": "string",
    "subject": "string",
    "body": "string",
    "language": "string",
    "category": "string",  # the agent's category (the router's label space)
    "urgency_level": "string",  # the agent's urgency level; <NA>: not corrected
    "predicted_category": "string",
    "model_used": "string",
    "model_version": "string",
    "created_at": "float64",  # when the ticket was routed (epoch seconds)
    "corrected_at": "float64",  # when the latest correction was made
}
# Provenance kept on the merged training rows
PROVENANCE = ["ticket_id", "model_used", "model_version", "corrected_at"]

_EXPORT = sa.text(
    "SELECT c.ticket_id, t.subject, t.body, t.language, c.category, c.urgency_level, "
    "c.predicted_category, c.model_used, c.model_version, t.created_at, c.corrected_at "
    "FROM corrections c JOIN tickets t ON t.ticket_id = c.ticket_id "
    "WHERE t.body IS NOT NULL AND c.seq = "
    "(SELECT MAX(l.seq) FROM corrections l WHERE l.ticket_id = c.ticket_id) "
    "ORDER BY c.ticket_id"
)


def empty_corrections() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in SCHEMA.items()})


def export_corrections(db: Database) -> tuple[pd.DataFrame, str]:
    """The latest correction of each ticket with its text, and a note on where it came from.
    A store that is absent, unreachable or older than the corrections gives an empty frame."""
    if not db.is_postgres and not db.sqlite_path.exists():
        return empty_corrections(), f"no state store at {db.where}: no corrections exported"
    try:
        with db.snapshot() as conn:
            if not sa.inspect(conn).has_table("corrections"):
                return empty_corrections(), f"{db.where} has no corrections (schema before 0004)"
            rows = conn.execute(_EXPORT).mappings().all()
    except StoreUnavailable as exc:
        return empty_corrections(), f"{exc}: no corrections exported"
    frame = pd.DataFrame([dict(r) for r in rows], columns=list(SCHEMA))
    frame = frame.astype(SCHEMA)
    frame["subject"] = [
        training_subject(s, b) for s, b in zip(frame["subject"], frame["body"], strict=True)
    ]
    return frame.reset_index(drop=True), f"{len(frame)} corrected tickets from {db.where}"


def training_subject(title: Any, body: Any) -> str:
    """The store keeps a ticket's title: its subject, or the start of its body when it had
    none. A title that is the body's start stands for no subject (no text counted twice)."""
    title, body = str(title or ""), str(body or "")
    return "" if title and body.startswith(title) else title


def write_corrections(frame: pd.DataFrame, path: str | Path) -> None:
    """Parquet with a fixed schema and row order: the same corrections, the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = frame[list(SCHEMA)].astype(SCHEMA).sort_values("ticket_id", kind="stable")
    ordered.reset_index(drop=True).to_parquet(path, index=False)


def read_corrections(path: str | Path) -> pd.DataFrame:
    """The exported file; a missing file or column is a ValueError naming the file."""
    if not Path(path).exists():
        raise ValueError(
            f"{path} does not exist: run the export_feedback stage first "
            "(or set data.feedback.include: false)"
        )
    frame = pd.read_parquet(path)
    missing = [c for c in SCHEMA if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; re-run the export_feedback stage")
    return frame[list(SCHEMA)].astype(SCHEMA)


def merge_feedback(
    splits: Mapping[str, pd.DataFrame],
    feedback: pd.DataFrame,
    classes: list[str],
    urgency: Mapping[str, float],
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """`splits` with the corrected tickets added to train only. `classes`: the labels of this
    run (a correction outside them is skipped); `urgency`: priority -> target (a corrected
    urgency level of the same name sets the target, else it stays unknown: NaN)."""
    merged = {name: part.assign(source=SOURCE_DATA) for name, part in splits.items()}
    if feedback.empty:
        return merged, {"rows": 0, "added": 0}
    rows = add_text(feedback.assign(subject=feedback["subject"].fillna(""), body=feedback["body"].fillna("")))
    rows = rows[rows["text"].str.len() > 0]
    key = rows["text"].str.casefold()
    rows = rows[~key.duplicated(keep="last")]  # the same text corrected twice: the later one
    known = rows["category"].isin(classes)
    held_out = pd.concat([merged[n]["text"] for n in ("val", "test") if n in merged])
    leak = rows["text"].str.casefold().isin(set(held_out.str.casefold()))
    added = rows[known & ~leak]
    train = merged["train"]
    replaced = train["text"].str.casefold().isin(set(added["text"].str.casefold()))
    new = pd.DataFrame(
        {
            "text": added["text"],
            "subject": added["subject"],
            "body": added["body"],
            "category": added["category"],
            "urgency": [urgency.get(str(level), float("nan")) for level in added["urgency_level"]],
            "priority": [lvl if lvl in urgency else pd.NA for lvl in added["urgency_level"]],
            "language": added["language"],
            "queue": pd.NA,
            "source": SOURCE_FEEDBACK,
            **{c: feedback.loc[added.index, c] for c in PROVENANCE},
        }
    )
    merged["train"] = pd.concat([train[~replaced], new], ignore_index=True)
    report = {
        "rows": len(feedback),
        "added": len(new),
        "replaced_train_rows": int(replaced.sum()),
        "skipped_unknown_category": int((~known).sum()),
        "skipped_in_val_or_test": int((known & leak).sum()),
        "per_label": new["category"].value_counts().to_dict(),
    }
    return merged, report

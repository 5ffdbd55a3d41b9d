"""Schema checks on the raw tickets: what is kept, what is dropped and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from smart_support.text import clean_text


class SchemaError(ValueError):
    """The file cannot be used at all (missing columns, not tabular)."""


@dataclass
class ValidationReport:
    rows_in: int
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"rows_in": self.rows_in, "rows_kept": self.rows_kept, "dropped": self.dropped}


def validate_tickets(
    frame: pd.DataFrame,
    required_columns: Sequence[str],
    priorities: Sequence[str],
    min_text_chars: int = 3,
    source: str = "data",
) -> tuple[pd.DataFrame, ValidationReport]:
    """Keep the rows that satisfy the schema; count every dropped row by its first reason."""
    missing = [c for c in required_columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{source}: missing required column(s) {', '.join(missing)}; "
            f"found {', '.join(map(str, frame.columns[:12])) or 'no columns'}"
        )
    report = ValidationReport(rows_in=len(frame))
    data = frame.copy()
    for column in ("subject", "body"):
        data[column] = data[column].map(clean_text) if column in data else ""
    data["priority"] = data["priority"].astype("string").str.strip().str.lower()
    data["language"] = data["language"].astype("string").str.strip().str.lower()
    data["queue"] = data["queue"].astype("string").str.strip()

    text_len = data["subject"].str.len() + data["body"].str.len()
    checks = [
        ("empty_text", text_len < min_text_chars),
        ("missing_queue", data["queue"].isna() | (data["queue"] == "")),
        ("bad_priority", ~data["priority"].isin(list(priorities)).fillna(False)),
        ("bad_language", ~data["language"].str.fullmatch(r"[a-z]{2}").fillna(False).astype(bool)),
    ]
    keep = pd.Series(True, index=data.index)
    for reason, bad in checks:
        bad = bad.fillna(True).astype(bool) & keep
        report.dropped[reason] = int(bad.sum())
        keep &= ~bad
    kept = data[keep].reset_index(drop=True)
    report.rows_kept = len(kept)
    if report.rows_kept == 0:
        raise SchemaError(f"{source}: no valid rows left after validation: {report.dropped}")
    return kept, report

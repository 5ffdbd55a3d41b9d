from pathlib import Path

import pandas as pd
import pytest

from smart_support.data.sources import load_tickets
from smart_support.data.validation import SchemaError, validate_tickets

REQUIRED = ["subject", "body", "queue", "priority", "language"]
PRIORITIES = ["critical", "high", "medium", "low", "very_low"]


def validate(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    kept, report = validate_tickets(frame, REQUIRED, PRIORITIES, source="file.csv")
    return kept, report.as_dict()


def test_missing_column_is_named(tickets: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"file.csv: missing required column\(s\) priority"):
        validate(tickets.drop(columns=["priority"]))


def test_garbage_csv_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\x00\x01binary;;garbage\nmore,stuff\n")
    with pytest.raises(SchemaError, match="missing required column"):
        validate(load_tickets(str(path)))


def test_rows_are_dropped_per_reason(tickets: pd.DataFrame) -> None:
    bad = tickets.copy()
    bad.loc[0, ["subject", "body"]] = ["", "  "]
    bad.loc[1, "priority"] = "whenever"
    bad.loc[2, "language"] = "english"
    bad.loc[3, "queue"] = ""
    kept, report = validate(bad)
    assert report["dropped"] == {"empty_text": 1, "missing_queue": 1, "bad_priority": 1, "bad_language": 1}
    assert len(kept) == len(tickets) - 4 == report["rows_kept"]


def test_priority_and_language_are_normalised(tickets: pd.DataFrame) -> None:
    frame = tickets.copy()
    frame.loc[0, ["priority", "language"]] = [" High ", "DE"]
    kept, _ = validate(frame)
    assert kept.loc[0, "priority"] == "high" and kept.loc[0, "language"] == "de"


def test_a_file_with_no_valid_row_is_an_error(tickets: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="no valid rows"):
        validate(tickets.assign(priority="soon"))

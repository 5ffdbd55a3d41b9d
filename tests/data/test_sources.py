from pathlib import Path

import pandas as pd
import pytest

from smart_support.data.sources import DataSourceError, is_local_source, load_hub, load_tickets


def test_local_csv_loads_every_row(tickets_csv: Path, tickets: pd.DataFrame) -> None:
    assert len(load_tickets(str(tickets_csv))) == len(tickets)


def test_local_parquet_loads_every_row(tmp_path: Path, tickets: pd.DataFrame) -> None:
    path = tmp_path / "t.parquet"
    tickets.to_parquet(path)
    assert list(load_tickets(str(path)).columns) == list(tickets.columns)


def test_hub_code_path_runs_offline_over_a_local_file(tickets_csv: Path) -> None:
    frame = load_hub("csv", data_files=str(tickets_csv))
    assert len(frame) == 240
    assert {"subject", "body", "queue", "priority"} <= set(frame.columns)


def test_missing_local_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"missing\.csv does not exist: set SMART_SUPPORT_DATA"):
        load_tickets(str(tmp_path / "missing.csv"))


def test_unreachable_hub_dataset_fails_with_one_line_error() -> None:
    with pytest.raises(DataSourceError) as err:
        load_tickets("nobody/no-such-dataset-offline")
    assert "nobody/no-such-dataset-offline" in str(err.value)
    assert "\n" not in str(err.value)


def test_garbage_parquet_is_reported_not_a_deep_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(DataSourceError, match="broken.parquet is not a readable .parquet file"):
        load_tickets(str(path))


@pytest.mark.parametrize(
    ("source", "local"),
    [("Tobi-Bueck/customer-support-tickets", False), ("x/tickets.csv", True), ("a.parquet", True)],
)
def test_source_kind_is_decided_by_the_name(source: str, local: bool) -> None:
    assert is_local_source(source) is local

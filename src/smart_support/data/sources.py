"""Load the raw tickets from the Hugging Face Hub or a local CSV/Parquet file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

LOCAL_SUFFIXES = {".csv", ".parquet", ".pq"}
# A machine's local copy of the data, read when the stage runs, so that no machine's path is
# ever composed into params.yaml or recorded in dvc.lock (data.source keeps the Hub id).
ENV_DATA = "SMART_SUPPORT_DATA"


class DataSourceError(RuntimeError):
    """The configured source cannot be read; the message says what to do."""


def resolve_source(configured: str) -> str:
    """`SMART_SUPPORT_DATA` when set (an offline copy), else the configured source."""
    return os.environ.get(ENV_DATA) or configured


def is_local_source(source: str) -> bool:
    return Path(source).suffix.lower() in LOCAL_SUFFIXES or Path(source).exists()


def load_tickets(source: str, hub_split: str = "train") -> pd.DataFrame:
    """Read every ticket of `source`; raise DataSourceError with a one-line fix."""
    if is_local_source(source):
        return _load_local(Path(source))
    return load_hub(source, split=hub_split)


def _load_local(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataSourceError(
            f"data source {path} does not exist: set SMART_SUPPORT_DATA (or data.source) "
            "to a CSV/Parquet file with the ticket columns, or to a Hub dataset id"
        )
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many kinds
        raise DataSourceError(
            f"data source {path} is not a readable {path.suffix} file ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); check the file"
        ) from exc


def load_hub(dataset_id: str, split: str = "train", data_files: str | None = None) -> pd.DataFrame:
    """The real Hub path: `datasets.load_dataset(dataset_id)`.

    `data_files` lets tests drive the same code path over a local file, offline.
    """
    import datasets

    try:
        if data_files is None:
            dataset = datasets.load_dataset(dataset_id, split=split)
        else:
            dataset = datasets.load_dataset(dataset_id, data_files=data_files, split=split)
    except Exception as exc:  # noqa: BLE001 - network, auth and format errors alike
        raise DataSourceError(
            f"cannot load Hub dataset {dataset_id!r} ({exc.__class__.__name__}); "
            "check the network, or set SMART_SUPPORT_DATA to a local CSV/Parquet copy"
        ) from exc
    frame = dataset.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    return frame

"""Exact-duplicate removal and a seeded, stratified train/validation/test split."""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from smart_support.text import ticket_text

EXCLUDED = "__excluded__"


def add_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["text"] = [ticket_text(s, b) for s, b in zip(out["subject"], out["body"], strict=True)]
    return out


def drop_exact_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep the first ticket of each identical (case-folded) text."""
    key = frame["text"].str.casefold()
    keep = ~key.duplicated()
    return frame[keep].reset_index(drop=True), int((~keep).sum())


def stratified_split(
    frame: pd.DataFrame, test_size: float, val_size: float, seed: int
) -> dict[str, pd.DataFrame]:
    """Stratify on category (excluded rows form their own stratum) and language."""
    strata = frame["category"].fillna(EXCLUDED).astype(str) + "|" + frame["language"].astype(str)
    counts = strata.value_counts()
    strata = strata.where(strata.map(counts) >= 10, frame["category"].fillna(EXCLUDED).astype(str))
    rest, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=strata)
    val_share = val_size / (1.0 - test_size)
    train, val = train_test_split(
        rest, test_size=val_share, random_state=seed, stratify=strata.loc[rest.index]
    )
    return {
        name: part.reset_index(drop=True)
        for name, part in (("train", train), ("val", val), ("test", test))
    }

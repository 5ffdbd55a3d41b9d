import pandas as pd
import pytest

from smart_support.config import compose_config, to_dict
from smart_support.data.prepare import prepare_tickets
from smart_support.data.sources import load_tickets


def prepare(frame: pd.DataFrame, labels: str = "three_way", seed: int = 42):
    cfg = compose_config([f"labels={labels}"])
    return prepare_tickets(frame, to_dict(cfg.data), to_dict(cfg.labels), seed)


def test_no_text_appears_in_two_splits(tickets: pd.DataFrame) -> None:
    splits, _ = prepare(tickets)
    seen = [set(part["text"]) for part in splits.values()]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])


def test_split_is_stratified_by_category(tickets: pd.DataFrame) -> None:
    splits, _ = prepare(tickets)
    shares = {
        name: part["category"].fillna("excluded").value_counts(normalize=True)
        for name, part in splits.items()
    }
    for name in ("val", "test"):
        assert (shares[name] - shares["train"]).abs().max() < 0.05


def test_split_is_reproducible_with_the_seed(tickets: pd.DataFrame) -> None:
    first, _ = prepare(tickets, seed=7)
    again, _ = prepare(tickets, seed=7)
    other, _ = prepare(tickets, seed=8)
    assert first["test"]["text"].tolist() == again["test"]["text"].tolist()
    assert first["test"]["text"].tolist() != other["test"]["text"].tolist()


def test_exact_duplicates_are_dropped_and_counted(tickets: pd.DataFrame) -> None:
    doubled = pd.concat([tickets, tickets.head(5)], ignore_index=True)
    splits, report = prepare(doubled)
    assert report["exact_duplicates_dropped"] == 5
    assert sum(len(p) for p in splits.values()) == len(tickets)


def test_excluded_queues_keep_their_urgency_and_are_counted(tickets: pd.DataFrame) -> None:
    splits, report = prepare(tickets)
    frame = pd.concat(splits.values())
    excluded = frame[frame["category"].isna()]
    assert report["excluded_from_category"] == len(excluded) == 60
    assert report["excluded_queues"] == {"Customer Onboarding": 60}
    assert excluded["urgency"].notna().all()


def test_seed_labels_keep_every_ticket(tickets: pd.DataFrame) -> None:
    splits, report = prepare(tickets, labels="seed")
    assert report["excluded_from_category"] == 0
    # every queue the mapping does not list goes to Legal (the original project's rule)
    assert set(pd.concat(splits.values())["category"]) == {"Billing", "Technical", "Legal"}


def test_real_sample_meets_the_expectations(real_sample) -> None:
    """Data test on the shared real sample: size, languages, label balance."""
    splits, report = prepare(load_tickets(str(real_sample)))
    assert report["validation"]["rows_in"] == 8963
    assert report["validation"]["rows_kept"] >= 8900
    labelled = pd.concat(splits.values())["category"].value_counts()
    assert set(labelled.index) == {"Billing", "Technical", "Legal"}
    assert labelled["Legal"] >= 150 and labelled["Billing"] >= 500
    assert set(report["per_language"]) >= {"en", "de"}

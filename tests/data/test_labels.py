import pandas as pd
import pytest

from smart_support.config import compose_config, to_dict
from smart_support.data.labels import assign_categories, queue_to_category, urgency_target


@pytest.fixture(scope="module")
def label_sets() -> dict[str, dict]:
    return {name: to_dict(compose_config([f"labels={name}"]).labels) for name in ("three_way", "seed", "queue")}


@pytest.mark.parametrize(
    ("queue", "category"),
    [
        ("Billing and Payments", "Billing"),
        ("Returns and Exchanges", "Billing"),
        ("Account & Billing Management", "Billing"),
        ("Technical Support", "Technical"),
        ("Service Outages and Maintenance", "Technical"),
        ("Release Management", "Technical"),
        ("IT & Technology/Hardware Support", "Technical"),
        ("Legal & Compliance Requests", "Legal"),
        ("Law & Government/Legal Advice", "Legal"),
        ("Customer Service", None),
        ("Pets & Animals/Pet Services", None),
        ("Sales and Pre-Sales", None),
    ],
)
def test_three_way_mapping(label_sets: dict, queue: str, category: str | None) -> None:
    assert queue_to_category(queue, label_sets["three_way"]) == category


@pytest.mark.parametrize(
    ("queue", "category"),
    [
        ("Billing and Payments", "Billing"),
        ("Sales and Pre-Sales", "Billing"),
        ("Human Resources", "Legal"),
        ("Customer Service", "Legal"),
        ("General Inquiry", "Legal"),
        ("Returns and Exchanges", "Billing"),
        ("Technical Support", "Technical"),
        ("Product Support", "Technical"),
        ("IT Support", "Technical"),
        ("Service Outages and Maintenance", "Technical"),
        ("Pets & Animals/Pet Services", "Legal"),
        ("Legal & Compliance Requests", "Legal"),
        ("Network Infrastructure", "Legal"),
        ("Account & Billing Management", "Legal"),
    ],
)
def test_seed_mapping(label_sets: dict, queue: str, category: str) -> None:
    assert queue_to_category(queue, label_sets["seed"]) == category


def test_queue_labels_keep_only_frequent_queues(label_sets: dict) -> None:
    queues = pd.Series(["A"] * 100 + ["B"] * 99)
    labels = assign_categories(queues, label_sets["queue"])
    assert labels.iloc[0] == "A" and labels.iloc[-1] is pd.NA


def test_urgency_target_follows_priority(label_sets: dict) -> None:
    scale = label_sets["three_way"]["urgency"]
    values = urgency_target(pd.Series(["critical", "high", "medium", "low", "very_low"]), scale)
    assert values.tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]

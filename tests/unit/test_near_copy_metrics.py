"""near_copy_metrics: macro-F1 apart for tickets with and without a near copy in train."""

import pytest

from smart_support.evaluation.metrics import near_copy_metrics

LABELS = ["Billing", "Legal", "Technical"]


def test_near_and_far_tickets_are_scored_apart() -> None:
    y_true = ["Billing", "Technical", "Legal", "Billing", "Technical", "Legal"]
    # the three near copies are right, the three others all wrong
    y_pred = ["Billing", "Technical", "Legal", "Legal", "Billing", "Technical"]
    sim = [0.95, 0.7, 0.6, 0.59, 0.3, 0.1]
    out = near_copy_metrics(y_true, y_pred, LABELS, sim, threshold=0.6)
    assert out["near_copy_share"] == pytest.approx(0.5)
    assert out["macro_f1_near"] == pytest.approx(1.0)
    assert out["macro_f1_far"] == pytest.approx(0.0)


def test_no_near_copies_leaves_the_near_score_out() -> None:
    out = near_copy_metrics(["Billing", "Legal"], ["Billing", "Billing"], LABELS, [0.1, 0.2], 0.6)
    assert out["near_copy_share"] == 0.0
    assert "macro_f1_near" not in out
    assert out["macro_f1_far"] == pytest.approx((2 / 3) / 3)


def test_misaligned_similarities_are_refused() -> None:
    with pytest.raises(ValueError, match="2 similarities for 3 tickets"):
        near_copy_metrics(["Billing"] * 3, ["Billing"] * 3, LABELS, [0.5, 0.5], 0.6)

"""The behavioural scoring, checked by hand on a tiny keyword model with known mistakes."""

from pathlib import Path

import numpy as np
import pytest

from smart_support.evaluation.behaviour import (
    BehaviourTicket,
    load_suite,
    mft_floor_passed,
    score_suite,
)
from smart_support.models.base import Prediction

ROOT = Path(__file__).resolve().parents[2]


class KeywordModel:
    """Billing if 'refund', Legal if 'contract', else Technical; but any 'anna' means Billing.
    Urgency rises only with the English 'urgent', P(Legal) only with the English 'lawyer'."""

    labels = ["Billing", "Legal", "Technical"]

    def predict(self, texts: list[str]) -> Prediction:
        cats, proba, urgency = [], [], []
        for text in texts:
            low = text.lower()
            cat = (
                "Billing"
                if "anna" in low or "refund" in low
                else "Legal"
                if "contract" in low
                else "Technical"
            )
            legal = 0.1 + 0.1 * low.count("lawyer")
            row = [0.3, legal, 0.3]
            row[self.labels.index(cat)] = 0.9
            cats.append(cat)
            proba.append(row)
            urgency.append(0.1 + 0.5 * ("urgent" in low))
        return Prediction(cats, np.max(proba, axis=1), np.array(urgency), np.array(proba))


SUITE = [
    BehaviourTicket("en", "Billing", "Refund please", "I want a refund."),
    BehaviourTicket("en", "Legal", "Contract question", "About my contract."),
    BehaviourTicket("en", "Legal", "Privacy", "Delete my data."),
    BehaviourTicket("de", "Technical", "Server", "Der Server ist aus."),
]


@pytest.fixture(scope="module")
def result():
    return score_suite(KeywordModel(), SUITE)


def test_minimum_functionality_is_scored_per_language_and_class(result) -> None:
    m = result.metrics
    assert m["mft"] == 0.75
    assert m["mft_en"] == pytest.approx(2 / 3)
    assert m["mft_en_Legal"] == 0.5 and m["mft_en_Billing"] == 1.0
    assert m["mft_de"] == 1.0


def test_invariance_compares_with_the_plain_prediction_not_the_label(result) -> None:
    m = result.metrics
    # "Anna Schmidt" (variant 0) flips the two English tickets that were not Billing.
    assert m["inv_en_names_companies"] == pytest.approx(4 / 6)
    assert m["inv_en_casing"] == 1.0 and m["inv_de"] == 1.0
    # the wrongly routed privacy ticket stays wrong under casing: that is invariant
    assert m["inv_en_html"] == 1.0


def test_directional_cases_need_a_strict_change(result) -> None:
    m = result.metrics
    assert m["dir_en_urgency"] == 1.0
    assert m["dir_de_urgency"] == 0.0  # "dringend" leaves the score unchanged: a failure
    assert m["dir_en_legal"] == 1.0 and m["dir_de_legal"] == 0.0
    assert "dir_en_legal" in m and m["dir_de"] == 0.0


def test_every_failure_is_listed_with_its_text(result) -> None:
    kinds = [(f["kind"], f["case"], f["language"]) for f in result.failures]
    assert kinds.count(("mft", "plain", "en")) == 1
    assert kinds.count(("inv", "names_companies", "en")) == 2
    assert ("dir", "urgency", "de") in kinds and ("dir", "legal", "de") in kinds
    assert len(result.failures) == 1 + 2 + 2
    assert all(f["text"] for f in result.failures)


def test_the_floor_needs_every_language() -> None:
    assert mft_floor_passed({"mft_en": 0.95, "mft_de": 0.9}, 0.9)
    assert not mft_floor_passed({"mft_en": 0.95, "mft_de": 0.85}, 0.9)
    assert not mft_floor_passed({}, 0.9)


@pytest.mark.parametrize("part", ["dev", "holdout"])
def test_the_suite_has_15_tickets_per_class_and_language(part: str) -> None:
    both = load_suite(ROOT / "behaviour" / "dev.yaml") + load_suite(
        ROOT / "behaviour" / "holdout.yaml"
    )
    for lang in ("en", "de"):
        for cls in ("Billing", "Technical", "Legal"):
            assert sum(t.language == lang and t.category == cls for t in both) >= 15
    tickets = load_suite(ROOT / "behaviour" / f"{part}.yaml")
    assert len({t.text for t in tickets}) == len(tickets)


def test_dev_and_holdout_share_no_ticket() -> None:
    dev = {t.text for t in load_suite(ROOT / "behaviour" / "dev.yaml")}
    holdout = {t.text for t in load_suite(ROOT / "behaviour" / "holdout.yaml")}
    assert not dev & holdout


def test_a_malformed_suite_names_the_file_and_the_ticket(tmp_path: Path) -> None:
    bad = tmp_path / "suite.yaml"
    bad.write_text("tickets:\n  - {language: en, category: Billing, subject: x}\n")
    with pytest.raises(ValueError, match=r"suite.yaml: ticket 0 lacks body"):
        load_suite(bad)

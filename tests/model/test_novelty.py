"""A ticket unlike every training ticket goes to review, whatever the classifier's confidence."""

import numpy as np
import pytest

from smart_support.models.base import needs_review
from smart_support.models.novelty import NoveltyGate, build_novelty
from tests.helpers import fit

RECIPE = (
    "Preheat the oven to 180 degrees. Whisk three eggs with sugar and butter, fold in the "
    "flour and bake the cake for forty minutes."
)
GIBBERISH = "qwx zzvb plorft gnarl wubble frezzo"


@pytest.fixture(scope="module")
def tiny_m1(tiny_splits):
    return fit("m1", tiny_splits, slot="m1")


def test_the_threshold_is_the_chosen_quantile_of_validation_similarities(tiny_splits) -> None:
    # The tiny validation tickets repeat training tickets (cosine 1.0); their first halves and
    # a recipe spread the similarities so that the quantile matters.
    val = tiny_splits["val"].texts
    calibration = [*val, *(text[: len(text) // 2] for text in val), RECIPE]
    gate = NoveltyGate(quantile=0.1).fit(tiny_splits["train"].texts).calibrate(calibration)
    sims = gate.similarity(calibration)
    assert gate.threshold == pytest.approx(np.quantile(sims, 0.1))
    assert 0.85 <= gate.familiar(calibration).mean() < 0.95


def test_the_screened_decision_is_the_full_scan_decision(tiny_splits) -> None:
    """`familiar` stops early; it must still decide exactly as comparing every ticket would,
    on both sides of the threshold."""
    gate = NoveltyGate(quantile=0.0, margin=1.0).fit(tiny_splits["train"].texts)
    texts = [RECIPE, GIBBERISH, *tiny_splits["val"].texts, *tiny_splits["test"].texts]
    sims = gate.similarity(texts)
    for threshold in np.quantile(sims, [0.05, 0.3, 0.7, 0.95]):
        gate.threshold = float(threshold)
        expected = gate.similar_enough(sims)
        assert 0 < expected.sum() < len(texts)
        assert gate.familiar(texts).tolist() == expected.tolist()


def test_a_recipe_and_gibberish_are_unfamiliar_tickets_are_not(tiny_m1, tiny_splits) -> None:
    test_texts = tiny_splits["test"].texts
    prediction = tiny_m1.predict([RECIPE, GIBBERISH, *test_texts])
    assert prediction.familiar is not None
    assert not prediction.familiar[0] and not prediction.familiar[1]
    assert tiny_m1.novelty.similarity([RECIPE])[0] < tiny_m1.novelty.threshold
    assert prediction.familiar[2:].mean() > 0.9
    review = needs_review(prediction.confidences, prediction.familiar, 0.0)
    assert review[:2].all() and review[2:].mean() < 0.1


def test_review_is_low_confidence_or_unfamiliar() -> None:
    confidence = np.array([0.9, 0.9, 0.3, 0.3])
    familiar = np.array([True, False, True, False])
    assert needs_review(confidence, familiar, 0.5).tolist() == [False, True, True, True]
    assert needs_review(confidence, None, 0.5).tolist() == [False, False, True, True]


def test_the_check_can_be_switched_off(tiny_splits) -> None:
    assert build_novelty({"enabled": False, "quantile": 0.01}) is None
    assert build_novelty(None) is None
    model = fit("m1", tiny_splits, slot="m1", novelty={"enabled": False})
    prediction = model.predict([RECIPE])
    assert model.novelty is None and prediction.familiar is None


def test_a_quantile_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="quantile"):
        NoveltyGate(quantile=1.0)

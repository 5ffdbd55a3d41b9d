"""Every milestone trains on a tiny slice in seconds and predicts sensibly."""

import numpy as np
import pytest

from smart_support.models.training import SplitData
from tests.helpers import assert_valid_prediction, fit, with_embeddings


@pytest.mark.parametrize(("option", "slot"), [("m1", "m1"), ("m2", "m2")])
def test_text_milestones_train_on_a_tiny_slice(tiny_splits, option: str, slot: str) -> None:
    model = fit(option, tiny_splits, slot=slot)
    assert model.labels == ["Billing", "Legal", "Technical"]
    assert_valid_prediction(model, tiny_splits["test"].texts)


def test_embedding_milestone_trains_on_cached_vectors(tiny_splits) -> None:
    splits = {name: with_embeddings(split) for name, split in tiny_splits.items()}
    model = fit("m3", splits, slot="m3")
    assert_valid_prediction(model, splits["test"].texts, splits["test"].embeddings)


def test_embedding_milestone_embeds_by_itself_when_serving(tiny_splits) -> None:
    splits = {name: with_embeddings(split) for name, split in tiny_splits.items()}
    model = fit("m3", splits, slot="m3")
    cached = model.predict(splits["test"].texts, splits["test"].embeddings)
    fresh = model.predict(splits["test"].texts)
    assert cached.categories == fresh.categories
    assert np.allclose(cached.urgency, fresh.urgency, atol=1e-4)


def test_finetuned_transformer_option_trains_a_few_steps(tiny_splits) -> None:
    model = fit(
        "m3_finetune", tiny_splits, slot="m3", max_train_samples=32, max_length=32, epochs=1.0
    )
    assert_valid_prediction(model, tiny_splits["test"].texts[:8])


def test_smote_option_builds_an_imblearn_pipeline_that_trains(tiny_splits) -> None:
    model = fit("m1", tiny_splits, slot="m1", smote=True)
    assert "smote" in model.classifier.named_steps
    assert_valid_prediction(model, tiny_splits["test"].texts)


def test_urgency_is_trained_on_excluded_queues_too(tiny_splits) -> None:
    train = tiny_splits["train"]
    assert (~train.labelled).any()
    model = fit("m2", tiny_splits, slot="m2")
    # "onboarding" occurs only in the excluded queue's tickets: it is in the urgency
    # model's vocabulary only if those tickets were trained on.
    assert "onboarding" in model.urgency.tfidf.vocabulary_
    excluded = SplitData(train.frame[~train.labelled])
    assert len(model.predict(excluded.texts).urgency) == len(excluded.frame)


def test_decision_rule_is_fitted_on_validation_and_used_by_predict(
    tiny_splits, monkeypatch
) -> None:
    from smart_support.models.decision import DecisionRule

    seen: list[int] = []
    real_fit = DecisionRule.fit

    def spy(self, proba, y):  # type: ignore[no-untyped-def]
        seen.append(len(y))
        return real_fit(self, proba, y)

    monkeypatch.setattr(DecisionRule, "fit", spy)
    model = fit("m2", tiny_splits, slot="m2")
    assert seen == [int(tiny_splits["val"].labelled.sum())]
    assert seen[0] != int(tiny_splits["train"].labelled.sum())
    assert model.decision.rule == "class_offsets"
    assert "val_cross_fitted_gain" in model.decision.report
    prediction = model.predict(tiny_splits["test"].texts)
    chosen = model.decision.choose(prediction.probabilities)
    assert prediction.categories == [model.labels[i] for i in chosen]

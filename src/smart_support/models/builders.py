"""Build the milestone models from their `conf/model/*.yaml` (Hydra `_target_`s)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from omegaconf import DictConfig, OmegaConf
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import FunctionTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from smart_support.features.lexicon import DepartmentLexicon, Lexicon, WithLexicon
from smart_support.models.decision import build_decision
from smart_support.models.router_model import RouterModel
from smart_support.models.urgency import KeywordUrgency, RidgeUrgency

Terms = Mapping[str, Sequence[str]]
Decision = str | Mapping[str, Any] | None  # `decision:` of conf/model/*.yaml
NOT_BUILDER_ARGS = {"tune_space", "description", "novelty", "prototypes"}  # training.py


def _with_lexicon(
    vectorizer: Any, lexicon: Lexicon | None, weight: float, word_ngram_max: int = 0
) -> Any:
    """The vectorizer, with department lexicon columns beside it when `weight` > 0 and word
    1..`word_ngram_max`-gram TF-IDF beside it when that is > 0."""
    use_lexicon = bool(lexicon) and weight > 0
    if not use_lexicon and word_ngram_max <= 0:
        return vectorizer
    words = (
        TfidfVectorizer(ngram_range=(1, word_ngram_max), min_df=2, sublinear_tf=True)
        if word_ngram_max > 0
        else None
    )
    return WithLexicon(
        vectorizer, DepartmentLexicon(lexicon, weight) if use_lexicon else None, words
    )


def _steps(vectorizer: Any, classifier: Any, smote: bool, seed: int) -> Pipeline:
    steps: list[tuple[str, Any]] = [("tfidf", vectorizer)] if vectorizer is not None else []
    if smote:  # an imblearn pipeline resamples inside fit only: never validation data
        steps.append(("smote", SMOTE(random_state=seed, k_neighbors=3)))
    steps.append(("clf", classifier))
    return Pipeline(steps)


def build_m1(
    name: str = "m1",
    ngram_max: int = 2,
    min_df: int = 1,
    C: float = 5.0,
    smote: bool = False,
    urgency_terms: Terms | None = None,
    decision: Decision = None,
    lexicon: Lexicon | None = None,
    lexicon_weight: float = 0.0,
    seed: int = 42,
) -> RouterModel:
    vectorizer = _with_lexicon(
        TfidfVectorizer(ngram_range=(1, ngram_max), min_df=min_df, sublinear_tf=True),
        lexicon,
        lexicon_weight,
    )
    classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    return RouterModel(
        name=name,
        decision=build_decision(decision, seed),
        classifier=_steps(vectorizer, classifier, smote, seed),
        urgency=KeywordUrgency(urgency_terms or {}),
    )


def build_m2(
    name: str = "m2",
    ngram_min: int = 3,
    ngram_max: int = 5,
    max_features: int | None = 200_000,
    C: float = 0.5,
    calibration_cv: int = 3,
    smote: bool = False,
    urgency_alpha: float = 3.0,
    urgency_terms: Terms | None = None,
    decision: Decision = None,
    lexicon: Lexicon | None = None,
    lexicon_weight: float = 0.0,
    word_ngram_max: int = 0,
    seed: int = 42,
) -> RouterModel:
    vectorizer = _with_lexicon(
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(ngram_min, ngram_max),
            max_features=max_features,
            sublinear_tf=True,
        ),
        lexicon,
        lexicon_weight,
        word_ngram_max,
    )
    svc = LinearSVC(C=C, class_weight="balanced")
    classifier = CalibratedClassifierCV(svc, cv=calibration_cv, method="sigmoid")
    return RouterModel(
        name=name,
        decision=build_decision(decision, seed),
        classifier=_steps(vectorizer, classifier, smote, seed),
        urgency=RidgeUrgency(urgency_terms or {}, alpha=urgency_alpha, use_embeddings=False),
    )


def build_m3(
    name: str = "m3",
    C: float = 4.0,
    smote: bool = False,
    urgency_alpha: float = 3.0,
    urgency_terms: Terms | None = None,
    embedding: Mapping[str, Any] | None = None,
    decision: Decision = None,
    seed: int = 42,
) -> RouterModel:
    classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    return RouterModel(
        name=name,
        decision=build_decision(decision, seed),
        classifier=_steps(None, classifier, smote, seed),
        urgency=RidgeUrgency(urgency_terms or {}, alpha=urgency_alpha, use_embeddings=True),
        uses_embeddings=True,
        urgency_uses_embeddings=True,
        embedding=dict(embedding or {}),
    )


def _vectors(X: Any) -> Any:
    return X.astype(float)


def build_m3_stacked(
    name: str = "m3",
    C: float = 0.5,
    ngram_min: int = 3,
    ngram_max: int = 5,
    max_features: int | None = 200_000,
    word_ngram_max: int = 2,
    embedding_weight: float = 1.0,
    calibration_cv: int = 3,
    lexicon: Lexicon | None = None,
    lexicon_weight: float = 0.0,
    urgency_alpha: float = 3.0,
    urgency_terms: Terms | None = None,
    embedding: Mapping[str, Any] | None = None,
    decision: Decision = None,
    seed: int = 42,
) -> RouterModel:
    """Character and word TF-IDF (and the lexicon) beside the sentence embedding, into one
    calibrated LinearSVC."""
    text = _with_lexicon(
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(ngram_min, ngram_max),
            max_features=max_features,
            sublinear_tf=True,
        ),
        lexicon,
        lexicon_weight,
        word_ngram_max,
    )
    features = ColumnTransformer(
        [("text", text, 0), ("embedding", FunctionTransformer(_vectors), slice(1, None))],
        transformer_weights={"text": 1.0, "embedding": embedding_weight},
        sparse_threshold=1.0,
    )
    svc = LinearSVC(C=C, class_weight="balanced")
    classifier = Pipeline(
        [
            ("features", features),
            ("clf", CalibratedClassifierCV(svc, cv=calibration_cv, method="sigmoid")),
        ]
    )
    return RouterModel(
        name=name,
        decision=build_decision(decision, seed),
        classifier=classifier,
        urgency=RidgeUrgency(urgency_terms or {}, alpha=urgency_alpha, use_embeddings=True),
        uses_embeddings=True,
        urgency_uses_embeddings=True,
        embedding=dict(embedding or {}),
        stacks_text=True,
    )


def build_m3_finetune(
    name: str = "m3",
    base_model: str = "",
    max_length: int = 128,
    epochs: float = 1.0,
    learning_rate: float = 5e-5,
    batch_size: int = 16,
    max_train_samples: int | None = None,
    urgency_alpha: float = 3.0,
    urgency_terms: Terms | None = None,
    embedding: Mapping[str, Any] | None = None,
    decision: Decision = None,
    seed: int = 42,
) -> RouterModel:
    from smart_support.models.finetune import FineTunedClassifier

    classifier = FineTunedClassifier(
        base_model=base_model or str((embedding or {}).get("model", "")),
        max_length=max_length,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        max_train_samples=max_train_samples,
        seed=seed,
    )
    return RouterModel(
        name=name,
        decision=build_decision(decision, seed),
        classifier=classifier,
        urgency=RidgeUrgency(urgency_terms or {}, alpha=urgency_alpha, use_embeddings=False),
        embedding=dict(embedding or {}),
    )


def build_model(model_cfg: Mapping[str, Any] | DictConfig, seed: int) -> RouterModel:
    """Instantiate a `conf/model/*.yaml` entry (its `_target_` is one of the builders above)."""
    from hydra.utils import instantiate

    cfg = model_cfg if isinstance(model_cfg, DictConfig) else OmegaConf.create(dict(model_cfg))
    cfg = OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k not in NOT_BUILDER_ARGS])
    model = instantiate(cfg, seed=seed, _convert_="all")
    assert isinstance(model, RouterModel)
    return model

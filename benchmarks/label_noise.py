"""How much of the English routing error is label noise? (issue 11, item 3)

    python -m benchmarks.label_noise                       # near-duplicate analysis only
    python -m benchmarks.label_noise --model m2            # + the champion's confusion on val

On the prepared splits (as benchmarks.routing_options builds them), for the validation
tickets of each language: the nearest training ticket in character 3-5-gram TF-IDF (char_wb,
sublinear, fitted on train: the space M2 and the out-of-domain check use) and whether it
carries a different label; the 1-NN "oracle" by similarity band; near-duplicate groups over
all labelled tickets (connected components at cosine >= t) and how often their labels agree;
a symmetric-noise estimate of the label error from that agreement; and, with `--model`, the
model's val confusion matrix per language and the share of its errors that copy a
near-identical training ticket's (different) label. Numbers in docs/label_noise.md.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import confusion_matrix, f1_score

from benchmarks.routing_options import DEFAULT_DATA, _splits
from smart_support.text import clean_text

THRESHOLDS = (0.8, 0.9, 0.95)
BANDS = ((0.0, 0.6), (0.6, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01))


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), max_features=200_000, sublinear_tf=True
    )


def _macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    present = sorted(set(y))  # as evaluation.metrics does per language: the classes present
    return float(f1_score(y, pred, labels=present, average="macro", zero_division=0))


def noise_from_agreement(agreement: float) -> float:
    """Per-ticket label error e under binary symmetric noise, from the agreement rate a of
    pairs that share one true label: a = (1 - e)^2 + e^2  =>  e = (1 - sqrt(2a - 1)) / 2."""
    return float((1 - np.sqrt(max(2 * agreement - 1, 0.0))) / 2)


def nearest_train(train: pd.DataFrame, val: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    vec = _vectorizer()
    tr = vec.fit_transform(train["text"])
    sims = (vec.transform(val["text"]) @ tr.T).tocsr()
    best = np.asarray(sims.argmax(axis=1)).ravel()
    return best, np.asarray(sims.max(axis=1).toarray()).ravel()


def val_neighbours(train: pd.DataFrame, val: pd.DataFrame, lang: str) -> dict[str, Any]:
    best, sim = nearest_train(train, val)
    y = val["category"].astype(str).to_numpy()
    nn = train["category"].astype(str).to_numpy()[best]
    mask = (val["language"] == lang).to_numpy()
    y, nn, sim, best = y[mask], nn[mask], sim[mask], best[mask]
    bodies = set(train["body"].map(clean_text).str.casefold())
    texts = set(train["text"].str.casefold())
    vbody = val.loc[mask, "body"].map(clean_text).str.casefold()
    same_body = vbody.isin(bodies).to_numpy()
    body_label = dict(
        zip(
            train["body"].map(clean_text).str.casefold(),
            train["category"].astype(str),
            strict=False,
        )
    )
    out: dict[str, Any] = {
        "tickets": int(mask.sum()),
        "identical_text_in_train": int(val.loc[mask, "text"].str.casefold().isin(texts).sum()),
        "identical_body_in_train": int(same_body.sum()),
        "identical_body_other_label": int(
            sum(body_label.get(b) != c for b, c, s in zip(vbody, y, same_body, strict=True) if s)
        ),
        "nn_similarity_median": round(float(np.median(sim)), 3),
        "nn_oracle_accuracy": round(float((nn == y).mean()), 3),
        "nn_oracle_macro_f1": round(_macro_f1(y, nn), 3),
    }
    for t in THRESHOLDS:
        near = sim >= t
        out[f"share_nn_ge_{t}"] = round(float(near.mean()), 3)
        out[f"nn_ge_{t}_other_label"] = f"{int((near & (nn != y)).sum())}/{int(near.sum())}"
    out["bands"] = {
        f"{lo:.2f}-{min(hi, 1.0):.2f}": {
            "tickets": int(((sim >= lo) & (sim < hi)).sum()),
            "nn_agrees": round(float((nn == y)[(sim >= lo) & (sim < hi)].mean()), 3)
            if ((sim >= lo) & (sim < hi)).any()
            else None,
        }
        for lo, hi in BANDS
    }
    return out


def duplicate_groups(frame: pd.DataFrame, lang: str, threshold: float) -> dict[str, Any]:
    """Connected components of the cosine >= threshold graph over all labelled tickets of
    one language (all splits): label agreement inside them."""
    part = frame[frame["language"] == lang].reset_index(drop=True)
    x = _vectorizer().fit_transform(part["text"])
    sims = (x @ x.T).tocsr()
    sims.data[sims.data < threshold] = 0
    sims.eliminate_zeros()
    n, comp = connected_components(csr_matrix(sims), directed=False)
    y = part["category"].astype(str).to_numpy()
    sizes = np.bincount(comp)
    grouped = sizes[comp] >= 2
    pairs = agree = majority_errors = mixed = 0
    for g in np.flatnonzero(sizes >= 2):
        labels = y[comp == g]
        counts = pd.Series(labels).value_counts().to_numpy()
        pairs += len(labels) * (len(labels) - 1) // 2
        agree += int(sum(c * (c - 1) // 2 for c in counts))
        majority_errors += int(len(labels) - counts[0])
        mixed += int(len(counts) > 1)
    agreement = agree / pairs if pairs else float("nan")
    return {
        "threshold": threshold,
        "tickets": len(part),
        "in_groups": int(grouped.sum()),
        "groups": int((sizes >= 2).sum()),
        "mixed_groups": mixed,
        "pair_agreement": round(agreement, 3) if pairs else None,
        "majority_vote_errors": majority_errors,
        "noise_estimate": round(noise_from_agreement(agreement), 3) if pairs else None,
    }


def train_option(option: str, splits: dict[str, Any]) -> Any:
    """`option` trained as the harness trains it (default hyper-parameters)."""
    from tests.helpers import fit

    return fit(option, splits, slot="m3")


def model_errors(
    pred: np.ndarray, train: pd.DataFrame, val: pd.DataFrame, lang: str
) -> dict[str, Any]:
    """A model's val confusion for `lang` and how many of its errors copy the label of a
    near-identical (cosine >= 0.8 / 0.9) training ticket; the macro-F1 if every other error
    were fixed (a ceiling for a model that cannot tell such twins apart)."""
    best, sim = nearest_train(train, val)
    nn = train["category"].astype(str).to_numpy()[best]
    y = val["category"].astype(str).to_numpy()
    mask = (val["language"] == lang).to_numpy()
    y, pred, nn, sim = y[mask], pred[mask], nn[mask], sim[mask]
    labels = [c for c in ("Billing", "Technical", "Legal") if c in set(y) | set(pred)]
    wrong = pred != y
    out: dict[str, Any] = {
        "macro_f1": round(_macro_f1(y, pred), 3),
        "labels": labels,
        "confusion (rows true, cols predicted)": confusion_matrix(y, pred, labels=labels).tolist(),
        "errors": int(wrong.sum()),
        "errors_nn_agrees_with_truth": int((wrong & (nn == y)).sum()),
        "errors_by_queue": val.loc[mask, "queue"][wrong].value_counts().to_dict(),
        "errors_by_nn_band": {
            f"{lo:.2f}-{min(hi, 1.0):.2f}": f"{int((wrong & (sim >= lo) & (sim < hi)).sum())}"
            f"/{int(((sim >= lo) & (sim < hi)).sum())}"
            for lo, hi in BANDS
        },
    }
    for t in (0.8, 0.9):
        copied = wrong & (sim >= t) & (nn == pred)
        out[f"errors_copying_nn_ge_{t}"] = int(copied.sum())
        out[f"ceiling_macro_f1_nn_ge_{t}"] = round(_macro_f1(y, np.where(copied, pred, y)), 3)
    return out


def term_labels(frame: pd.DataFrame, lang: str, terms: list[str]) -> dict[str, Any]:
    """Per term: how the labelled tickets of one language (all splits) whose text contains
    it are labelled. A topic split across departments is noise no text model can remove."""
    part = frame[frame["language"] == lang]
    text = part["text"].str.casefold()
    return {
        term: part.loc[text.str.contains(term.casefold(), regex=False), "category"]
        .astype(str)
        .value_counts()
        .to_dict()
        for term in terms
    }


def lexicon_coverage(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per language and label: the share of tickets with at least one stem of each
    department's lexicon (features.lexicon). A Billing ticket without a single billing word
    is one whose label its text does not explain."""
    from smart_support.config import compose_config, to_dict
    from smart_support.features.lexicon import DepartmentLexicon

    lexicon = DepartmentLexicon(to_dict(compose_config([]).features)["lexicon"]).fit(None)
    hits = lexicon.counts(frame["text"].tolist()) > 0
    cols = {f"has_{d}_word": hits[:, i] for i, d in enumerate(lexicon.departments_)}
    shares = frame[["language", "category"]].astype(str).assign(**cols)
    shares = shares[shares["language"].isin(["en", "de"])]
    table = shares.groupby(["language", "category"]).mean().round(3)
    return {f"{lang}/{label}": row.to_dict() for (lang, label), row in table.iterrows()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", default="three_way")
    parser.add_argument("--model", default=None, help="also train this option (e.g. m2)")
    parser.add_argument(
        "--terms", nargs="*", default=[], help="label counts of the tickets containing each term"
    )
    args = parser.parse_args()
    splits = _splits(args.labels, DEFAULT_DATA)
    frames = {
        k: v.frame[v.frame["category"].notna()].reset_index(drop=True) for k, v in splits.items()
    }
    everything = pd.concat(frames.values(), ignore_index=True)
    report: dict[str, Any] = {"lexicon_coverage": lexicon_coverage(everything)}
    pred = None
    if args.model:
        model = train_option(args.model, splits)
        pred = np.asarray(model.predict(frames["val"]["text"].tolist()).categories)
    for lang in ("en", "de"):
        report[lang] = {
            "val_vs_train": val_neighbours(frames["train"], frames["val"], lang),
            "groups": [duplicate_groups(everything, lang, t) for t in THRESHOLDS],
        }
        if args.terms:
            report[lang]["terms"] = term_labels(everything, lang, args.terms)
        if pred is not None:
            report[lang]["model"] = model_errors(pred, frames["train"], frames["val"], lang)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

"""How validation macro-F1 grows with the training data: is a target a method's or the data's?

    python -m benchmarks.learning_curve --labels seed            # issue 11 item 6's premise

The classifier is the one the issue's premise names, M2's core without its extras (no lexicon,
prior, offsets or calibration): character n-gram TF-IDF (`models.m2`'s n-gram range) and a
class-balanced LinearSVC, argmax on validation. For each share of the training split, `--seeds`
stratified subsamples are fitted; the table gives the mean and the range, and a least-squares
line in log2(tickets) gives the gain per doubling of the data. Validation only: nothing here
is chosen, and test stays for the milestones' reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from benchmarks.routing_options import DEFAULT_DATA, _splits
from smart_support.config import compose_config

SHARES = (0.125, 0.25, 0.5, 0.75, 1.0)


def fit_score(
    texts: list[str], labels: np.ndarray, val_texts: list[str], val_labels: np.ndarray, m2: Any
) -> float:
    """Validation macro-F1 of the bare classifier with `m2`'s n-gram range and C."""
    model = make_pipeline(
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(int(m2.ngram_min), int(m2.ngram_max)),
            sublinear_tf=True,
        ),
        LinearSVC(C=float(m2.C), class_weight="balanced"),
    )
    model.fit(texts, labels)
    return float(f1_score(val_labels, model.predict(val_texts), average="macro"))


def curve(labels: str, data: Path, seeds: int) -> list[tuple[int, list[float]]]:
    splits = _splits(labels, data)
    train = splits["train"].frame.dropna(subset=["category"])
    val = splits["val"].frame.dropna(subset=["category"])
    m2 = compose_config().models.m2
    rows = []
    for share in SHARES:
        scores = []
        for seed in range(seeds if share < 1.0 else 1):
            part = train
            if share < 1.0:
                part, _ = train_test_split(
                    train, train_size=share, stratify=train["category"], random_state=seed
                )
            scores.append(
                fit_score(
                    part["text"].tolist(),
                    part["category"].to_numpy(),
                    val["text"].tolist(),
                    val["category"].to_numpy(),
                    m2,
                )
            )
        rows.append((int(round(share * len(train))), scores))
    return rows


def per_doubling(rows: list[tuple[int, list[float]]]) -> float:
    """Slope of mean macro-F1 against log2(training tickets)."""
    x = np.log2([n for n, _ in rows])
    y = np.array([np.mean(s) for _, s in rows])
    return float(np.polyfit(x, y, 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", default="seed")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    rows = curve(args.labels, args.data, args.seeds)
    print(f"labels={args.labels}: validation macro-F1 by training tickets")
    print("| training tickets | macro-F1 (mean) | min - max |")
    print("|---|---|---|")
    for n, scores in rows:
        print(f"| {n} | {np.mean(scores):.3f} | {min(scores):.3f} - {max(scores):.3f} |")
    print(f"gain per doubling of the training data: {per_doubling(rows):+.3f}")


if __name__ == "__main__":
    main()

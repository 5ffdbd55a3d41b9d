"""Test-split metrics: classification, per language, urgency and the S > 0.8 alert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

CRITICAL = 1.0
HIGH = 0.75


def classification_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], languages: Sequence[str]
) -> dict[str, float]:
    true, pred, langs = np.asarray(y_true), np.asarray(y_pred), np.asarray(languages)
    out: dict[str, float] = {
        "accuracy": float(accuracy_score(true, pred)),
        "macro_f1": float(
            f1_score(true, pred, labels=list(labels), average="macro", zero_division=0)
        ),
    }
    per_class = f1_score(true, pred, labels=list(labels), average=None, zero_division=0)
    out.update(
        {f"f1_{label}": float(score) for label, score in zip(labels, per_class, strict=True)}
    )
    for lang in ("en", "de"):
        mask = langs == lang
        if mask.any():  # over the classes that occur in this language's tickets
            present = [label for label in labels if label in set(true[mask])]
            out[f"macro_f1_{lang}"] = float(
                f1_score(true[mask], pred[mask], labels=present, average="macro", zero_division=0)
            )
            out[f"accuracy_{lang}"] = float(accuracy_score(true[mask], pred[mask]))
    return out


def near_copy_metrics(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    similarity: Sequence[float],
    threshold: float,
) -> dict[str, float]:
    """Macro-F1 of the tickets with a near copy in the training data (cosine to the nearest
    training ticket >= `threshold`: a random split of near-paraphrases puts copies on both
    sides) and of the rest, with the near-copy share."""
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    near = np.asarray(similarity, dtype=float) >= threshold
    if len(near) != len(true):
        raise ValueError(f"{len(near)} similarities for {len(true)} tickets")
    out = {"near_copy_share": float(near.mean()) if len(near) else 0.0}
    for name, mask in (("near", near), ("far", ~near)):
        if mask.any():
            out[f"macro_f1_{name}"] = float(
                f1_score(
                    true[mask], pred[mask], labels=list(labels), average="macro", zero_division=0
                )
            )
    return out


def _precision_recall(alert: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    hits = float((alert & positive).sum())
    return hits / max(float(alert.sum()), 1.0), hits / max(float(positive.sum()), 1.0)


def urgency_metrics(
    target: np.ndarray, score: np.ndarray, alert_threshold: float
) -> dict[str, float]:
    """MAE and Spearman against the priority target; precision/recall of S > threshold."""
    alert = score > alert_threshold
    out = {
        "urgency_mae": float(np.mean(np.abs(score - target))),
        "urgency_spearman": float(spearmanr(score, target).statistic),
        "alert_rate": float(alert.mean()),
    }
    for name, positive in (("critical", target >= CRITICAL), ("high_or_critical", target >= HIGH)):
        precision, recall = _precision_recall(alert, positive)
        out[f"alert_precision_{name}"] = precision
        out[f"alert_recall_{name}"] = recall
    return out


def confusion_rows(y_true: Sequence[str], y_pred: Sequence[str]) -> list[dict[str, str]]:
    """One row per ticket, the shape DVC's `confusion` plot template reads."""
    return [{"actual": str(a), "predicted": str(p)} for a, p in zip(y_true, y_pred, strict=True)]


def report_text(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> str:
    return str(
        classification_report(y_true, y_pred, labels=list(labels), zero_division=0, digits=3)
    )


def confusion_png(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], path: Any, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = confusion_matrix(y_true, y_pred, labels=list(labels))
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.2 * len(labels) + 1.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    for (i, j), value in np.ndenumerate(matrix):
        colour = "white" if value > matrix.max() / 2 else "black"
        ax.text(j, i, str(value), ha="center", va="center", color=colour)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

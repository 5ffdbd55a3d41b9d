"""Adapt the dedup encoder to tickets: contrastive fine-tuning on pairs mined from the corpus.

Positive pairs come from the training split only, in every configured language:
- `subject_body`: a ticket's subject with its body (a short and a long telling of one problem),
- `ticket_answer`: a ticket with the start of the agent's answer (the problem restated),
- `near_duplicate`: two tickets of different source files (the dataset's versions) whose
  word TF-IDF cosine lies in a band (paraphrases, not copies),
- `queue_tags`: two tickets of one language with the same queue and the same first tags,
- `paraphrase_groups`: two reports of one incident by different customers, from a hand-written
  file (`knowledge/outage_reports.yaml`): the knowledge the dataset lacks, since none of its
  tickets retell another's problem in other words.
MultipleNegativesRankingLoss treats the other positives of a batch as negatives, so unrelated
tickets are pushed apart while each pair is pulled together. The result is saved as a
sentence-transformers directory, which the ONNX encoder exports exactly as the packaged one.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from smart_support.text import clean_text, ticket_text

log = logging.getLogger(__name__)

SOURCES = ("subject_body", "ticket_answer", "near_duplicate", "queue_tags", "paraphrase_groups")


@dataclass(frozen=True)
class PairSettings:
    """How many pairs of each source to mine (0 switches a source off)."""

    subject_body: int = 1500
    ticket_answer: int = 1000
    near_duplicate: int = 500
    queue_tags: int = 0
    paraphrase_groups: int = 0
    paraphrase_file: str = "knowledge/outage_reports.yaml"
    near_duplicate_band: tuple[float, float] = (0.45, 0.95)  # word TF-IDF cosine
    answer_chars: int = 400
    languages: tuple[str, ...] = ("en", "de")


@dataclass(frozen=True)
class TrainSettings:
    max_seq_length: int = 64
    batch_size: int = 32
    epochs: int = 1
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    seed: int = 42
    threads: int = 1  # torch intra-op threads (0: torch's default, one per core)


def training_rows(raw: pd.DataFrame, train: pd.DataFrame, languages: Sequence[str]) -> pd.DataFrame:
    """Raw rows (with answers, tags, source files) of tickets in the prepared train split.

    The prepared split keeps only model columns; a raw row belongs to it when its cleaned text
    (the same `ticket_text` the split was built from) is one of the split's texts."""
    text = [ticket_text(s, b) for s, b in zip(raw["subject"], raw["body"], strict=True)]
    keys = set(train["text"].str.casefold())
    keep = pd.Series([t.casefold() in keys for t in text], index=raw.index)
    rows = raw.assign(text=text).loc[keep & raw["language"].isin(list(languages))]
    return rows.drop_duplicates("text").reset_index(drop=True)


# anchor, positive, group: pairs of one group never share a batch; None for a pair on its own
Pair = tuple[str, str, str | None]


def mine_pairs(rows: pd.DataFrame, settings: PairSettings, seed: int) -> pd.DataFrame:
    """(anchor, positive, group, source) pairs, at most the configured number per source."""
    rng = np.random.default_rng(seed)
    miners: dict[str, Callable[[pd.DataFrame, PairSettings], list[Pair]]] = {
        "subject_body": _subject_body,
        "ticket_answer": _ticket_answer,
        "near_duplicate": _near_duplicates,
        "queue_tags": _queue_tags,
        "paraphrase_groups": _paraphrase_groups,
    }
    frames = []
    for source in SOURCES:
        wanted = int(getattr(settings, source))
        if wanted <= 0:
            continue
        pairs = miners[source](rows, settings)
        if len(pairs) > wanted:
            pairs = [pairs[i] for i in rng.choice(len(pairs), wanted, replace=False)]
        log.info("%s: %d pairs", source, len(pairs))
        columns = ["anchor", "positive", "group"]
        frames.append(pd.DataFrame(pairs, columns=columns).assign(source=source))
    pairs = pd.concat(frames, ignore_index=True)
    return pairs.iloc[rng.permutation(len(pairs))].reset_index(drop=True)


def _subject_body(rows: pd.DataFrame, settings: PairSettings) -> list[Pair]:
    subjects = [clean_text(s) for s in rows["subject"]]
    bodies = [clean_text(b) for b in rows["body"]]
    return [
        (s, b, None) for s, b in zip(subjects, bodies, strict=True) if len(s) >= 8 and len(b) >= 20
    ]


def _ticket_answer(rows: pd.DataFrame, settings: PairSettings) -> list[Pair]:
    if "answer" not in rows:
        return []
    answers = [clean_text(a)[: settings.answer_chars] for a in rows["answer"]]
    return [(t, a, None) for t, a in zip(rows["text"], answers, strict=True) if len(a) >= 20]


def _near_duplicates(rows: pd.DataFrame, settings: PairSettings) -> list[Pair]:
    """Each ticket's most similar ticket from another source file, inside the cosine band."""
    if "source_file" not in rows:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer

    low, high = settings.near_duplicate_band
    vectors = TfidfVectorizer(sublinear_tf=True, min_df=2).fit_transform(rows["text"])
    files = rows["source_file"].astype(str).to_numpy()
    texts = rows["text"].tolist()
    pairs: list[Pair] = []
    seen: set[tuple[int, int]] = set()
    for start in range(0, len(texts), 512):
        sims = (vectors[start : start + 512] @ vectors.T).toarray()
        for offset, row in enumerate(sims):
            i = start + offset
            row[files == files[i]] = 0.0  # another version of the dataset only
            j = int(np.argmax(row))
            if low <= row[j] < high and (min(i, j), max(i, j)) not in seen:
                seen.add((min(i, j), max(i, j)))
                pairs.append((texts[i], texts[j], None))
    return pairs


def _queue_tags(rows: pd.DataFrame, settings: PairSettings) -> list[Pair]:
    """Consecutive tickets of one (language, queue, first two tags) group."""
    if not {"tag_1", "tag_2", "queue"} <= set(rows):
        return []
    keys = rows[["language", "queue", "tag_1", "tag_2"]].astype(str).agg("|".join, axis=1)
    pairs: list[Pair] = []
    for _, group in rows.groupby(keys):
        texts = group["text"].tolist()
        pairs.extend((a, b, None) for a, b in zip(texts[::2], texts[1::2], strict=False))
    return pairs


def _paraphrase_groups(rows: pd.DataFrame, settings: PairSettings) -> list[Pair]:
    """Every two reports of one hand-written incident group (in the configured languages)."""
    path = Path(settings.paraphrase_file)
    try:
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot read the paraphrase groups ({error})") from error
    pairs: list[Pair] = []
    for name, spec in groups.items():
        if spec["language"] not in settings.languages:
            continue
        texts = [ticket_text(t["subject"], t["body"]) for t in spec["tickets"]]
        pairs.extend((a, b, str(name)) for a, b in itertools.combinations(texts, 2))
    return pairs


def class_pairs(texts: Sequence[str], labels: Sequence[str], pairs: int, seed: int) -> pd.DataFrame:
    """SetFit-style (anchor, positive, label) pairs from labelled tickets: half of one class
    (label 1.0), half of two different classes (0.0), anchors drawn evenly over the classes."""
    rng = np.random.default_rng(seed)
    by_class = pd.Series(range(len(labels))).groupby(np.asarray(labels)).agg(list).to_dict()
    classes = sorted(by_class)
    rows = []
    for i in range(pairs):
        own = classes[i % len(classes)]
        anchor = int(rng.choice(by_class[own]))
        same = i % 2 == 0
        other = own if same else rng.choice([c for c in classes if c != own])
        partner = int(rng.choice(by_class[other]))
        if partner != anchor:
            rows.append((texts[anchor], texts[partner], 1.0 if same else 0.0))
    return pd.DataFrame(rows, columns=["anchor", "positive", "label"])


def fine_tune(
    pairs: pd.DataFrame,
    base_model_dir: str | Path,
    out_dir: Path,
    settings: TrainSettings,
    on_step: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train on pairs; save to `out_dir`. Pairs with a `label` column (1.0 same, 0.0 different)
    train CosineSimilarityLoss, which has explicit negatives (SetFit); without one, each pair is
    a positive and MultipleNegativesRankingLoss takes the batch's other pairs as negatives."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import (
        CosineSimilarityLoss,
        MultipleNegativesRankingLoss,
    )

    torch.manual_seed(settings.seed)
    if settings.threads > 0:
        torch.set_num_threads(settings.threads)
    model = SentenceTransformer(str(base_model_dir), device="cpu")
    model.max_seq_length = settings.max_seq_length
    labelled = "label" in pairs
    loss_fn = CosineSimilarityLoss(model) if labelled else MultipleNegativesRankingLoss(model)
    batches = (_labelled_batches if labelled else _batches)(
        pairs, settings.batch_size, settings.epochs, settings.seed
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate)
    warmup = max(1, int(settings.warmup_ratio * len(batches)))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, _decay(step, batches))
    )
    model.train()
    start, losses = time.process_time(), []
    wall = time.perf_counter()
    for step, (anchors, positives, targets) in enumerate(batches):
        features = [_to_features(model, anchors), _to_features(model, positives)]
        labels = torch.tensor(targets, dtype=torch.float32) if labelled else torch.empty(0)
        loss = loss_fn(features, labels)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.item()))
        if on_step is not None:
            on_step(step, losses[-1])
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    return {
        "pairs": len(pairs),
        "steps": len(batches),
        "first_loss": float(np.mean(losses[:5])) if losses else math.nan,
        "last_loss": float(np.mean(losses[-5:])) if losses else math.nan,
        "cpu_minutes": (time.process_time() - start) / 60.0,
        "wall_minutes": (time.perf_counter() - wall) / 60.0,
    }


def _decay(step: int, batches: Sequence[Any]) -> float:
    return (len(batches) - step) / max(1, len(batches))


def _to_features(model: Any, texts: list[str]) -> dict[str, Any]:
    return dict(model.preprocess(texts))


Batch = tuple[list[str], list[str], list[float]]  # anchors, partners, targets (MNRL: none)


def _batches(pairs: pd.DataFrame, batch_size: int, epochs: int, seed: int) -> list[Batch]:
    """Shuffled batches in which no text and no group appears twice (two reports of one
    incident in a batch would be each other's false negatives). A pair that would repeat one
    is skipped in this epoch."""
    rng = np.random.default_rng(seed)
    out: list[Batch] = []
    for _ in range(epochs):
        batch_a: list[str] = []
        batch_p: list[str] = []
        used: set[str] = set()
        for i in rng.permutation(len(pairs)):
            anchor, positive = pairs.at[i, "anchor"], pairs.at[i, "positive"]
            group = pairs.at[i, "group"]
            keys = {anchor, positive} if pd.isna(group) else {anchor, positive, f"group:{group}"}
            if used & keys:
                continue
            batch_a.append(anchor)
            batch_p.append(positive)
            used |= keys
            if len(batch_a) == batch_size:
                out.append((batch_a, batch_p, []))
                batch_a, batch_p, used = [], [], set()
        if len(batch_a) > 1:
            out.append((batch_a, batch_p, []))
    return out


def _labelled_batches(pairs: pd.DataFrame, batch_size: int, epochs: int, seed: int) -> list[Batch]:
    """Shuffled batches of (anchors, partners, labels): every pair carries its own target."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        order = rng.permutation(len(pairs))
        for start in range(0, len(order), batch_size):
            rows = pairs.iloc[order[start : start + batch_size]]
            out.append((rows["anchor"].tolist(), rows["positive"].tolist(), rows["label"].tolist()))
    return out


def separation(
    embed: Callable[[list[str]], np.ndarray],
    pairs: Sequence[tuple[str, str]],
    texts: Sequence[str],
    seed: int,
    sample: int = 300,
    samples: int = 10,
) -> dict[str, float]:
    """Paraphrase-pair cosine against real neighbouring-ticket cosine, on held-out tickets.

    `pairs` are held-out paraphrase pairs; the neighbours are each ticket's most similar
    other ticket among `sample` random held-out tickets (a 5-minute window at 300 tickets).
    The gap that matters for dedup is how many paraphrase pairs clear the cosine that only
    1 % (or 5 %) of real tickets reach with their nearest neighbour."""
    first = embed([a for a, _ in pairs])
    second = embed([b for _, b in pairs])
    paraphrase = np.sum(first * second, axis=1)
    vectors = embed(list(texts))
    rng = np.random.default_rng(seed)
    nearest = []
    for _ in range(samples):
        rows = rng.choice(len(vectors), min(sample, len(vectors)), replace=False)
        sims = vectors[rows] @ vectors[rows].T
        np.fill_diagonal(sims, -1.0)
        nearest.append(sims.max(axis=1))
    neighbour = np.concatenate(nearest)
    p95, p99 = np.percentile(neighbour, [95, 99])
    return {
        "paraphrase_median": float(np.median(paraphrase)),
        "neighbour_median": float(np.median(neighbour)),
        "neighbour_p95": float(p95),
        "neighbour_p99": float(p99),
        "paraphrase_above_neighbour_p95": float(np.mean(paraphrase > p95)),
        "paraphrase_above_neighbour_p99": float(np.mean(paraphrase > p99)),
    }


def settings_from(cfg: Mapping[str, Any]) -> tuple[PairSettings, TrainSettings]:
    pairs = dict(cfg["pairs"])
    pairs["near_duplicate_band"] = tuple(pairs.get("near_duplicate_band", (0.45, 0.95)))
    pairs["languages"] = tuple(pairs.get("languages", ("en", "de")))
    return PairSettings(**pairs), TrainSettings(**dict(cfg["train"]))

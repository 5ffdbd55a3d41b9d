"""Measure the dedup threshold: paraphrase floods must become one incident, the rest stay apart.

    HF_HUB_OFFLINE=1 python benchmarks/dedup_threshold.py --out docs/dedup_threshold.md

Embeds the hand-written floods (English login outage, German app outage) and unrelated
tickets with the serving embedder, prints the pairwise cosine distributions, then replays
shuffled streams (floods and unrelated tickets interleaved, all inside one window) through
the serving Deduplicator for a range of thresholds.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smart_support.features.embeddings import PACKAGED_MODEL, SentenceEmbedder
from smart_support.routing.dedup import Deduplicator, IncidentAction
from smart_support.routing.flood_samples import FLOODS, UNRELATED, texts

THRESHOLDS = [round(t, 2) for t in np.arange(0.40, 0.86, 0.05)]


@dataclass(frozen=True)
class StreamResult:
    floods_one_incident: int  # floods whose members ended in exactly one incident
    flood_members_attached: float  # share of flood tickets attached to their incident
    unrelated_merged: int  # unrelated tickets grouped with any other ticket
    impure_incidents: int  # incidents holding tickets from more than one source


def replay(vectors: np.ndarray, sources: list[str], threshold: float, seed: int) -> StreamResult:
    """Feed one shuffled stream through the Deduplicator (1 s apart, one window)."""
    order = np.random.default_rng(seed).permutation(len(vectors))
    dedup = Deduplicator(threshold=threshold, window_s=300.0, incident_after=10)
    incident_groups: set[str] = set()
    for step, i in enumerate(order):
        outcome = dedup.observe(str(i), vectors[i], float(step), incident_groups.__contains__)
        if outcome.action is IncidentAction.CREATE:
            incident_groups.add(outcome.decision.group_id)
    window = dedup.window  # final groups, after every merge
    group_of = {int(t): g for t, g in zip(window.ticket_ids, window.group_ids, strict=True)}
    return _score(group_of, sources, incident_groups)


def _score(group_of: dict[int, str], sources: list[str], incidents: set[str]) -> StreamResult:
    members: dict[str, list[int]] = {}
    for i, group in group_of.items():
        members.setdefault(group, []).append(i)
    one, attached, flood_total = 0, 0, 0
    for flood in FLOODS:
        idx = [i for i, s in enumerate(sources) if s == flood]
        flood_incidents = {group_of[i] for i in idx if group_of[i] in incidents}
        one += len(flood_incidents) == 1
        attached += sum(group_of[i] in incidents for i in idx)
        flood_total += len(idx)
    merged = sum(len(members[group_of[i]]) > 1 for i, s in enumerate(sources) if s == "unrelated")
    impure = sum(len({sources[i] for i in members[g]}) > 1 for g in incidents)
    return StreamResult(one, attached / flood_total, merged, impure)


def similarity_rows(vectors: np.ndarray, sources: list[str]) -> list[tuple[str, np.ndarray]]:
    sims = vectors @ vectors.T
    src = np.array(sources)
    rows = []
    for flood in FLOODS:
        idx = np.flatnonzero(src == flood)
        rows.append((f"within {flood}", sims[np.ix_(idx, idx)][np.triu_indices(len(idx), 1)]))
    unrelated = np.flatnonzero(src == "unrelated")
    rows.append(
        (
            "unrelated vs unrelated",
            sims[np.ix_(unrelated, unrelated)][np.triu_indices(len(unrelated), 1)],
        )
    )
    flood_idx = np.flatnonzero(src != "unrelated")
    rows.append(("flood vs unrelated", sims[np.ix_(flood_idx, unrelated)].ravel()))
    return rows


def markdown(vectors: np.ndarray, sources: list[str], seeds: int) -> tuple[str, float]:
    lines = ["| pairs | n | min | p10 | median | p90 | max |", "|---|---|---|---|---|---|---|"]
    for name, values in similarity_rows(vectors, sources):
        q = np.percentile(values, [0, 10, 50, 90, 100])
        lines.append(f"| {name} | {len(values)} | " + " | ".join(f"{v:.3f}" for v in q) + " |")
    lines += [
        "",
        f"| threshold | floods → exactly one incident (of {len(FLOODS) * seeds}) "
        "| flood tickets attached | unrelated tickets merged (mean per stream) "
        "| streams with any unrelated merge | impure incidents |",
        "|---|---|---|---|---|---|",
    ]
    safe = []
    for threshold in THRESHOLDS:
        runs = [replay(vectors, sources, threshold, seed) for seed in range(seeds)]
        one = sum(r.floods_one_incident for r in runs)
        merged = np.mean([r.unrelated_merged for r in runs])
        any_merge = sum(r.unrelated_merged > 0 for r in runs)
        impure = sum(r.impure_incidents for r in runs)
        attached = np.mean([r.flood_members_attached for r in runs])
        if one == len(FLOODS) * seeds and any_merge == 0 and impure == 0:
            safe.append(threshold)
        lines.append(
            f"| {threshold:.2f} | {one} | {attached:.0%} | {merged:.2f} | {any_merge} | {impure} |"
        )
    chosen = float(np.median(safe)) if safe else float("nan")
    return "\n".join(lines), chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="shuffled streams per threshold")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown report here")
    args = parser.parse_args()
    sources, all_texts = [], []
    for name, pairs in [*FLOODS.items(), ("unrelated", UNRELATED)]:
        sources += [name] * len(pairs)
        all_texts += texts(pairs)
    vectors = SentenceEmbedder(PACKAGED_MODEL, max_seq_length=128).encode(all_texts)
    table, chosen = markdown(vectors, sources, args.seeds)
    report = (
        f"{table}\n\nSafe thresholds (every flood one pure incident, no unrelated merge in any "
        f"stream) — chosen default: the median of the safe range, **{chosen:.2f}**.\n"
    )
    print(report)
    if args.out:
        args.out.write_text(_document(report, args.seeds, len(sources)))


def _document(report: str, seeds: int, n_tickets: int) -> str:
    floods = ", ".join(f"{name} ({len(pairs)} paraphrases)" for name, pairs in FLOODS.items())
    return (
        "# Dedup threshold\n\n"
        "Generated by `HF_HUB_OFFLINE=1 python benchmarks/dedup_threshold.py "
        "--out docs/dedup_threshold.md`.\n\n"
        f"Embedder: {PACKAGED_MODEL} (max_seq_length 128). Floods: {floods}; "
        f"{len(UNRELATED)} unrelated tickets (billing, legal, other technical issues, EN+DE). "
        f"Each threshold replays {seeds} shuffled streams of all {n_tickets} tickets inside one "
        "300 s window through `Deduplicator` (incident when a group exceeds 10 tickets). A "
        "ticket is a duplicate when its cosine to a window ticket or a group centroid is "
        "above the threshold.\n\n"
        f"{report}"
    )


if __name__ == "__main__":
    main()

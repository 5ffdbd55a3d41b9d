"""Measure the dedup threshold and grouping rule on real ticket traffic with injected floods.

    HF_HUB_OFFLINE=1 python -m benchmarks.dedup_threshold --part dev        # tune
    HF_HUB_OFFLINE=1 python -m benchmarks.dedup_threshold --part heldout \
        --variants b4 --thresholds 0.75 --out docs/dedup_threshold.md          # final numbers

Background traffic is real: the prepared test split (`data/prepared/test.parquet`, made by
the DVC pipeline; the script stops with a message when it is missing), embedded by the
serving embedder as configured in conf/serve (`dedup.backend`, `dedup.max_seq_length`).
No ticket text is printed or written: only vectors are used.

Each stream is three 5-minute windows of real tickets at a given rate (tickets per window),
optionally with one flood spread over the middle window: a hand-written paraphrase flood
(tests/floods: `dev` and `dev2` to tune on, `heldout`, `final` ... `final4` for the final
numbers) or, with `--part copies`, one real ticket of the traffic split resubmitted 14 times.
Streams go through the serving `Deduplicator` for every grouping rule and threshold; the
report counts floods caught as exactly one incident, the share of flood tickets inside it,
false incidents per window and real tickets attached to a flood's incident.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from smart_support.features.embeddings import Embedder, dedup_encoder_model, shared_embedder
from smart_support.routing.dedup import (
    Deduplicator,
    GroupingRule,
    IncidentAction,
    Novelty,
    UsualRate,
)
from tests.floods import PARTS, Flood, load_floods
from tests.floods.samples import UNRELATED, texts

ROOT = Path(__file__).resolve().parents[1]
PREPARED_DIR = ROOT / "data" / "prepared"
PREPARED = PREPARED_DIR / "test.parquet"  # --traffic val: the validation split (tuning)
REFERENCE = ROOT / "data" / "prepared" / "train.parquet"  # ordinary traffic for UsualRate
CONFIG = ROOT / "conf" / "serve" / "default.yaml"

THRESHOLDS = [round(float(t), 3) for t in np.arange(0.55, 0.901, 0.025)]
RATES = (100, 300)  # real tickets per 5-minute window
WINDOW_S = 300.0
WINDOWS = 3  # stream length in windows; a flood arrives inside the middle one


@dataclass(frozen=True)
class Variant:
    key: str
    rule: GroupingRule
    min_matches: int
    description: str
    usual_rate: bool = False  # discount the topic's rate in the train split (UsualRate)
    novelty: float | None = None  # only tickets without a train-split twin this close group
    significance: float | None = None  # usual_rate: a burst is this unlikely (-log10 Poisson)
    near_copy: float | None = None  # burst: outside a burst, still link above this cosine
    cohesion: float | None = None  # burst: share of the close tickets' pairs that are close


VARIANTS = (
    Variant("a", GroupingRule.LINK, 1, "join the best match (member or centroid), merge groups"),
    Variant("b", GroupingRule.NEAREST, 1, "join the best match (member or centroid), no merges"),
    Variant("c", GroupingRule.CENTROID, 1, "join the best centroid (lone ticket = itself)"),
    Variant("d2", GroupingRule.DENSE, 2, "join when above threshold to min(2, size) members"),
    Variant("d3", GroupingRule.DENSE, 3, "join when above threshold to min(3, size) members"),
    Variant("d4", GroupingRule.DENSE, 4, "join when above threshold to min(4, size) members"),
    Variant("b3", GroupingRule.BURST, 3, "burst: close to 3 window tickets links them all"),
    Variant("b4", GroupingRule.BURST, 4, "burst: close to 4 window tickets links them all"),
    Variant("b5", GroupingRule.BURST, 5, "burst: close to 5 window tickets links them all"),
    Variant("u3", GroupingRule.BURST, 3, "burst over the usual rate: 3 more than usual", True),
    Variant("u4", GroupingRule.BURST, 4, "burst over the usual rate: 4 more than usual", True),
    Variant("u5", GroupingRule.BURST, 5, "burst over the usual rate: 5 more than usual", True),
    *(
        Variant(
            f"p{k}s{s}",
            GroupingRule.BURST,
            k,
            f"significant burst: {k}+ close, a 1e-{s} chance in usual traffic",
            True,
            significance=float(s),
        )
        for k in (3, 4)
        for s in (3, 4, 5, 6, 7, 8)
    ),
    Variant(
        "n3", GroupingRule.BURST, 3, "burst of new topics (no train twin >= 0.76)", novelty=0.76
    ),
    *(
        Variant(
            f"p3s{s}l{round(100 * c)}",
            GroupingRule.BURST,
            3,
            f"significant burst (3+ close, 1e-{s}), else link near copies above {c}",
            True,
            significance=float(s),
            near_copy=c,
        )
        for s in (5, 6, 7)
        for c in (0.8, 0.85, 0.9)
    ),
    *(
        Variant(
            f"p3s6l85c{round(100 * q)}",
            GroupingRule.BURST,
            3,
            f"as p3s6l85, and a burst's close tickets are close to one another ({q} of pairs)",
            True,
            significance=6.0,
            near_copy=0.85,
            cohesion=q,
        )
        for q in (0.3, 0.4, 0.5)
    ),
)


@dataclass(frozen=True)
class StreamScore:
    flood: str | None
    one_incident: bool  # the flood's tickets sit in exactly one incident, a flood incident
    recall: float  # share of the flood's tickets in its incident
    false_incidents: int  # incidents without flood tickets or with mostly real members
    real_in_flood_incident: int  # real tickets attached to the flood's incident


# --- data ------------------------------------------------------------------------------


SYNTHETIC = 1_500  # --traffic synthetic: the load test's background tickets, seeded


def synthetic_traffic() -> np.ndarray:
    """--traffic synthetic: the load test's template tickets (traffic unlike the reference),
    seeded, embedded by the serving embedder."""
    from benchmarks.loadtest import background_ticket

    rng = random.Random(0)
    tickets = [background_ticket(rng) for _ in range(SYNTHETIC)]
    return embedder().encode(texts(tuple((t["subject"], t["body"]) for t in tickets)))


def load_real_traffic() -> np.ndarray:
    """The prepared split (--traffic: test, or val to tune), embedded by the serving embedder."""
    if not PREPARED.exists():
        sys.exit(
            f"missing {PREPARED.relative_to(ROOT)}: it comes from the DVC pipeline (prepare "
            "stage). Run `dvc repro prepare` (or `dvc pull`) first."
        )
    import pandas as pd

    return embedder().encode(pd.read_parquet(PREPARED, columns=["text"])["text"].tolist())


COPIES = 20  # --part copies: real tickets of the traffic split, each sent COPY_TIMES times
COPY_TIMES = 14


def copy_floods(seed: int = 0) -> dict[str, Flood]:
    """Near-verbatim floods (`--part copies`): real EN and DE tickets of the traffic split,
    each sent 14 times, as a customer or a monitor resubmitting one report, every copy with its
    own reference number. What the earlier rule (link 0.85) was built for: a rule that catches
    paraphrases must still catch these."""
    import pandas as pd

    frame = pd.read_parquet(PREPARED, columns=["subject", "body", "language"])
    frame = frame[frame["language"].isin(["en", "de"])].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    floods = {}
    for row in rng.choice(len(frame), COPIES, replace=False):
        subject, body, language = frame.loc[row, ["subject", "body", "language"]]
        tickets = tuple(
            (str(subject), f"{body}\n\nRef. {rng.integers(10_000, 100_000)}")
            for _ in range(COPY_TIMES)
        )
        name = f"{language}_copy_{row}"
        floods[name] = Flood(name, str(language), tickets)
    return floods


def load_reference() -> np.ndarray:
    """The train split embedded by the serving embedder: the usual rate of every topic."""
    import pandas as pd

    return embedder().encode(pd.read_parquet(REFERENCE, columns=["text"])["text"].tolist())


def serving_dedup() -> dict:
    return yaml.safe_load(CONFIG.read_text())["dedup"]


ENCODER: str | None = None  # --encoder: a model other than the configured one


def encoder_model() -> str:
    """The encoder measured: --encoder, else the configured one (packaged when not built)."""
    return ENCODER or dedup_encoder_model(serving_dedup().get("finetuned"), ROOT)


def embedder() -> Embedder:
    dedup = serving_dedup()
    return shared_embedder(
        encoder_model(), int(dedup["max_seq_length"]), str(dedup.get("backend", "torch")), 1
    )


def incident_after() -> int:
    return int(serving_dedup()["incident_after"])


def stream(
    real: np.ndarray, floods: dict[str, np.ndarray], rate: int, flood: str | None, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectors, arrival times and is-flood flags of one stream, in arrival order.

    The background depends only on (rate, seed), so every flood and every rule meets the
    same real traffic for a given seed."""
    rng = np.random.default_rng([seed, rate])
    n = min(rate * WINDOWS, len(real))
    rows = rng.choice(len(real), n, replace=False)
    times = rng.uniform(0.0, WINDOW_S * WINDOWS, n)
    vectors, is_flood = real[rows], np.zeros(n, dtype=bool)
    if flood is not None:
        f_rng = np.random.default_rng([seed, rate, 1 + list(floods).index(flood)])
        flood_vectors = floods[flood][f_rng.permutation(len(floods[flood]))]
        flood_times = f_rng.uniform(WINDOW_S, 2 * WINDOW_S, len(flood_vectors))
        vectors = np.concatenate([vectors, flood_vectors])
        times = np.concatenate([times, flood_times])
        is_flood = np.concatenate([is_flood, np.ones(len(flood_vectors), dtype=bool)])
    order = np.argsort(times, kind="stable")
    return vectors[order], times[order], is_flood[order]


# --- replay and scoring ----------------------------------------------------------------


def replay(
    vectors: np.ndarray, times: np.ndarray, variant: Variant, threshold: float
) -> tuple[dict[str, list[int]], set[str]]:
    """Final members of every group (merges applied, as the store does) and incident groups."""
    dedup = Deduplicator(
        threshold,
        window_s=WINDOW_S,
        incident_after=incident_after(),
        rule=variant.rule,
        min_matches=variant.min_matches,
        usual_rate=UsualRate(_REFERENCE, variant.significance) if variant.usual_rate else None,
        novelty=None if variant.novelty is None else Novelty(_REFERENCE, variant.novelty),
        near_copy=variant.near_copy,
        cohesion=variant.cohesion,
    )
    incidents: set[str] = set()
    members: dict[str, list[int]] = {}
    for i, (vector, created_at) in enumerate(zip(vectors, times, strict=True)):
        outcome = dedup.observe(str(i), vector, float(created_at), incidents.intersection)
        group = outcome.decision.group_id
        for source in outcome.decision.merged_groups:
            members.setdefault(group, []).extend(members.pop(source, []))
        members.setdefault(group, []).append(i)
        if outcome.action is IncidentAction.CREATE:
            incidents.add(group)
    return members, incidents


def score(
    members: dict[str, list[int]], incidents: set[str], is_flood: np.ndarray, flood: str | None
) -> StreamScore:
    flood_incidents, false_incidents = [], 0
    for group in incidents:
        n_flood = int(is_flood[members[group]].sum())
        if 2 * n_flood > len(members[group]):
            flood_incidents.append(group)
        else:
            false_incidents += 1
    if flood is None or not flood_incidents:
        return StreamScore(flood, False, 0.0, false_incidents, 0)
    main = max(flood_incidents, key=lambda g: int(is_flood[members[g]].sum()))
    holding = [g for g in incidents if is_flood[members[g]].any()]
    caught = int(is_flood[members[main]].sum())
    return StreamScore(
        flood,
        one_incident=holding == [main],
        recall=caught / int(is_flood.sum()),
        false_incidents=false_incidents,
        real_in_flood_incident=len(members[main]) - caught,
    )


_REAL: np.ndarray | None = None
_FLOODS: dict[str, np.ndarray] = {}
_REFERENCE: np.ndarray = np.zeros((0, 384), dtype=np.float32)


def _init(real: np.ndarray, floods: dict[str, np.ndarray], reference: np.ndarray) -> None:
    global _REAL, _FLOODS, _REFERENCE
    _REAL, _FLOODS, _REFERENCE = real, floods, reference


def _run_one(task: tuple[int, str, float, int, str | None]) -> tuple[tuple, StreamScore]:
    rate, variant_key, threshold, seed, flood = task
    assert _REAL is not None
    variant = next(v for v in VARIANTS if v.key == variant_key)
    vectors, times, is_flood = stream(_REAL, _FLOODS, rate, flood, seed)
    members, incidents = replay(vectors, times, variant, threshold)
    return (rate, variant_key, threshold), score(members, incidents, is_flood, flood)


def simulate(
    real: np.ndarray,
    floods: dict[str, np.ndarray],
    seeds: int,
    workers: int,
    variants: tuple[Variant, ...] = VARIANTS,
    reference: np.ndarray | None = None,
) -> dict[tuple, list[StreamScore]]:
    tasks = [
        (rate, variant.key, threshold, seed, flood)
        for rate in RATES
        for variant in variants
        for threshold in THRESHOLDS
        for seed in range(seeds)
        for flood in [None, *floods]
    ]
    results: dict[tuple, list[StreamScore]] = {}
    with ProcessPoolExecutor(
        workers,
        initializer=_init,
        initargs=(real, floods, reference if reference is not None else _REFERENCE),
    ) as pool:
        for key, result in pool.map(_run_one, tasks, chunksize=8):
            results.setdefault(key, []).append(result)
    return results


# --- report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    false_per_window: float
    caught: dict[str, float]  # flood -> share of its streams caught as exactly one incident
    recall: dict[str, float]  # flood -> mean share of its tickets in the incident
    target: dict[str, float]  # flood -> share of its streams: one incident with >= 80 %
    real_attached: float  # mean real tickets in a flood's incident, per flood stream


def summarise(scores: list[StreamScore], floods: list[str]) -> Row:
    per_flood = {f: [s for s in scores if s.flood == f] for f in floods}
    flood_scores = [s for s in scores if s.flood is not None]
    return Row(
        false_per_window=sum(s.false_incidents for s in scores) / (len(scores) * WINDOWS),
        caught={f: float(np.mean([s.one_incident for s in v])) for f, v in per_flood.items()},
        recall={f: float(np.mean([s.recall for s in v])) for f, v in per_flood.items()},
        target={f: float(np.mean([meets_target(s) for s in v])) for f, v in per_flood.items()},
        real_attached=float(np.mean([s.real_in_flood_incident for s in flood_scores])),
    )


TARGET_RECALL = 0.8  # issue 15: one incident holding at least 80 % of the flood


def meets_target(score: StreamScore) -> bool:
    return score.one_incident and score.recall >= TARGET_RECALL


def by_language(floods: dict[str, Flood]) -> dict[str, list[str]]:
    languages: dict[str, list[str]] = {}
    for name, flood in floods.items():
        languages.setdefault(flood.language, []).append(name)
    return languages


def rule_table(rows: dict[float, Row], languages: dict[str, list[str]]) -> str:
    """Per language: floods' mean share of streams with one incident / mean recall / share of
    streams meeting the target (one incident with >= 80 % of the flood)."""
    head = " | ".join(f"{lang} floods: one incident / recall / target met" for lang in languages)
    lines = [
        f"| threshold | false incidents per window | {head} | real tickets in a flood incident |",
        "|---" * (3 + len(languages)) + "|",
    ]
    for threshold, row in rows.items():
        cells = " | ".join(
            f"{np.mean([row.caught[f] for f in names]):.0%} / "
            f"{np.mean([row.recall[f] for f in names]):.0%} / "
            f"{np.mean([row.target[f] for f in names]):.0%}"
            for names in languages.values()
        )
        lines.append(
            f"| {threshold:.3f} | {row.false_per_window:.3f} | {cells} | {row.real_attached:.2f} |"
        )
    return "\n".join(lines)


def flood_table(row: Row, floods: dict[str, Flood]) -> str:
    lines = [
        "| flood | language | tickets | one incident | recall | target met |",
        "|---|---|---|---|---|---|",
    ]
    for name, flood in floods.items():
        lines.append(
            f"| {name} | {flood.language} | {len(flood.tickets)} | {row.caught[name]:.0%} | "
            f"{row.recall[name]:.0%} | {row.target[name]:.0%} |"
        )
    return "\n".join(lines)


def choose(
    table: dict[tuple[int, str], dict[float, Row]],
    floods: list[str],
    variants: tuple[Variant, ...] = VARIANTS,
) -> tuple[Variant, float, float, float] | None:
    """The clean setting that catches the most floods.

    Clean: zero false incidents at every rate, at this threshold and one step below it (a
    margin against traffic a little denser than the sample). Among clean settings the one
    where most flood streams meet the target (one incident, >= 80 % of the flood) at the
    highest rate wins, then the highest mean recall; ties go to the rule listed first and the
    lower threshold. Returns (variant, threshold, target share, recall)."""
    best: tuple[float, float, Variant, float] | None = None
    for variant in variants:
        for i, threshold in enumerate(THRESHOLDS[1:], start=1):
            steps = (THRESHOLDS[i - 1], threshold)
            clean = all(
                table[(rate, variant.key)][t].false_per_window == 0 for rate in RATES for t in steps
            )
            if not clean:
                continue
            row = table[(max(RATES), variant.key)][threshold]
            met = float(np.mean([row.target[f] for f in floods]))
            recall = float(np.mean([row.recall[f] for f in floods]))
            if best is None or (met, recall) > (best[0] + 1e-9, best[1] + 1e-9):
                best = (met, recall, variant, threshold)
    return None if best is None else (best[2], best[3], best[0], best[1])


def similarity_table(real: np.ndarray, floods: dict[str, np.ndarray], unrelated: np.ndarray) -> str:
    lines = ["| pairs | n | min | p10 | median | p90 | max |", "|---|---|---|---|---|---|---|"]

    def row(name: str, values: np.ndarray) -> None:
        q = np.percentile(values, [0, 10, 50, 90, 100])
        lines.append(f"| {name} | {len(values)} | " + " | ".join(f"{v:.3f}" for v in q) + " |")

    for name, vectors in floods.items():
        row(f"within {name}", _upper(vectors @ vectors.T))
    row("hand-written unrelated vs unrelated", _upper(unrelated @ unrelated.T))
    sample = real[np.random.default_rng(0).choice(len(real), 300, replace=False)]
    row("real vs real (300 random test tickets)", _upper(sample @ sample.T))
    all_floods = np.concatenate(list(floods.values()))
    row("flood vs real (all test tickets)", (all_floods @ real.T).ravel())
    return "\n".join(lines)


def neighbour_table(real: np.ndarray, samples: int = 20) -> str:
    """How many of 300 random real tickets have a neighbour above each cosine."""
    cuts = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
    shares = {c: [] for c in cuts}
    for seed in range(samples):
        rows = np.random.default_rng([seed, 300]).choice(len(real), 300, replace=False)
        sims = real[rows] @ real[rows].T
        np.fill_diagonal(sims, -1.0)
        nearest = sims.max(axis=1)
        for c in cuts:
            shares[c].append(float(np.mean(nearest > c)))
    head = " | ".join(f"> {c:.2f}" for c in cuts)
    cells = " | ".join(f"{np.mean(shares[c]):.1%}" for c in cuts)
    return f"| nearest neighbour cosine | {head} |\n|---{'|---' * len(cuts)}|\n| share | {cells} |"


def _upper(square: np.ndarray) -> np.ndarray:
    return square[np.triu_indices(len(square), 1)]


def report(
    real: np.ndarray,
    floods: dict[str, np.ndarray],
    unrelated: np.ndarray,
    results: dict[tuple, list[StreamScore]],
    variants: tuple[Variant, ...],
    flood_sets: dict[str, Flood],
) -> str:
    names = list(floods)
    languages = by_language(flood_sets)
    table = {
        (rate, v.key): {t: summarise(results[(rate, v.key, t)], names) for t in THRESHOLDS}
        for rate in RATES
        for v in variants
    }
    chosen = choose(table, names, variants)
    parts = [
        "## Similarities\n",
        similarity_table(real, floods, unrelated),
        "\nReal tickets with a neighbour above a cosine, among 300 random test tickets "
        "(mean of 20 samples):\n",
        neighbour_table(real),
    ]
    for rate in RATES:
        parts.append(f"\n## {rate} real tickets per 5-minute window\n")
        for v in variants:
            parts.append(
                f"### ({v.key}) {v.rule.value}, min_matches {v.min_matches}: {v.description}\n"
            )
            parts.append(rule_table(table[(rate, v.key)], languages) + "\n")
    if len(variants) == 1 and len(THRESHOLDS) == 1:
        row = table[(max(RATES), variants[0].key)][THRESHOLDS[0]]
        parts.append(f"\n## Each flood at {max(RATES)} real tickets per window\n")
        parts.append(flood_table(row, flood_sets) + "\n")
    if chosen is None:
        parts.append("\n## Choice\n\nNo rule and threshold were clean at every rate.\n")
    else:
        variant, threshold, met, recall = chosen
        parts.append(
            "\n## Choice\n\n"
            f"Selected by the script: **rule `{variant.rule.value}`, min_matches "
            f"{variant.min_matches}, threshold {threshold:.3f}** (variant {variant.key}): zero "
            "false incidents at every rate at this threshold and one step below it, and the "
            f"most flood streams meeting the target among such settings ({met:.0%}, mean "
            f"recall {recall:.0%} at {max(RATES)} tickets per window).\n"
        )
    return "\n".join(parts)


def main() -> None:
    global ENCODER, THRESHOLDS, PREPARED
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="streams per flood and setting")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=None, help="write the markdown report here")
    parser.add_argument(
        "--part",
        choices=(*PARTS, "copies"),
        default="dev",
        help="flood set: dev, dev2 (tune); heldout, final, final2, final3, final4 (report); "
        "copies (real tickets of the traffic split resubmitted)",
    )
    parser.add_argument(
        "--traffic",
        choices=("val", "test", "synthetic"),
        default="test",
        help="background: the validation split (tuning), the test split (report), or the load "
        "test's template tickets (synthetic: false incidents on traffic unlike the reference)",
    )
    parser.add_argument("--encoder", default=None, help="model to measure (default: conf/serve)")
    parser.add_argument(
        "--thresholds", default=None, help="comma-separated cosines (default: 0.55-0.90)"
    )
    parser.add_argument(
        "--variants",
        default=",".join(v.key for v in VARIANTS),
        help="grouping rules to compare, by key (default: all)",
    )
    args = parser.parse_args()
    keys = args.variants.split(",")
    variants = tuple(v for v in VARIANTS if v.key in keys)
    if len(variants) != len(keys):
        sys.exit(f"unknown variant in {keys}; known: {[v.key for v in VARIANTS]}")
    ENCODER = args.encoder
    if args.traffic == "synthetic" and args.part == "copies":
        parser.error("--part copies resubmits tickets of a prepared split: --traffic val or test")
    PREPARED = PREPARED_DIR / f"{args.traffic}.parquet"
    if args.thresholds:
        THRESHOLDS = [float(t) for t in args.thresholds.split(",")]
    flood_sets = copy_floods() if args.part == "copies" else load_floods(args.part)
    real = synthetic_traffic() if args.traffic == "synthetic" else load_real_traffic()
    floods = {name: embedder().encode(flood.texts) for name, flood in flood_sets.items()}
    unrelated = embedder().encode(texts(UNRELATED))
    needs_reference = any(v.usual_rate or v.novelty is not None for v in variants)
    reference = load_reference() if needs_reference else None
    results = simulate(real, floods, args.seeds, args.workers, variants, reference)
    body = report(real, floods, unrelated, results, variants, flood_sets)
    print(body)
    if args.out:
        args.out.write_text(_document(body, args, len(real), flood_sets))


def _document(body: str, args: argparse.Namespace, n_real: int, floods: dict[str, Flood]) -> str:
    names = ", ".join(f"`{name}` ({len(f.tickets)}, {f.language})" for name, f in floods.items())
    dedup = serving_dedup()
    options = f"--part {args.part} --seeds {args.seeds} --variants {args.variants}"
    if args.thresholds:
        options += f" --thresholds {args.thresholds}"
    return "\n".join(
        [
            "# Dedup threshold and grouping rule",
            "",
            f"Generated by `HF_HUB_OFFLINE=1 python -m benchmarks.dedup_threshold {options} "
            "--out docs/dedup_threshold.md`; the reasoning below the tables is part of the "
            "script's template.",
            "",
            "## Method",
            "",
            f"- Embedder: `{encoder_model()}` as served (conf/serve `dedup`: backend "
            f"{dedup['backend']}, max_seq_length {dedup['max_seq_length']}), unit vectors.",
            f"- Real traffic: the {n_real} tickets of the prepared {args.traffic} split "
            f"(`data/prepared/{args.traffic}.parquet`, made by the DVC pipeline, not part of the "
            "repository; the dataset is CC BY-NC, so none of its text is copied here), "
            "embedded by the serving embedder.",
            f"- Floods (`tests/floods/{args.part}.yaml`, hand-written, {len(floods)} floods): "
            f"{names}. The rule and threshold were chosen on `tests/floods/dev.yaml`; "
            "`heldout.yaml` is used only for the final numbers.",
            f"- Streams: {WINDOWS} windows of {WINDOW_S:.0f} s; real tickets drawn without "
            "replacement at the stated rate with uniform arrival times; a flood, when "
            "present, arrives at uniform times inside the middle window. Per rate, rule and "
            f"threshold: {args.seeds} seeds x (one stream without a flood + one per flood); a "
            "seed gives the same real traffic to every rule, threshold and flood.",
            "- Every stream goes through the serving `Deduplicator` (an incident opens when a "
            f"group reaches {incident_after() + 1} window tickets). Group members are final "
            "labels after merges, as the store keeps them.",
            "- Columns: *false incidents per window* = incidents with no flood ticket or "
            "mostly real members, over all streams of the row, per 5-minute window; "
            "*one incident* = share of a flood's streams where its tickets sit in exactly "
            "one incident and that incident is mostly flood; *recall* = mean share of the "
            "flood's tickets in that incident; *real tickets in a flood incident* = real "
            "tickets attached to the flood's incident, mean per flood stream.",
            "",
            body,
            REASONING,
        ]
    )


REASONING = """
## Reasoning (numbers from the run above)

- Encoder as served: all-MiniLM-L6-v2 through ONNX Runtime with int8 weights, on the first 32
  tokens (subject + start of the body), ~4x cheaper than torch float32 on 128 tokens (the
  earlier measurement, git history of this file). Flood similarities barely move (within-flood
  medians 0.567-0.843, were 0.593-0.848); real tickets come a little closer to each other
  (real-vs-real p90 0.410, was 0.340; 57.5% have a neighbour above 0.6 among 300, was 41.3%),
  so chaining starts at higher thresholds than before.
- Real traffic is dense. Tickets on a shared topic (a billing dispute, an integration error)
  sit at 0.6-0.75 from each other, the band of loose paraphrases of one outage. Single-link
  grouping (a) chains them: at 300 tickets per window 0.60 opens 1.5 false Master Incidents
  per window; (a) is clean at 300 per window from 0.80 up (0.775: 0.10, 0.75: 0.40).
- No setting separates the loose floods (`en_login_outage`, `de_app_outage`) or the German
  flood (`de_login_503`) from real topical clusters: their pairwise cosines (median
  0.57-0.62) are no higher than those of the real clusters that become false incidents. At
  300 tickets per window every threshold that catches one of them in at least half of its
  streams opens at least 0.8 false incidents per window. all-MiniLM-L6-v2 is an English
  model; catching these floods needs a multilingual embedder, not a lower threshold (the unit
  tests mark them xfail).
- The close English flood (`en_login_503`, pairwise median 0.84, like real outage reports)
  is separable: (a) keeps it in one incident in every stream from 0.55 to 0.875.
- Chosen: (a) `link` at **0.85**: clean at both rates from 0.80 to 0.90, so two steps
  (0.05) of clean margin below it for traffic denser than this sample; the close flood is one
  incident in every stream with 91% of its tickets. The script's criterion (most flood
  recall with one step of margin) picks 0.825 (93%); we keep the wider margin because the
  32-token vectors put real tickets closer together than the 128-token ones did.

## Caveats

- The floods are hand-written and small; the unit tests use the same fixtures, so they
  guard the chosen setting against regressions rather than estimate live precision.
  Re-run this script on labelled real floods when some exist.
- The real traffic is one dataset's test split (1345 tickets; 900 of them per stream at
  300 tickets per window), so streams of one rate overlap heavily: zero false incidents
  in 150 simulated windows (10 seeds) bounds the rate at roughly 1 in 50 windows (95%),
  not at zero. Denser or more repetitive live traffic needs a higher threshold; watch the
  incident log.
- This run measured rule (a) only (`--variants a`). All six rules were compared on the
  torch/128-token vectors (git history of this file), and (a) against dense (d3) on int8
  64-token vectors: the no-merge rules are clean from lower thresholds, but their catch of
  the close flood depends on arrival order and moves non-monotonically with the threshold
  (d3 at 300 per window: one incident in 100%, 100%, 90%, 100%, 70% of streams from 0.70 to
  0.80), where (a) catches it in every stream across its clean range.
- A group of 11 real tickets that really do report the same problem is counted as a
  false incident here; the test split has no incident labels.
"""


if __name__ == "__main__":
    main()

"""Drift replay on the shared real sample: does the monitor stay quiet on unshifted traffic and
flag shifted traffic?

M1 (the champion of the last pipeline run, default settings, no search) is fitted on the train
split; the reference is what the `drift_reference` stage computes: M1 and the served dedup
encoder on the validation split. Streams are replayed ticket by ticket through a
`DriftMonitor` with the served settings (conf/serve `drift`):

- test split, shuffled (no drift expected)
- train split (the inputs do not drift; M1's confidences on its own training data do)
- German only, English only (detected language; test + train tickets)
- one queue family: Technical only (labelled tickets of test + train)

    python -m benchmarks.drift_replay [--data tickets.csv] [--limit 1000]
      -> benchmarks/results/drift_replay.json, docs/drift_replay.png
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, ROOT
from smart_support.config import compose_config, to_dict
from smart_support.data.prepare import prepare_tickets
from smart_support.data.sources import load_tickets
from smart_support.models.training import SplitData, train_milestone
from smart_support.monitoring.champion_reference import ServedView, model_reference, served_view
from smart_support.monitoring.drift import FEATURES, DriftMonitor, DriftObservation
from smart_support.serving.bento_models import dedup_encoder
from smart_support.serving.settings import DriftSettings, ServeSettings

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "tickets.csv"
CHART = ROOT / "docs" / "drift_replay.png"
FLOOR = 1e-3  # the chart's log axis starts here


class StepClock:
    """One second per ticket."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t


def replay(
    reference: Any, settings: DriftSettings, observations: list[DriftObservation]
) -> dict[str, Any]:
    clock = StepClock()
    monitor = DriftMonitor(reference, settings, clock)
    for observation in observations:
        clock.t += 1.0
        monitor.observe([observation])
        monitor.take_alert()
    history = monitor.history()
    points = history["history"]
    return {
        "tickets": len(observations),
        "final_state": monitor.state,
        "alerts": monitor.alerts_raised,
        "first_drifted_at_ticket": next(
            (int(p["t"]) for p in points if p["state"] == "drifted"), None
        ),
        "max_scores": {
            f: max((p["scores"].get(f, 0.0) for p in points), default=0.0) for f in FEATURES
        },
        "final_scores": history["scores"],
        "trajectory": [{"ticket": int(p["t"]), **p["scores"]} for p in points],
    }


def select(views: list[ServedView], frames: list[Any], keep: Any) -> list[DriftObservation]:
    chosen = []
    for view, frame in zip(views, frames, strict=True):
        observations = view.observations()
        for i, row in enumerate(frame.itertuples(index=False)):
            if keep(row, view.languages[i]):
                chosen.append(observations[i])
    return chosen


def plot(results: dict[str, Any], settings: DriftSettings, path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib missing: no chart"
    fig, axes = plt.subplots(1, len(FEATURES), figsize=(18, 3.6), sharex=True)
    for ax, feature in zip(axes, FEATURES, strict=True):
        for name, result in results.items():
            xs = [p["ticket"] for p in result["trajectory"]]
            ys = [max(p.get(feature, np.nan), FLOOR) for p in result["trajectory"]]
            ax.plot(xs, ys, label=name, linewidth=1.6)
        ax.axhline(settings.threshold(feature), color="red", linestyle="--", linewidth=1)
        ax.set_title(f"{feature} ({'centroid shift' if feature == 'embedding' else 'PSI'})")
        ax.set_xlabel("tickets replayed")
        ax.set_yscale("log")
        ax.set_ylim(bottom=FLOOR)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Drift replay: window 500 tickets vs the validation reference (dashed: threshold)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return str(path.relative_to(ROOT))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("SMART_SUPPORT_DATA", DEFAULT_DATA))
    )
    parser.add_argument("--limit", type=int, default=1000, help="tickets per stream at most")
    args = parser.parse_args(argv)

    cfg = compose_config(["tune.n_trials=0"])
    params = to_dict(cfg)
    frames, _ = prepare_tickets(load_tickets(str(args.data)), params["data"], params["labels"], 42)
    splits = {name: SplitData(frame) for name, frame in frames.items()}
    model = train_milestone(
        params["models"]["m1"],
        params["tune"],
        str(params["labels"]["name"]),
        splits["train"],
        splits["val"],
        42,
        params["urgency_alert"],
    ).model
    serve = ServeSettings.from_config(cfg.serve)
    embedder = dedup_encoder(serve)
    reference = model_reference(model, embedder, splits["val"].texts, {"split": "val"})
    test, train = (served_view(model, embedder, splits[s].texts) for s in ("test", "train"))
    both, both_frames = [test, train], [splits["test"].frame, splits["train"].frame]

    rng = random.Random(42)

    def shuffled(observations: list[DriftObservation]) -> list[DriftObservation]:
        observations = list(observations)
        rng.shuffle(observations)
        return observations[: args.limit]

    streams = {
        "test split": shuffled(test.observations()),
        "train split": shuffled(train.observations()),
        "German only": shuffled(select(both, both_frames, lambda _r, lang: lang == "de")),
        "English only": shuffled(select(both, both_frames, lambda _r, lang: lang == "en")),
        "Technical only": shuffled(
            select(
                both, both_frames, lambda r, _lang: str(getattr(r, "category", "")) == "Technical"
            )
        ),
    }
    results = {name: replay(reference, serve.drift, obs) for name, obs in streams.items()}
    chart = plot(results, serve.drift, CHART)
    summary = {
        "reference": {
            "split": "val",
            "tickets": reference.tickets,
            "category": dict(
                zip(reference.category.labels, reference.category.shares, strict=True)
            ),
            "language": dict(
                zip(reference.language.labels, reference.language.shares, strict=True)
            ),
            "embedding_spread": reference.embedding.spread if reference.embedding else None,
        },
        "settings": serve.drift.model_dump(),
        "chart": chart,
        "streams": {
            k: {kk: vv for kk, vv in v.items() if kk != "trajectory"} for k, v in results.items()
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "drift_replay.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary["reference"], indent=1))
    header = f"{'stream':16} {'n':>5} {'state':>9} {'alerts':>6} {'first':>6}  " + "  ".join(
        f"{f[:10]:>10}" for f in FEATURES
    )
    print(header + "   (max score over the replay)")
    for name, r in results.items():
        scores = "  ".join(f"{r['max_scores'][f]:10.3f}" for f in FEATURES)
        first = r["first_drifted_at_ticket"] or "-"
        print(
            f"{name:16} {r['tickets']:5d} {r['final_state']:>9} {r['alerts']:6d} {first!s:>6}  {scores}"
        )
    print(f"chart: {chart}")


if __name__ == "__main__":
    main()

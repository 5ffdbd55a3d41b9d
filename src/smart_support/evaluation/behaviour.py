"""Behavioural suite (CheckList-style): minimum functionality, invariance, directional.

The tickets live in `behaviour/{dev,holdout}.yaml` (hand-written, EN and DE). Invariance and
directional cases are generated here from each ticket, deterministically.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from smart_support.text import ticket_text

LANGUAGES = ("en", "de")
FIELDS = ("language", "category", "subject", "body")


@dataclass(frozen=True)
class BehaviourTicket:
    language: str
    category: str
    subject: str
    body: str

    @property
    def text(self) -> str:
        return ticket_text(self.subject, self.body)


def load_suite(path: str | Path) -> list[BehaviourTicket]:
    """Read one part of the suite; a malformed file stops with its name and the problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the behavioural suite ({exc})") from exc
    rows = data.get("tickets") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: expected a non-empty list under `tickets:`")
    tickets = []
    for i, row in enumerate(rows):
        missing = [
            f for f in FIELDS if not isinstance(row, dict) or not str(row.get(f, "")).strip()
        ]
        if missing:
            raise ValueError(f"{path}: ticket {i} lacks {', '.join(missing)}")
        if row["language"] not in LANGUAGES:
            raise ValueError(f"{path}: ticket {i} has language {row['language']!r}, not en or de")
        tickets.append(BehaviourTicket(*(str(row[f]) for f in FIELDS)))
    return tickets


# ---- perturbations: (ticket, variant) -> (subject, body) ------------------------------------
Perturbation = Callable[[BehaviourTicket, int], tuple[str, str]]

_NAMES = {
    "en": [("Anna Schmidt", "Globex Ltd"), ("Rahul Mehta", "Northwind Traders")],
    "de": [("Jonas Weber", "Müller Logistik GmbH"), ("Aylin Demir", "Stadtwerke Nordheim")],
}
_GREETING = {
    "en": ("Dear support team,", "Kind regards,\\nPeter Brown"),
    "de": ("Sehr geehrte Damen und Herren,", "Mit freundlichen Grüßen\\nSabine Koch"),
}
_INTRO = {"en": "This is {name} from {company}.", "de": "Hier schreibt {name} von {company}."}
_NUMBER = {"en": "Customer number {n}.", "de": "Kundennummer {n}."}
URGENT = {
    "en": "Production is down, this is urgent!",
    "de": "Die Produktion steht still, das ist dringend!",
}
LEGAL = {
    "en": "Our lawyer is reviewing the contract and the data protection obligations.",
    "de": "Unser Anwalt prüft den Vertrag und die Pflichten zum Datenschutz.",
}


def _names(t: BehaviourTicket, variant: int) -> tuple[str, str]:
    name, company = _NAMES[t.language][variant % 2]
    return t.subject, f"{_INTRO[t.language].format(name=name, company=company)} {t.body}"


def _numbers(t: BehaviourTicket, variant: int) -> tuple[str, str]:
    shift = lambda m: "".join(str((int(d) + 3 + variant) % 10) for d in m.group())  # noqa: E731
    body = re.sub(r"\d+", shift, t.body)
    return t.subject, f"{body} {_NUMBER[t.language].format(n=48213 + 7919 * variant)}"


def _greeting(t: BehaviourTicket, variant: int) -> tuple[str, str]:
    hello, bye = _GREETING[t.language]
    return t.subject, f"{hello} {t.body} {bye}"


def _casing(t: BehaviourTicket, variant: int) -> tuple[str, str]:
    change = str.upper if variant % 2 else str.lower
    return change(t.subject), change(t.body)


def _html(t: BehaviourTicket, variant: int) -> tuple[str, str]:
    sentences = re.split(r"(?<=[.!?])\s+", t.body)
    return t.subject, "<p>" + "<br>".join(sentences) + "</p>"


def _literal_newlines(t: BehaviourTicket, variant: int) -> tuple[str, str]:
    return t.subject, re.sub(r"(?<=[.!?])\s+", r"\\n\\n", t.body)


INVARIANCE: dict[str, Perturbation] = {
    "names_companies": _names,
    "numbers": _numbers,
    "greeting_signoff": _greeting,
    "casing": _casing,
    "html": _html,
    "literal_newlines": _literal_newlines,
}


def _append(extra: dict[str, str]) -> Perturbation:
    return lambda t, variant: (t.subject, f"{t.body} {extra[t.language]}")


# ---- scoring ---------------------------------------------------------------------------------
@dataclass
class BehaviourResult:
    metrics: dict[str, float]
    failures: list[dict[str, Any]]


class _Tally:
    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, keys: Sequence[str], passed: bool) -> None:
        for key in keys:
            self.counts[key][0] += int(passed)
            self.counts[key][1] += 1

    def rates(self) -> dict[str, float]:
        return {k: passed / total for k, (passed, total) in sorted(self.counts.items())}


def score_suite(model: Any, tickets: Sequence[BehaviourTicket]) -> BehaviourResult:
    """Pass rates per kind (mft, inv, dir), per language and per class or perturbation.

    `model.predict(texts)` returns categories, probabilities (columns = `model.labels`) and
    urgency. Keys: `mft`, `mft_en`, `mft_en_Legal`, `inv_de`, `inv_de_html`, `dir_en_urgency`...
    """
    labels = list(model.labels)
    known = [t for t in tickets if t.category in labels]
    tally, failures = _Tally(), []
    base = model.predict([t.text for t in known])
    for t, got in zip(known, base.categories, strict=True):
        passed = got == t.category
        tally.add(["mft", f"mft_{t.language}", f"mft_{t.language}_{t.category}"], passed)
        if not passed:
            failures.append(
                {
                    "kind": "mft",
                    "case": "plain",
                    "expected": t.category,
                    "got": got,
                    "language": t.language,
                    "text": t.text,
                }
            )

    for case, perturb in INVARIANCE.items():
        for variant in (0, 1):
            texts = [ticket_text(*perturb(t, variant)) for t in known]
            for t, text, before, after in zip(
                known, texts, base.categories, model.predict(texts).categories, strict=True
            ):
                passed = after == before
                tally.add(["inv", f"inv_{t.language}", f"inv_{t.language}_{case}"], passed)
                if not passed:
                    failures.append(
                        {
                            "kind": "inv",
                            "case": case,
                            "expected": before,
                            "got": after,
                            "language": t.language,
                            "text": text,
                        }
                    )

    directions: list[
        tuple[str, Perturbation, Callable[[Any, int], float], list[BehaviourTicket]]
    ] = [
        ("urgency", _append(URGENT), lambda p, i: float(p.urgency[i]), known),
    ]
    if "Legal" in labels:
        legal = labels.index("Legal")
        directions.append(
            (
                "legal",
                _append(LEGAL),
                lambda p, i: float(p.probabilities[i, legal]),
                [t for t in known if t.category != "Legal"],
            )
        )
    for case, perturb, measure, subset in directions:
        if not subset:
            continue
        before = model.predict([t.text for t in subset])
        texts = [ticket_text(*perturb(t, 0)) for t in subset]
        after = model.predict(texts)
        for i, t in enumerate(subset):
            old, new = measure(before, i), measure(after, i)
            passed = bool(new > old)  # strictly: words that change nothing fail
            tally.add(["dir", f"dir_{t.language}", f"dir_{t.language}_{case}"], passed)
            if not passed:
                failures.append(
                    {
                        "kind": "dir",
                        "case": case,
                        "expected": f"> {old:.4f}",
                        "got": round(new, 4),
                        "language": t.language,
                        "text": texts[i],
                    }
                )
    return BehaviourResult(tally.rates(), failures)


def mft_floor_passed(metrics: dict[str, float], floor: float) -> bool:
    """Minimum functionality at or above `floor` in every language of the suite."""
    rates = [metrics[f"mft_{lang}"] for lang in LANGUAGES if f"mft_{lang}" in metrics]
    return bool(rates) and all(r >= floor for r in rates)


def worst_language_mft(metrics: dict[str, float]) -> float:
    rates = [metrics[f"mft_{lang}"] for lang in LANGUAGES if f"mft_{lang}" in metrics]
    return float(np.min(rates)) if rates else 0.0


def score_parts(model: Any, parts: dict[str, str | Path]) -> dict[str, BehaviourResult]:
    """Score every part of the suite (`dev`, `holdout`) read from its file."""
    return {name: score_suite(model, load_suite(path)) for name, path in parts.items()}

"""The hand-written flood sets and the encoder's training groups stay apart and well formed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from smart_support.text import ticket_text
from tests.floods import PARTS, load_floods

TRAINING_GROUPS = Path(__file__).resolve().parents[2] / "knowledge" / "outage_reports.yaml"


@pytest.mark.parametrize("part", PARTS)
def test_every_part_has_english_and_german_floods_of_a_dozen_tickets(part):
    floods = load_floods(part)
    assert Counter(f.language for f in floods.values()) >= Counter(en=3, de=3)
    assert min(len(f.tickets) for f in floods.values()) >= 12
    assert all(
        subject.strip() and body.strip() for f in floods.values() for subject, body in f.tickets
    )


def test_no_ticket_is_shared_between_parts_or_with_the_encoders_training_groups():
    groups = yaml.safe_load(TRAINING_GROUPS.read_text(encoding="utf-8"))["groups"]
    training = {ticket_text(t["subject"], t["body"]) for g in groups.values() for t in g["tickets"]}
    seen: dict[str, str] = {}
    for part in PARTS:
        for flood in load_floods(part).values():
            for text in flood.texts:
                assert text not in training, f"{part}/{flood.name} repeats a training report"
                assert seen.setdefault(text, part) == part, (
                    f"{part}/{flood.name} repeats {seen[text]}"
                )

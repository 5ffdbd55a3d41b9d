"""Training pairs of the dedup encoder: hand-written incident groups and batches without
false negatives (two reports of one incident, or one text twice, in a batch)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
import yaml

from smart_support.features.encoder_finetune import PairSettings, _batches, class_pairs, mine_pairs
from smart_support.text import ticket_text

OFF = {"subject_body": 0, "ticket_answer": 0, "near_duplicate": 0, "queue_tags": 0}


def group(language: str, *reports: str) -> dict:
    return {
        "language": language,
        "tickets": [{"subject": f"report {i}", "body": body} for i, body in enumerate(reports)],
    }


@pytest.fixture()
def groups_file(tmp_path: Path) -> Path:
    path = tmp_path / "groups.yaml"
    groups = {
        "en_backup": group(
            "en", "Backup failed tonight.", "No backup since 2am!", "backups broken"
        ),
        "en_print": group("en", "Printer queue stuck.", "Nothing prints anymore"),
        "de_druck": group("de", "Drucker druckt nicht.", "Druckauftrag hängt"),
    }
    path.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    return path


def test_every_two_reports_of_a_group_are_a_pair_in_the_languages_asked(groups_file: Path):
    settings = PairSettings(
        **OFF, paraphrase_groups=100, paraphrase_file=str(groups_file), languages=("en",)
    )
    pairs = mine_pairs(pd.DataFrame(), settings, seed=0)

    assert sorted(pairs["group"].value_counts().items()) == [("en_backup", 3), ("en_print", 1)]
    assert set(pairs["source"]) == {"paraphrase_groups"}
    backup = [ticket_text(f"report {i}", b) for i, b in enumerate(
        ["Backup failed tonight.", "No backup since 2am!", "backups broken"]
    )]  # fmt: skip
    mined = {
        frozenset(p)
        for p in pairs.loc[pairs["group"] == "en_backup", ["anchor", "positive"]].to_numpy()
    }
    assert mined == {frozenset(p) for p in itertools.combinations(backup, 2)}


def test_an_unreadable_groups_file_is_named(tmp_path: Path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("groups: [unclosed", encoding="utf-8")
    settings = PairSettings(**OFF, paraphrase_groups=10, paraphrase_file=str(bad))
    with pytest.raises(ValueError, match="broken.yaml"):
        mine_pairs(pd.DataFrame(), settings, seed=0)


def test_a_batch_holds_no_group_and_no_text_twice():
    rows = [(f"a{g}{i}", f"p{g}{i}", f"g{g}") for g in range(3) for i in range(4)]
    rows += [(f"solo{i}", f"solo-p{i}", None) for i in range(6)]  # pairs on their own
    rows += [("solo0", "another positive", None)]  # a repeated anchor: never beside itself
    pairs = pd.DataFrame(rows, columns=["anchor", "positive", "group"])
    group_of = dict(zip(pairs["anchor"] + "|" + pairs["positive"], pairs["group"], strict=True))

    batches = _batches(pairs, batch_size=4, epochs=3, seed=0)

    assert batches, "no batch was made"
    solos_together = 0
    for anchors, positives, targets in batches:
        assert targets == []
        texts = anchors + positives
        assert len(set(texts)) == len(texts)
        groups = [group_of[a + "|" + p] for a, p in zip(anchors, positives, strict=True)]
        named = [g for g in groups if not pd.isna(g)]
        assert len(set(named)) == len(named)
        solos_together = max(solos_together, len(groups) - len(named))
    assert max(len(a) for a, _, _ in batches) == 4
    assert solos_together > 1  # pairs without a group are not kept apart from each other


def test_class_pairs_are_half_same_department_half_different_with_the_right_targets():
    labels = ["Billing"] * 30 + ["Legal"] * 5 + ["Technical"] * 65
    texts = [f"{label} ticket {i}" for i, label in enumerate(labels)]
    department = dict(zip(texts, labels, strict=True))

    pairs = class_pairs(texts, labels, pairs=300, seed=0)

    same = pairs["anchor"].map(department) == pairs["positive"].map(department)
    assert (pairs["label"] == same.astype(float)).all()
    assert abs(same.mean() - 0.5) < 0.05
    assert (pairs["anchor"] != pairs["positive"]).all()
    anchors = pairs["anchor"].map(department).value_counts()
    assert anchors.min() >= 0.3 * len(pairs) - 5  # the rare department anchors a third too

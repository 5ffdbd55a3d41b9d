"""Semantic dedup: grouping rules on hand-made vectors, then floods with real MiniLM vectors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from smart_support.clock import FakeClock
from smart_support.routing.dedup import (
    Deduplicator,
    DedupWindow,
    IncidentAction,
    incident_action,
)
from smart_support.routing.flood_samples import DE_APP_OUTAGE, EN_LOGIN_OUTAGE, UNRELATED, texts

CONF = Path(__file__).resolve().parents[2] / "conf" / "serve" / "default.yaml"
DIM = 8


def unit(*values: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def no_incident(group: str) -> bool:
    return False


# --- the window and its decisions -------------------------------------------------------


def test_first_ticket_starts_its_own_group() -> None:
    decision = DedupWindow(DIM).decide(unit(1), 0.6, new_group_id="t1")
    assert (decision.is_duplicate, decision.group_id, decision.similarity) == (False, "t1", 0.0)


def test_similar_ticket_joins_the_group_of_its_best_match() -> None:
    window = DedupWindow(DIM)
    window.add("a", "group-a", unit(1, 0), 0.0)
    window.add("b", "group-b", unit(0, 1), 0.0)
    decision = window.decide(unit(1, 0.1), 0.6, new_group_id="new")
    assert decision.is_duplicate
    assert decision.group_id == "group-a"
    assert decision.matched_ticket_id == "a"
    assert decision.similarity == pytest.approx(float(unit(1, 0.1) @ unit(1, 0)))


def test_similarity_equal_to_the_threshold_is_not_a_duplicate() -> None:
    window = DedupWindow(DIM)
    window.add("a", "a", unit(1), 0.0)
    decision = window.decide(unit(1), threshold=float(unit(1) @ unit(1)), new_group_id="new")
    assert not decision.is_duplicate
    assert decision.group_id == "new"


def test_ticket_close_to_a_group_centroid_but_no_member_is_a_duplicate() -> None:
    window = DedupWindow(DIM)
    for i in range(4):  # members at cosine 0.5 from the query, spread in different directions
        member = np.zeros(DIM, dtype=np.float32)
        member[0], member[1 + i] = 0.5, np.sqrt(0.75)
        window.add(f"m{i}", "group", member, 0.0)
    decision = window.decide(unit(1), 0.6, new_group_id="new")
    assert decision.is_duplicate
    assert decision.group_id == "group"
    assert decision.similarity > 0.7


def test_ticket_bridging_two_groups_merges_them() -> None:
    dedup = Deduplicator(threshold=0.6, incident_after=10, dimension=DIM)
    dedup.observe("a", unit(1, 0), 0.0, no_incident)
    dedup.observe("b", unit(0, 1), 1.0, no_incident)
    outcome = dedup.observe("bridge", unit(1, 0.9), 2.0, no_incident)
    assert outcome.decision.group_id == "a"
    assert outcome.decision.merged_groups == ("b",)
    assert outcome.group_size == 3
    assert set(dedup.window.group_ids) == {"a"}


def test_a_group_with_an_incident_absorbs_a_more_similar_group_without_one() -> None:
    window = DedupWindow(DIM)
    window.add("a", "a", unit(1, 0), 0.0)
    window.add("b", "b", unit(0, 1), 0.0)
    decision = window.decide(unit(1, 0.9), 0.6, "new", has_incident=lambda g: g == "b")
    assert decision.group_id == "b"
    assert decision.merged_groups == ("a",)


def test_two_groups_with_their_own_incidents_never_merge() -> None:
    window = DedupWindow(DIM)
    window.add("a", "a", unit(1, 0), 0.0)
    window.add("b", "b", unit(0, 1), 0.0)
    decision = window.decide(unit(1, 0.9), 0.6, "new", has_incident=lambda g: True)
    assert decision.group_id == "a"
    assert decision.merged_groups == ()


def test_prune_forgets_old_tickets_and_their_share_of_the_group() -> None:
    window = DedupWindow(DIM)
    window.add("old", "g", unit(1), 0.0)
    window.add("new", "g", unit(1), 100.0)
    window.prune(before=50.0)
    assert window.ticket_ids == ["new"]
    assert window.group_size("g") == 1


def test_window_grows_past_its_initial_buffer() -> None:
    window = DedupWindow(DIM)
    for i in range(200):
        window.add(str(i), str(i), unit(1, i), float(i))
    assert len(window) == 200
    assert window.embeddings.shape == (200, DIM)


# --- incidents ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group_size", "has_incident", "expected"),
    [
        (1, False, IncidentAction.NONE),
        (10, False, IncidentAction.NONE),
        (11, False, IncidentAction.CREATE),
        (12, True, IncidentAction.ATTACH),
    ],
)
def test_incident_opens_when_a_group_has_more_than_incident_after_tickets(
    group_size: int, has_incident: bool, expected: IncidentAction
) -> None:
    assert incident_action(group_size, incident_after=10, has_incident=has_incident) is expected


def replay(
    dedup: Deduplicator, vectors: np.ndarray, step_s: float = 1.0
) -> tuple[list[IncidentAction], set[str]]:
    """Feed vectors in order as tickets t0, t1, ...; each one's action, and incident groups."""
    incidents: set[str] = set()
    actions = []
    for i, vector in enumerate(vectors):
        outcome = dedup.observe(f"t{i}", vector, i * step_s, incidents.__contains__)
        if outcome.action is IncidentAction.CREATE:
            incidents.add(outcome.decision.group_id)
        actions.append(outcome.action)
    return actions, incidents


def test_the_eleventh_copy_opens_the_incident_and_later_ones_attach() -> None:
    dedup = Deduplicator(0.6, incident_after=10, dimension=DIM)
    actions, _ = replay(dedup, np.stack([unit(1)] * 13))
    assert actions[:10] == [IncidentAction.NONE] * 10
    assert actions[10:] == [IncidentAction.CREATE, IncidentAction.ATTACH, IncidentAction.ATTACH]


def test_copies_spread_wider_than_the_window_never_open_an_incident() -> None:
    dedup = Deduplicator(0.6, window_s=300.0, incident_after=10, dimension=DIM)
    actions, _ = replay(dedup, np.stack([unit(1)] * 30), step_s=60.0)  # <= 6 in a window
    assert IncidentAction.CREATE not in actions


# --- real MiniLM vectors (the configured threshold) --------------------------------------


@pytest.fixture(scope="module")
def embed() -> Callable[[list[str]], np.ndarray]:
    from smart_support.features.embeddings import shared_embedder

    return shared_embedder().encode


@pytest.fixture(scope="module")
def threshold() -> float:
    return float(OmegaConf.load(CONF).dedup.threshold)


def incidents_of(dedup: Deduplicator, vectors: np.ndarray) -> list[list[str]]:
    """Member ids of each incident after replaying the stream."""
    _, incidents = replay(dedup, vectors)
    window = dedup.window  # every ticket is still inside it: labels are final
    members = list(zip(window.ticket_ids, window.group_ids, strict=True))
    return [[t for t, g in members if g == group] for group in incidents]


def test_flood_of_exact_copies_is_one_incident(embed, threshold: float) -> None:
    vectors = embed(texts(EN_LOGIN_OUTAGE[:1]) * 15)
    incidents = incidents_of(Deduplicator(threshold), vectors)
    assert [len(members) for members in incidents] == [15]


@pytest.mark.parametrize("flood", [EN_LOGIN_OUTAGE, DE_APP_OUTAGE], ids=["english", "german"])
def test_flood_of_paraphrases_is_one_incident_holding_every_ticket(embed, threshold, flood) -> None:
    assert len(flood) >= 12
    incidents = incidents_of(Deduplicator(threshold), embed(texts(flood)))
    assert [len(members) for members in incidents] == [len(flood)]


def test_unrelated_tickets_stay_apart(embed, threshold: float) -> None:
    dedup = Deduplicator(threshold)
    replay(dedup, embed(texts(UNRELATED)))
    assert len(set(dedup.window.group_ids)) == len(UNRELATED)


def test_interleaved_floods_and_unrelated_tickets_give_one_pure_incident_per_flood(
    embed, threshold: float
) -> None:
    sources = ["en"] * len(EN_LOGIN_OUTAGE) + ["de"] * len(DE_APP_OUTAGE) + ["u"] * len(UNRELATED)
    vectors = embed(texts(EN_LOGIN_OUTAGE) + texts(DE_APP_OUTAGE) + texts(UNRELATED))
    order = np.random.default_rng(7).permutation(len(sources))
    incidents = incidents_of(Deduplicator(threshold), vectors[order])
    kinds = sorted(sorted({sources[order[int(t[1:])]] for t in members}) for members in incidents)
    assert kinds == [["de"], ["en"]]  # one incident per flood, nothing else inside
    assert sorted(len(m) for m in incidents) == sorted([len(EN_LOGIN_OUTAGE), len(DE_APP_OUTAGE)])


def test_store_opens_each_flood_incident_once(tmp_path, embed, threshold: float) -> None:
    from smart_support.serving.records import NewTicket
    from smart_support.serving.settings import DedupSettings
    from smart_support.serving.store import StateStore

    pairs = [*EN_LOGIN_OUTAGE, *DE_APP_OUTAGE, *UNRELATED]
    order = np.random.default_rng(3).permutation(len(pairs))
    vectors = embed(texts(pairs))
    store = StateStore(tmp_path / "s.db", FakeClock(), dedup=DedupSettings(threshold=threshold))
    tickets = [
        NewTicket(f"t{i}", pairs[i][0], "Technical", 0.9, False, 0.5, "m2", "en", vectors[i])
        for i in order
    ]
    created = [
        o.incident_created
        for batch in (tickets[:20], tickets[20:])
        for o in store.record_routing(batch)
    ]
    assert sum(created) == 2
    sizes = sorted(i.size for i in store.list_incidents())
    assert sizes == sorted([len(EN_LOGIN_OUTAGE), len(DE_APP_OUTAGE)])

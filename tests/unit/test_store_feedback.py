"""Agents' corrections in the state store, on each backend (the `store_url` fixture):
the prediction is kept, a second correction is added, a new category re-routes the ticket,
erasure and retention remove them, and the live quality numbers they give."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from smart_support.data.feedback import export_corrections
from smart_support.routing.skills import Agent
from smart_support.serving.records import NewTicket
from smart_support.serving.settings import DedupSettings, RetentionSettings
from smart_support.serving.store import StateStore
from tests.fakes import FakeClock
from tests.unit.test_store import ticket

AGENTS = (
    Agent("tess", "Tess", 1, {"Technical": 1.0}, {"en": 1.0}),
    Agent("bill", "Bill", 1, {"Billing": 1.0}, {"en": 1.0}),
)
DEDUP = DedupSettings(threshold=0.99, window_s=300.0, incident_after=10, rule="link")


LEVELS = (("high", 0.6), ("low", 0.0))  # as conf/serve `urgency.levels`: highest first


@pytest.fixture
def store(open_store, clock: FakeClock) -> StateStore:
    return open_store(clock, agents=AGENTS, dedup=DEDUP, min_affinity=0.5)


def routed(store: StateStore, *tickets: NewTicket) -> list[str | None]:
    return [o.agent_id for o in store.ledger.record_routing(list(tickets))]


def row(store: StateStore, ticket_id: str) -> sa.Row:
    with store.database.snapshot() as conn:
        return conn.execute(
            sa.text("SELECT * FROM tickets WHERE ticket_id = :id"), {"id": ticket_id}
        ).one()


def test_a_correction_keeps_the_prediction_and_records_who_and_when(
    store: StateStore, clock: FakeClock
) -> None:
    routed(store, ticket("a", category="Technical", urgency=0.7))
    clock.advance(5)
    outcome = store.corrections.correct("a", "Billing", "low", "agent-key")
    c = outcome.correction
    assert (c.category, c.urgency_level, c.corrected_by) == ("Billing", "low", "agent-key")
    assert (c.predicted_category, c.predicted_urgency, c.model_used) == ("Technical", 0.7, "m2")
    assert c.corrected_at == clock.now()
    stored = row(store, "a")
    assert (stored.category, stored.urgency, stored.model_used) == ("Technical", 0.7, "m2")


def test_a_second_correction_keeps_both_and_the_latest_counts(store: StateStore) -> None:
    routed(store, ticket("a", category="Technical"))
    store.corrections.correct("a", "Billing", None, "k1")
    second = store.corrections.correct("a", "Technical", None, "k2")
    assert second.corrections == 2
    history = store.corrections.history("a")
    assert [(c.category, c.corrected_by) for c in history] == [
        ("Billing", "k1"),
        ("Technical", "k2"),
    ]
    quality = store.corrections.quality(LEVELS)
    assert (quality["corrections"], quality["corrected_tickets"]) == (2, 1)
    assert quality["agreement"] == 1.0  # the latest (Technical) agrees with the prediction


def test_correcting_an_unknown_ticket_raises_key_error(store: StateStore) -> None:
    with pytest.raises(KeyError):
        store.corrections.correct("nope", "Billing", None, "k")
    with pytest.raises(KeyError):
        store.corrections.history("nope")


def test_a_new_category_moves_the_ticket_to_that_categorys_agent(store: StateStore) -> None:
    assert routed(store, ticket("a", category="Technical")) == ["tess"]
    outcome = store.corrections.correct("a", "Billing", None, "k")
    assert outcome.reroute is not None
    assert (outcome.reroute.freed_agent, outcome.reroute.agent_id) == ("tess", "bill")
    assert (row(store, "a").agent_id, row(store, "a").routing_category) == ("bill", "Billing")
    loads = {a.id: a.load for a in store.workload.agent_loads()}
    assert loads == {"tess": 0, "bill": 1}


def test_the_same_category_leaves_the_ticket_where_it_is(store: StateStore) -> None:
    routed(store, ticket("a", category="Technical"))
    assert store.corrections.correct("a", "Technical", None, "k").reroute is None
    assert row(store, "a").agent_id == "tess"


def test_a_moved_ticket_waits_when_the_new_team_is_full_and_its_slot_goes_on(
    store: StateStore,
) -> None:
    # bill is busy; a Technical ticket waits behind the one tess holds
    routed(store, ticket("b1", category="Billing"), ticket("t1", category="Technical"))
    routed(store, ticket("t2", category="Technical", urgency=0.9))
    assert row(store, "t2").status == "waiting"
    outcome = store.corrections.correct("t1", "Billing", None, "k")
    assert outcome.reroute is not None
    assert outcome.reroute.agent_id is None  # bill is full: t1 waits for a Billing agent
    assert row(store, "t1").status == "waiting"
    assert outcome.reroute.next_assigned == "t2"  # tess's freed slot went to the queue
    assert row(store, "t2").agent_id == "tess"


def test_a_corrected_triage_ticket_leaves_the_triage_queue(store: StateStore) -> None:
    routed(store, ticket("r", category="Technical", needs_review=True))
    assert [t.ticket_id for t in store.workload.triage_queue()] == ["r"]
    store.corrections.correct("r", "Technical", None, "k")
    assert store.workload.triage_queue() == []
    assert row(store, "r").needs_review  # the prediction's flag stays


def test_erasing_a_ticket_erases_its_corrections_and_text(store: StateStore) -> None:
    routed(store, ticket("a"))
    store.corrections.correct("a", "Billing", None, "k")
    store.ledger.erase_ticket("a")
    with store.database.snapshot() as conn:
        left = conn.execute(sa.text("SELECT COUNT(*) FROM corrections")).scalar_one()
    assert left == 0


def test_retention_purges_the_corrections_of_purged_tickets(open_store, clock: FakeClock) -> None:
    retention = RetentionSettings.model_validate({"tickets_days": 1})
    store = open_store(clock, agents=AGENTS, dedup=DEDUP, retention=retention)
    routed(store, ticket("old"), ticket("open", seed=7))
    store.corrections.correct("old", "Billing", None, "k")
    store.corrections.correct("open", "Billing", None, "k")
    store.ledger.resolve_ticket("old")
    clock.advance(2 * 86_400)
    deleted = store.retention.purge()
    assert deleted["corrections"] == 1
    assert [c.ticket_id for c in store.corrections.history("open")] == ["open"]


def test_quality_reports_agreement_per_category_and_model_version(
    store: StateStore, clock: FakeClock
) -> None:
    def t(ticket_id: str, category: str, version: str, review: bool = False) -> NewTicket:
        base = ticket(ticket_id, category=category, needs_review=review)
        return NewTicket(**{**vars(base), "model_version": version})

    routed(store, t("a", "Technical", "3"), t("b", "Technical", "3"), t("c", "Billing", "4", True))
    routed(store, t("d", "Billing", "4"))
    store.corrections.correct("a", "Technical", "high", "k")  # agrees; urgency 0.5 was "low"
    store.corrections.correct("b", "Billing", "low", "k")  # urgency agrees
    store.corrections.correct("c", "Billing", None, "k")
    q = store.corrections.quality(LEVELS)
    assert q["by_predicted_category"]["Technical"] == {
        "corrected": 2,
        "agreed": 1,
        "agreement": 0.5,
    }
    assert q["by_corrected_category"]["Billing"] == {"corrected": 2, "agreed": 1, "agreement": 0.5}
    assert q["by_model_version"] == {
        "m2@3": {"corrected": 2, "agreed": 1, "agreement": 0.5},
        "m2@4": {"corrected": 1, "agreed": 1, "agreement": 1.0},
    }
    assert q["urgency_agreement"] == 0.5
    assert (q["review_rate"], q["corrected_share"]) == (0.25, 0.75)
    [bucket] = q["category_share"]["buckets"]
    assert (bucket["tickets"], bucket["share"]) == (4, {"Billing": 0.5, "Technical": 0.5})


def test_the_export_holds_the_latest_correction_with_the_redacted_text(
    store: StateStore,
) -> None:
    body = "Mail me at jane@example.com, the sticker peeled off."
    base = ticket("a", category="Technical")
    routed(store, NewTicket(**{**vars(base), "body": body, "model_version": "5"}))
    routed(store, ticket("no-text"))  # routed before 0004 kept bodies: nothing to train on
    store.corrections.correct("a", "Billing", None, "k")
    store.corrections.correct("a", "Legal", "high", "k")
    store.corrections.correct("no-text", "Legal", None, "k")
    frame, _ = export_corrections(store.database)
    assert frame[
        ["ticket_id", "category", "urgency_level", "predicted_category"]
    ].values.tolist() == [["a", "Legal", "high", "Technical"]]
    assert (frame.loc[0, "subject"], frame.loc[0, "model_version"]) == ("subject a", "5")
    assert frame.loc[0, "body"] == body  # as stored: the service stores it redacted

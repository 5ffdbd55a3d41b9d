"""Incidents own their tickets: one agent slot per incident, resolve as a whole, paged reads.
On each backend (an SQLite file and a PostgreSQL database: the `store_url` fixture)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest

from smart_support.routing.skills import Agent
from smart_support.serving import incident_members
from smart_support.serving.database import Database
from smart_support.serving.incidents import BadPageRequest
from smart_support.serving.store import StateStore
from tests.fakes import FakeClock
from tests.unit.test_store import DEDUP, ticket

FLOOD_SEED = 7  # every flood ticket has the same vector: one dedup group
ROOMY = (Agent("tess", "Tess", 20, {"Technical": 1.0}, {"en": 1.0}),)
TEN = (Agent("tess", "Tess", 10, {"Technical": 1.0}, {"en": 1.0}),)
SOLO = (Agent("solo", "Solo", 1, {"Technical": 1.0}, {"en": 1.0}),)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def roomy(store_url: str, clock: FakeClock) -> Iterator[StateStore]:
    """One agent with room for a whole flood (had every ticket its own slot)."""
    store = StateStore.open(store_url, clock, agents=ROOMY, dedup=DEDUP)
    yield store
    store.close()


@pytest.fixture
def ten(store_url: str, clock: FakeClock) -> Iterator[StateStore]:
    """One agent with ten slots: a flood's first ten tickets fill it before the incident opens."""
    store = StateStore.open(store_url, clock, agents=TEN, dedup=DEDUP)
    yield store
    store.close()


def flood(store: StateStore, n: int, prefix: str = "f", seed: int = FLOOD_SEED, urgency=0.5):
    return [
        store.ledger.record_routing([ticket(f"{prefix}{i}", seed=seed, urgency=urgency)])[0]
        for i in range(n)
    ]


def load(store: StateStore) -> int:
    return sum(a.load for a in store.workload.agent_loads())


def statuses(store: StateStore, incident_id: str) -> dict[str, str]:
    detail = store.incidents.get_incident(incident_id, limit=200)
    return {m.ticket_id: m.status for m in detail.tickets}


# --- one slot per incident ----------------------------------------------------------------


def test_a_flood_holds_one_agent_slot(roomy: StateStore) -> None:
    outcomes = flood(roomy, 14)
    incident_id = outcomes[10].dedup.master_incident_id
    assert outcomes[10].incident_created
    assert load(roomy) == 1
    members = statuses(roomy, incident_id)
    assert members["f0"] == "assigned"
    assert {members[f"f{i}"] for i in range(1, 14)} == {"linked"}
    incident = roomy.incidents.get_incident(incident_id).incident
    assert (incident.owner_ticket_id, incident.owner_agent) == ("f0", "tess")
    assert (incident.size, incident.open_members) == (14, 14)


def test_a_member_reports_the_agent_working_its_incident(roomy: StateStore) -> None:
    late = flood(roomy, 12)[11]
    assert late.agent_id == "tess"
    assert late.queue_position is None


def test_slots_freed_when_an_incident_opens_go_to_the_most_urgent_waiting(ten: StateStore) -> None:
    flood(ten, 10)  # the flood fills Tess before anyone knows it is one
    calm = ten.ledger.record_routing([ticket("calm", urgency=0.2)])[0]
    hot = ten.ledger.record_routing([ticket("hot", urgency=0.9)])[0]
    assert calm.agent_id is None and hot.agent_id is None
    eleventh = ten.ledger.record_routing([ticket("f10", seed=FLOOD_SEED)])[0]
    assert eleventh.incident_created
    assert load(ten) == 3  # the incident's owner, then hot and calm from the queue
    assert ten.workload.waiting_count() == 0
    assert statuses(ten, eleventh.dedup.master_incident_id)["f10"] == "linked"


def test_a_flood_inside_one_batch_holds_one_slot(roomy: StateStore) -> None:
    batch = [ticket(f"b{i}", seed=FLOOD_SEED) for i in range(13)]
    outcomes = roomy.ledger.record_routing(batch)
    assert sum(o.incident_created for o in outcomes) == 1
    assert load(roomy) == 1


# --- resolving ----------------------------------------------------------------------------


def test_resolving_the_incident_resolves_every_member_and_frees_its_slot(
    ten: StateStore,
) -> None:
    incident_id = flood(ten, 12)[10].dedup.master_incident_id
    ten.ledger.record_routing([ticket(f"other{i}", urgency=0.1 * i) for i in range(10)])
    assert load(ten) == 10 and ten.workload.waiting_count() == 1  # other0 waits
    resolution = ten.ledger.resolve_incident(incident_id)
    assert resolution.resolved_tickets == 12
    assert resolution.freed_agents == ("tess",)
    assert resolution.next_assigned == ("other0",)
    assert set(statuses(ten, incident_id).values()) == {"resolved"}
    incident = ten.incidents.get_incident(incident_id).incident
    assert (incident.status, incident.open_members) == ("resolved", 0)
    assert incident.resolved_at is not None


def test_resolving_a_resolved_incident_changes_nothing(roomy: StateStore) -> None:
    incident_id = flood(roomy, 11)[10].dedup.master_incident_id
    assert not roomy.ledger.resolve_incident(incident_id).already_resolved
    again = roomy.ledger.resolve_incident(incident_id)
    assert again.already_resolved
    assert (again.resolved_tickets, again.freed_agents) == (0, ())


def test_resolving_an_unknown_incident_raises_key_error(roomy: StateStore) -> None:
    with pytest.raises(KeyError):
        roomy.ledger.resolve_incident("nope")


def test_resolving_a_linked_member_frees_no_slot(roomy: StateStore) -> None:
    flood(roomy, 12)
    outcome = roomy.ledger.resolve_ticket("f5")
    assert (outcome.freed_agent, outcome.next_assigned) == (None, None)
    assert load(roomy) == 1


def test_resolving_the_owner_hands_its_slot_to_the_earliest_linked_member(
    roomy: StateStore,
) -> None:
    incident_id = flood(roomy, 12)[10].dedup.master_incident_id
    roomy.ledger.resolve_ticket("f1")
    outcome = roomy.ledger.resolve_ticket("f0")
    assert (outcome.freed_agent, outcome.next_assigned) == ("tess", "f2")
    assert statuses(roomy, incident_id)["f2"] == "assigned"
    assert roomy.incidents.get_incident(incident_id).incident.owner_ticket_id == "f2"
    assert load(roomy) == 1


def test_a_report_after_the_incident_was_resolved_reopens_it(roomy: StateStore) -> None:
    incident_id = flood(roomy, 11)[10].dedup.master_incident_id
    roomy.ledger.resolve_incident(incident_id)
    late = roomy.ledger.record_routing([ticket("late", seed=FLOOD_SEED)])[0]
    assert late.incident_reopened and not late.incident_created
    assert late.dedup.master_incident_id == incident_id
    incident = roomy.incidents.get_incident(incident_id).incident
    assert (incident.status, incident.owner_ticket_id, incident.open_members) == (
        "open",
        "late",
        1,
    )
    assert late.agent_id == "tess" and load(roomy) == 1


# --- paged reads --------------------------------------------------------------------------


def test_incidents_are_paged_newest_first_with_member_counts(
    roomy: StateStore, clock: FakeClock
) -> None:
    ids = []
    for n, seed in enumerate((11, 12, 13)):
        ids.append(flood(roomy, 11 + n, prefix=f"s{seed}-", seed=seed)[10].dedup.master_incident_id)
        clock.advance(1.0)
    first = roomy.incidents.list_incidents(limit=2)
    assert [i.id for i in first.incidents] == [ids[2], ids[1]]
    assert [i.size for i in first.incidents] == [13, 12]
    assert first.next_cursor is not None
    second = roomy.incidents.list_incidents(limit=2, cursor=first.next_cursor)
    assert [(i.id, i.size) for i in second.incidents] == [(ids[0], 11)]
    assert second.next_cursor is None


def test_incidents_can_be_listed_by_status(roomy: StateStore) -> None:
    a = flood(roomy, 11, prefix="a", seed=21)[10].dedup.master_incident_id
    b = flood(roomy, 11, prefix="b", seed=22)[10].dedup.master_incident_id
    roomy.ledger.resolve_incident(a)
    assert [i.id for i in roomy.incidents.list_incidents(status="open").incidents] == [b]
    assert [i.id for i in roomy.incidents.list_incidents(status="resolved").incidents] == [a]


def test_members_are_paged_in_arrival_order(roomy: StateStore) -> None:
    incident_id = flood(roomy, 13)[10].dedup.master_incident_id
    pages, cursor = [], None
    while True:
        detail = roomy.incidents.get_incident(incident_id, limit=5, cursor=cursor)
        pages.append([m.ticket_id for m in detail.tickets])
        cursor = detail.next_cursor
        if cursor is None:
            break
    assert [len(p) for p in pages] == [5, 5, 3]
    assert sum(pages, []) == [f"f{i}" for i in range(13)]


def test_timeline_counts_arrivals_from_the_first(roomy: StateStore, clock: FakeClock) -> None:
    for i in range(12):
        roomy.ledger.record_routing([ticket(f"f{i}", seed=FLOOD_SEED)])
        clock.advance(5.0 if i < 6 else 12.0)
    [incident] = roomy.incidents.list_incidents().incidents
    timeline = roomy.incidents.get_incident(incident.id).timeline
    assert timeline.bucket_s == 10.0
    assert sum(timeline.counts) == 12
    # arrivals at 0,5,...,30 then 42,54,...,90: two per 10 s bucket first, then sparser
    assert timeline.counts[:3] == (2, 2, 2)
    assert len(timeline.counts) == 10


@pytest.mark.parametrize(
    "request_",
    [
        {"limit": 0},
        {"limit": 201},
        {"cursor": "not-a-cursor"},
        {"cursor": "WzEsMiwzXQ"},  # base64 of [1,2,3]: not a cursor this API hands out
        {"status": "closed"},
    ],
)
def test_a_bad_page_request_is_rejected(roomy: StateStore, request_: dict) -> None:
    with pytest.raises(BadPageRequest):
        roomy.incidents.list_incidents(**request_)


def test_a_list_cursor_is_not_a_member_cursor(roomy: StateStore, clock: FakeClock) -> None:
    flood(roomy, 11, prefix="a", seed=21)
    clock.advance(1.0)
    incident_id = flood(roomy, 11, prefix="b", seed=22)[10].dedup.master_incident_id
    cursor = roomy.incidents.list_incidents(limit=1).next_cursor
    with pytest.raises(BadPageRequest):
        roomy.incidents.get_incident(incident_id, cursor=cursor)


# --- queue positions from bucket counts ---------------------------------------------------

EDGE = 1 / 1024  # the width of a waiting_buckets bucket


def naive_positions(store: StateStore) -> dict[str, int]:
    import sqlalchemy as sa

    with store.database.snapshot() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT ticket_id FROM tickets WHERE status = 'waiting' ORDER BY urgency DESC, seq"
            )
        ).scalars()
        return {ticket_id: place for place, ticket_id in enumerate(rows, start=1)}


def test_queue_positions_match_a_full_count_through_every_status_change(
    store_url: str, clock: FakeClock
) -> None:
    store = StateStore.open(store_url, clock, agents=SOLO, dedup=DEDUP)
    try:
        urgencies = [0.5, 0.5 + EDGE, 0.5 - 1e-12, 0.5, 1.0, 0.0, 0.25, 0.5 + EDGE / 2, 0.5]
        for i, urgency in enumerate(urgencies * 2):
            store.ledger.record_routing([ticket(f"u{i}", urgency=urgency)])
        flood(store, 12, urgency=0.5)  # links members: they leave the queue
        store.ledger.resolve_ticket("u0")  # the slot goes to the head of the queue
        store.ledger.resolve_ticket("u3")  # a waiting ticket leaves
        expected = naive_positions(store)
        assert len(expected) > 10
        reported = {
            ticket_id: store.ledger.record_routing([ticket(ticket_id)])[0].queue_position
            for ticket_id in expected
        }
        assert reported == expected
    finally:
        store.close()


# --- migration 0002 on a store that already holds incidents -------------------------------


def alembic(db, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from smart_support.serving.migrations import HERE

    with db.migration_lock() as conn:
        config = Config()
        config.set_main_option("script_location", str(HERE))
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def test_migration_0002_gives_old_incidents_an_owner_and_counts_the_queue(
    store_url: str, clock: FakeClock
) -> None:
    import sqlalchemy as sa

    from smart_support.serving.database import Database
    from smart_support.serving.migrations import upgrade

    db = Database(store_url)
    db.ensure_schema()
    alembic(db, "downgrade", "0001")  # the schema (and rows) of a store from before 0002
    rows = [
        ("a", "assigned", 0.5, "inc"),
        ("b", "waiting", 0.9, "inc"),
        ("c", "waiting", 0.2, None),
    ]
    with db.engine.begin() as conn:
        for seq, (ticket_id, status, urgency, incident) in enumerate(rows, start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO tickets (seq, ticket_id, created_at, subject, category, "
                    "routing_category, confidence, needs_review, urgency, model_used, language, "
                    "agent_id, status, group_id, incident_id, is_duplicate, similarity, embedding) "
                    "VALUES (:seq, :id, 1.0, 's', 'Technical', 'Technical', 0.9, false, :u, 'm2', "
                    "'en', :agent, :status, 'g', :incident, false, 0.0, :blob)"
                ),
                {"seq": seq, "id": ticket_id, "u": urgency, "status": status, "incident": incident,
                 "agent": "tess" if status == "assigned" else None, "blob": b"\0" * 8},
            )  # fmt: skip
        conn.execute(
            sa.text(
                "INSERT INTO incidents (incident_id, group_id, created_at, title) "
                "VALUES ('inc', 'g', 1.0, 'old')"
            )
        )
    upgrade(db)
    store = StateStore.open(db, clock, agents=SOLO, dedup=DEDUP)
    try:
        incident = store.incidents.get_incident("inc").incident
        assert (incident.status, incident.owner_ticket_id, incident.size) == ("open", "a", 2)
        assert naive_positions(store) == {"b": 1, "c": 2}
        assert store.ledger.record_routing([ticket("c")])[0].queue_position == 2
    finally:
        store.close()


# --- cost: joining reads what it changes, not every member --------------------------------


@pytest.mark.parametrize(
    ("statement", "plan"),
    [
        (incident_members._ACTIVE_MEMBERS, "tickets_by_member_status (incident_id=? AND status=?)"),
        (incident_members._FIRST_LINKED, "tickets_by_member_status (incident_id=? AND status=?)"),
        (incident_members._LINK_GROUP, "tickets_by_group (group_id=? AND incident_id=?)"),
    ],
    ids=["members holding a slot or waiting", "earliest linked member", "group's new tickets"],
)
def test_joining_an_incident_reads_no_linked_member(tmp_path, statement, plan) -> None:
    """A flood's route stays flat as its incident grows: SQLite finds the rows a join changes
    through an index on their status, not by reading every member (measured:
    benchmarks/flood_route.py)."""
    path = tmp_path / "state.db"
    Database(f"sqlite:///{path}").ensure_schema()
    with closing(sqlite3.connect(path)) as conn:
        steps = conn.execute(f"EXPLAIN QUERY PLAN {statement.text}", PLAN_PARAMS).fetchall()
    assert [step[-1] for step in steps] == [f"SEARCH tickets USING INDEX {plan}"]


PLAN_PARAMS = {"id": "i", "incident": "i", "group": "g"}

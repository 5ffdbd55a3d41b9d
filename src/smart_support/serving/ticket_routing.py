"""Dedup + agent assignment + waiting queue, each call one write transaction."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping, Sequence

import numpy as np

from smart_support.clock import Clock
from smart_support.routing.dedup import DedupDecision, IncidentAction
from smart_support.routing.skills import Agent, TicketNeed, assign_tickets, routing_category
from smart_support.serving.database import SqliteDatabase
from smart_support.serving.records import DedupResult, NewTicket, ResolveOutcome, RoutingOutcome
from smart_support.serving.window_cache import WindowCache

SUBJECT_CHARS = 200  # what the store keeps of a subject (dashboards, incident titles)


class TicketRouting:
    """Mixin of StateStore: needs `_db`, `_clock`, `_window`, `agents`, `min_affinity`."""

    _db: SqliteDatabase
    _clock: Clock
    _window: WindowCache
    agents: tuple[Agent, ...]
    min_affinity: float

    def record_routing(self, tickets: Sequence[NewTicket]) -> list[RoutingOutcome]:
        """Dedup, store and assign a batch atomically; a known ticket_id returns its stored
        result instead (exactly-once for retried async jobs)."""
        with self._window.lock:  # the cache is this process's: one routing thread at a time
            return self._record_routing(tickets)

    def _record_routing(self, tickets: Sequence[NewTicket]) -> list[RoutingOutcome]:
        now = self._clock.now()
        try:
            with self._db.transaction() as conn:
                self._window.refresh(conn, now)
                known = _known_ids(conn, [t.ticket_id for t in tickets])
                created: dict[str, bool] = {}
                fresh = []
                for ticket in tickets:
                    if ticket.ticket_id not in known and ticket.ticket_id not in created:
                        created[ticket.ticket_id] = self._insert(conn, ticket, now)
                        fresh.append(ticket)
                self._assign(conn, fresh)
                return [
                    _outcome(conn, t.ticket_id, created.get(t.ticket_id, False)) for t in tickets
                ]
        except BaseException:
            self._window.reset()  # it may hold rows that were rolled back
            raise

    def resolve_ticket(self, ticket_id: str) -> ResolveOutcome:
        """Close a ticket; a freed slot goes to the most urgent waiting ticket that fits."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT status, agent_id FROM tickets WHERE ticket_id = ?", (ticket_id,)
            ).fetchone()
            if row is None:
                raise KeyError(ticket_id)
            if row["status"] == "resolved":
                return ResolveOutcome(ticket_id, "resolved", None, None)
            conn.execute(
                "UPDATE tickets SET status = 'resolved', resolved_at = ? WHERE ticket_id = ?",
                (self._clock.now(), ticket_id),
            )
            freed = row["agent_id"] if row["status"] == "assigned" else None
            next_assigned = self._assign_next_waiting(conn) if freed else None
        return ResolveOutcome(ticket_id, "resolved", freed, next_assigned)

    def _insert(self, conn: sqlite3.Connection, ticket: NewTicket, now: float) -> bool:
        """Store one ticket in its dedup group; True when its arrival opened an incident."""

        def has_incident(group: str) -> bool:
            return _incident_of_group(conn, group) is not None

        vector = np.asarray(ticket.embedding, dtype=np.float32)
        outcome = self._window.dedup.observe(ticket.ticket_id, vector, now, has_incident)
        decision = outcome.decision
        _record_merges(conn, decision, now)
        cursor = conn.execute(
            "INSERT INTO tickets (ticket_id, created_at, subject, category, routing_category, "
            "confidence, needs_review, urgency, model_used, language, status, group_id, "
            "is_duplicate, similarity, embedding) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?)",
            (
                ticket.ticket_id, now, ticket.subject[:SUBJECT_CHARS], ticket.category,
                routing_category(ticket.category, ticket.needs_review), float(ticket.confidence),
                int(ticket.needs_review), float(ticket.urgency), ticket.model_used,
                ticket.language, decision.group_id, int(decision.is_duplicate),
                decision.similarity, vector.tobytes(),
            ),
        )  # fmt: skip
        self._window.ticket_seq = int(cursor.lastrowid or 0)
        if outcome.action is IncidentAction.CREATE:
            _open_incident(conn, decision.group_id, now)
            return True
        if outcome.action is IncidentAction.ATTACH:
            conn.execute(
                "UPDATE tickets SET incident_id = ? WHERE group_id = ? AND incident_id IS NULL",
                (_incident_of_group(conn, decision.group_id), decision.group_id),
            )
        return False

    def _assign(self, conn: sqlite3.Connection, tickets: Sequence[NewTicket]) -> None:
        needs = [
            TicketNeed(routing_category(t.category, t.needs_review), t.language, t.urgency)
            for t in tickets
        ]
        chosen = assign_tickets(needs, self.agents, agent_loads(conn), self.min_affinity)
        for ticket, agent_id in zip(tickets, chosen, strict=True):
            if agent_id is not None:
                _set_assigned(conn, ticket.ticket_id, agent_id)

    def _assign_next_waiting(self, conn: sqlite3.Connection) -> str | None:
        loads = agent_loads(conn)
        if all(loads.get(a.id, 0) >= a.capacity for a in self.agents):
            return None
        waiting = conn.execute(
            "SELECT ticket_id, routing_category, language, urgency FROM tickets "
            "WHERE status = 'waiting' ORDER BY urgency DESC, seq"
        ).fetchall()
        for ticket_id, category, language, urgency in waiting:
            need = TicketNeed(category, language, urgency)
            agent_id = assign_tickets([need], self.agents, loads, self.min_affinity)[0]
            if agent_id is not None:
                _set_assigned(conn, ticket_id, agent_id)
                return str(ticket_id)
        return None


def agent_loads(conn: sqlite3.Connection) -> Mapping[str, int]:
    rows = conn.execute(
        "SELECT agent_id, COUNT(*) FROM tickets WHERE status = 'assigned' GROUP BY agent_id"
    )
    return {agent_id: int(n) for agent_id, n in rows}


def queue_position(conn: sqlite3.Connection, urgency: float, seq: int) -> int:
    """1-based place in the waiting queue: most urgent first, then first come."""
    ahead = conn.execute(
        "SELECT COUNT(*) FROM tickets WHERE status = 'waiting' "
        "AND (urgency > ? OR (urgency = ? AND seq < ?))",
        (urgency, urgency, seq),
    ).fetchone()[0]
    return int(ahead) + 1


def _known_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT ticket_id FROM tickets WHERE ticket_id IN ({marks})", list(ids))
    return {row[0] for row in rows}


def _set_assigned(conn: sqlite3.Connection, ticket_id: str, agent_id: str) -> None:
    conn.execute(
        "UPDATE tickets SET status = 'assigned', agent_id = ? WHERE ticket_id = ?",
        (agent_id, ticket_id),
    )


def _incident_of_group(conn: sqlite3.Connection, group_id: str) -> str | None:
    row = conn.execute(
        "SELECT incident_id FROM incidents WHERE group_id = ?", (group_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def _record_merges(conn: sqlite3.Connection, decision: DedupDecision, now: float) -> None:
    for source in decision.merged_groups:
        conn.execute(
            "UPDATE tickets SET group_id = ? WHERE group_id = ?", (decision.group_id, source)
        )
        conn.execute(
            "INSERT INTO group_merges (from_group, into_group, merged_at) VALUES (?, ?, ?)",
            (source, decision.group_id, now),
        )


def _open_incident(conn: sqlite3.Connection, group_id: str, now: float) -> None:
    title = conn.execute(
        "SELECT subject FROM tickets WHERE group_id = ? ORDER BY seq LIMIT 1", (group_id,)
    ).fetchone()[0]
    incident_id = uuid.uuid4().hex
    conn.execute(
        "INSERT INTO incidents (incident_id, group_id, created_at, title) VALUES (?, ?, ?, ?)",
        (incident_id, group_id, now, title),
    )
    conn.execute("UPDATE tickets SET incident_id = ? WHERE group_id = ?", (incident_id, group_id))


def _outcome(conn: sqlite3.Connection, ticket_id: str, incident_created: bool) -> RoutingOutcome:
    row = conn.execute(
        "SELECT seq, status, agent_id, urgency, is_duplicate, similarity, incident_id "
        "FROM tickets WHERE ticket_id = ?",
        (ticket_id,),
    ).fetchone()
    waiting = row["status"] == "waiting"
    return RoutingOutcome(
        ticket_id=ticket_id,
        agent_id=None if waiting else row["agent_id"],
        queue_position=queue_position(conn, row["urgency"], row["seq"]) if waiting else None,
        dedup=DedupResult(bool(row["is_duplicate"]), row["incident_id"], row["similarity"]),
        incident_created=incident_created,
    )

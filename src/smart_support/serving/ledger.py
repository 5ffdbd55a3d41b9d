"""The ticket ledger: dedup, incident opening, agent assignment and the waiting queue.

Each call is one serialized write transaction (`Database.transaction(serialized=True)`): on
every backend and across replicas, routing writes commit one at a time, so an agent's load is
read and raised inside the same transaction (never above capacity) and the dedup window every
process caches sees tickets in one order (the same groups and incidents whichever replica
answers).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from smart_support.clock import Clock
from smart_support.routing.dedup import DedupDecision, IncidentAction
from smart_support.routing.skills import Agent, TicketNeed, assign_tickets, routing_category
from smart_support.serving.database import Database, storable
from smart_support.serving.records import DedupResult, NewTicket, ResolveOutcome, RoutingOutcome
from smart_support.serving.window_cache import WindowCache

SUBJECT_CHARS = 200  # what the store keeps of a subject (dashboards, incident titles)


class TicketLedger:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        window: WindowCache,
        agents: Sequence[Agent],
        min_affinity: float = 0.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._window = window
        self.agents = tuple(agents)
        self.min_affinity = min_affinity

    def record_routing(self, tickets: Sequence[NewTicket]) -> list[RoutingOutcome]:
        """Dedup, store and assign a batch atomically; a known ticket_id returns its stored
        result instead (exactly-once for retried async jobs)."""
        with self._window.lock:  # the cache is this process's: one routing thread at a time
            return self._record_routing(tickets)

    def resolve_ticket(self, ticket_id: str) -> ResolveOutcome:
        """Close a ticket; a freed slot goes to the most urgent waiting ticket that fits."""
        with self._db.transaction(serialized=True) as conn:
            row = conn.execute(
                sa.text("SELECT status, agent_id FROM tickets WHERE ticket_id = :id"),
                {"id": ticket_id},
            ).first()
            if row is None:
                raise KeyError(ticket_id)
            if row.status == "resolved":
                return ResolveOutcome(ticket_id, "resolved", None, None)
            conn.execute(
                sa.text(
                    "UPDATE tickets SET status = 'resolved', resolved_at = :now "
                    "WHERE ticket_id = :id"
                ),
                {"now": self._clock.now(), "id": ticket_id},
            )
            freed = row.agent_id if row.status == "assigned" else None
            next_assigned = self._assign_next_waiting(conn) if freed else None
        return ResolveOutcome(ticket_id, "resolved", freed, next_assigned)

    def _record_routing(self, tickets: Sequence[NewTicket]) -> list[RoutingOutcome]:
        now = self._clock.now()
        try:
            with self._db.transaction(serialized=True) as conn:
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

    def _insert(self, conn: Connection, ticket: NewTicket, now: float) -> bool:
        """Store one ticket in its dedup group; True when its arrival opened an incident."""

        def has_incident(group: str) -> bool:
            return _incident_of_group(conn, group) is not None

        vector = np.asarray(ticket.embedding, dtype=np.float32)
        outcome = self._window.dedup.observe(ticket.ticket_id, vector, now, has_incident)
        decision = outcome.decision
        _record_merges(conn, decision, now)
        seq = conn.execute(
            _INSERT_TICKET,
            {
                "ticket_id": ticket.ticket_id,
                "now": now,
                "subject": storable(ticket.subject)[:SUBJECT_CHARS],
                "category": ticket.category,
                "routing_category": routing_category(ticket.category, ticket.needs_review),
                "confidence": float(ticket.confidence),
                "needs_review": bool(ticket.needs_review),
                "urgency": float(ticket.urgency),
                "model_used": ticket.model_used,
                "language": ticket.language,
                "group_id": decision.group_id,
                "is_duplicate": bool(decision.is_duplicate),
                "similarity": float(decision.similarity),
                "embedding": vector.tobytes(),
            },
        ).scalar_one()
        self._window.ticket_seq = int(seq)
        if outcome.action is IncidentAction.CREATE:
            _open_incident(conn, decision.group_id, now)
            return True
        if outcome.action is IncidentAction.ATTACH:
            conn.execute(
                sa.text(
                    "UPDATE tickets SET incident_id = :incident "
                    "WHERE group_id = :group AND incident_id IS NULL"
                ),
                {
                    "incident": _incident_of_group(conn, decision.group_id),
                    "group": decision.group_id,
                },
            )
        return False

    def _assign(self, conn: Connection, tickets: Sequence[NewTicket]) -> None:
        needs = [
            TicketNeed(routing_category(t.category, t.needs_review), t.language, t.urgency)
            for t in tickets
        ]
        chosen = assign_tickets(needs, self.agents, agent_loads(conn), self.min_affinity)
        for ticket, agent_id in zip(tickets, chosen, strict=True):
            if agent_id is not None:
                _set_assigned(conn, ticket.ticket_id, agent_id)

    def _assign_next_waiting(self, conn: Connection) -> str | None:
        loads = agent_loads(conn)
        if all(loads.get(a.id, 0) >= a.capacity for a in self.agents):
            return None
        waiting = conn.execute(
            sa.text(
                "SELECT ticket_id, routing_category, language, urgency FROM tickets "
                "WHERE status = 'waiting' ORDER BY urgency DESC, seq"
            )
        )
        for ticket_id, category, language, urgency in waiting:
            need = TicketNeed(category, language, urgency)
            agent_id = assign_tickets([need], self.agents, loads, self.min_affinity)[0]
            if agent_id is not None:
                _set_assigned(conn, ticket_id, agent_id)
                return str(ticket_id)
        return None


_INSERT_TICKET = sa.text(
    "INSERT INTO tickets (ticket_id, created_at, subject, category, routing_category, "
    "confidence, needs_review, urgency, model_used, language, status, group_id, "
    "is_duplicate, similarity, embedding) "
    "VALUES (:ticket_id, :now, :subject, :category, :routing_category, :confidence, "
    ":needs_review, :urgency, :model_used, :language, 'waiting', :group_id, :is_duplicate, "
    ":similarity, :embedding) RETURNING seq"
).bindparams(sa.bindparam("embedding", type_=sa.LargeBinary()))


def agent_loads(conn: Connection) -> Mapping[str, int]:
    rows = conn.execute(
        sa.text(
            "SELECT agent_id, COUNT(*) FROM tickets WHERE status = 'assigned' GROUP BY agent_id"
        )
    )
    return {agent_id: int(n) for agent_id, n in rows}


def queue_position(conn: Connection, urgency: float, seq: int) -> int:
    """1-based place in the waiting queue: most urgent first, then first come.
    (A count over the waiting tickets ahead: its cost grows with the queue's length.)"""
    ahead = conn.execute(
        sa.text(
            "SELECT COUNT(*) FROM tickets WHERE status = 'waiting' "
            "AND (urgency > :urgency OR (urgency = :urgency AND seq < :seq))"
        ),
        {"urgency": urgency, "seq": seq},
    ).scalar_one()
    return int(ahead) + 1


def _known_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    query = sa.text("SELECT ticket_id FROM tickets WHERE ticket_id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    return {row[0] for row in conn.execute(query, {"ids": list(ids)})}


def _set_assigned(conn: Connection, ticket_id: str, agent_id: str) -> None:
    conn.execute(
        sa.text("UPDATE tickets SET status = 'assigned', agent_id = :agent WHERE ticket_id = :id"),
        {"agent": agent_id, "id": ticket_id},
    )


def _incident_of_group(conn: Connection, group_id: str) -> str | None:
    return conn.execute(
        sa.text("SELECT incident_id FROM incidents WHERE group_id = :group"), {"group": group_id}
    ).scalar()


def _record_merges(conn: Connection, decision: DedupDecision, now: float) -> None:
    for source in decision.merged_groups:
        params = {"into": decision.group_id, "source": source, "now": now}
        conn.execute(
            sa.text("UPDATE tickets SET group_id = :into WHERE group_id = :source"), params
        )
        conn.execute(
            sa.text(
                "INSERT INTO group_merges (from_group, into_group, merged_at) "
                "VALUES (:source, :into, :now)"
            ),
            params,
        )


def _open_incident(conn: Connection, group_id: str, now: float) -> None:
    title = conn.execute(
        sa.text("SELECT subject FROM tickets WHERE group_id = :group ORDER BY seq LIMIT 1"),
        {"group": group_id},
    ).scalar_one()
    params = {"incident": uuid.uuid4().hex, "group": group_id, "now": now, "title": title}
    conn.execute(
        sa.text(
            "INSERT INTO incidents (incident_id, group_id, created_at, title) "
            "VALUES (:incident, :group, :now, :title)"
        ),
        params,
    )
    conn.execute(
        sa.text("UPDATE tickets SET incident_id = :incident WHERE group_id = :group"), params
    )


def _outcome(conn: Connection, ticket_id: str, incident_created: bool) -> RoutingOutcome:
    row = conn.execute(
        sa.text(
            "SELECT seq, status, agent_id, urgency, is_duplicate, similarity, incident_id "
            "FROM tickets WHERE ticket_id = :id"
        ),
        {"id": ticket_id},
    ).one()
    waiting = row.status == "waiting"
    return RoutingOutcome(
        ticket_id=ticket_id,
        agent_id=None if waiting else row.agent_id,
        queue_position=queue_position(conn, row.urgency, row.seq) if waiting else None,
        dedup=DedupResult(bool(row.is_duplicate), row.incident_id, row.similarity),
        incident_created=incident_created,
    )

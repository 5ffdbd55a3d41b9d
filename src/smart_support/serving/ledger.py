"""The ticket ledger: dedup, incidents and their members, agent assignment and the waiting queue.

Incidents own their tickets. An open incident has one owner ticket, the one member that holds an
agent slot (or a place in the waiting queue); every other unresolved member is 'linked': it
holds no slot and no queue place. When an incident opens, the owner is its earliest member that
holds a slot (else its earliest unresolved member) and the slots of the other members (the
flood's first tickets were assigned before anyone knew it was a flood) are freed and go to the
most urgent waiting tickets, as a resolve's would. A ticket that joins an open incident is
linked at once; one that joins a resolved incident reopens it and becomes its owner. Resolving
the incident resolves every member and frees the owner's slot; resolving the owner ticket alone
passes its slot (or queue place) to the earliest linked member, who becomes the owner.

Each call is one serialized write transaction (`Database.transaction(serialized=True)`): on
every backend and across replicas, routing writes commit one at a time, so an agent's load is
read and raised inside the same transaction (never above capacity) and the dedup window every
process caches sees tickets in one order (the same groups and incidents whichever replica
answers).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from smart_support.clock import Clock
from smart_support.routing.dedup import DedupDecision, IncidentAction
from smart_support.routing.skills import Agent, TicketNeed, assign_tickets, routing_category
from smart_support.serving.database import Database, storable
from smart_support.serving.incident_members import (
    IncidentEvent,
    IncidentHead,
    MemberChange,
    hand_over,
    incident_head,
    incidents_of_groups,
    join_incident,
    open_incident,
    settle_members,
)
from smart_support.serving.outbox import OutboxMessage, add_messages
from smart_support.serving.records import (
    DedupResult,
    IncidentResolution,
    NewTicket,
    Reroute,
    ResolveOutcome,
    RoutingOutcome,
)
from smart_support.serving.retention import erase_ticket_rows
from smart_support.serving.statistics import REVIEWS, increment_counter, route_counter
from smart_support.serving.window_cache import WindowCache

SUBJECT_CHARS = 200  # what the store keeps of a subject (dashboards, incident titles)

# The side effects (webhook messages) of a newly routed ticket, stored in the same transaction
MessagesFor = Callable[[NewTicket, RoutingOutcome], Sequence[OutboxMessage]]


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

    def load_window(self) -> None:
        """Build this process's dedup window now (the burst rule reads its reference)."""
        _ = self._window.dedup

    @property
    def dedup_rule(self) -> dict[str, Any]:
        """The dedup grouping rule this process runs (conf/serve `dedup`), for /health."""
        dedup = self._window.settings
        return {
            "rule": dedup.rule,
            "threshold": dedup.threshold,
            "min_matches": dedup.min_matches,
            "significance": dedup.significance,
            "near_copy": dedup.near_copy,
            "cohesion": dedup.cohesion,
            "usual_rate_tickets": len(usual.reference) if (usual := self._window.usual_rate) else 0,
            "incident_after": dedup.incident_after,
            "window_s": dedup.window_s,
        }

    def record_routing(
        self, tickets: Sequence[NewTicket], messages_for: MessagesFor | None = None
    ) -> list[RoutingOutcome]:
        """Dedup, store and assign a batch atomically; a known ticket_id returns its stored
        result instead (exactly-once for retried async jobs). `messages_for` names the outbox
        messages of each newly stored ticket: they commit with it, and a known ticket adds
        none (a re-run job or a retried request never sends a second alert)."""
        with self._window.lock:  # the cache is this process's: one routing thread at a time
            return self._record_routing(tickets, messages_for)

    def erase_ticket(self, ticket_id: str) -> None:
        """Delete one ticket's data (a data-protection request): its row, its job, its
        outbox messages and remembered answers; a freed agent slot goes to the next waiting
        ticket. KeyError when neither a ticket nor a job has this id."""
        with self._window.lock:
            try:
                with self._db.transaction(serialized=True) as conn:
                    freed = erase_ticket_rows(conn, ticket_id)
                    if freed:
                        self._assign_next_waiting(conn)
            finally:
                self._window.reset()  # this process's window forgets the ticket's vector

    def resolve_ticket(self, ticket_id: str) -> ResolveOutcome:
        """Close a ticket; a freed slot goes to the most urgent waiting ticket that fits. The
        owner of an open incident hands its slot to the incident's earliest linked member."""
        with self._db.transaction(serialized=True) as conn:
            row = conn.execute(
                sa.text("SELECT status, agent_id, incident_id FROM tickets WHERE ticket_id = :id"),
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
            if row.status == "linked":  # a member that held nothing
                return ResolveOutcome(ticket_id, "resolved", None, None)
            freed = row.agent_id if row.status == "assigned" else None
            successor = hand_over(conn, ticket_id, row) if row.incident_id else None
            if successor is not None:
                return ResolveOutcome(ticket_id, "resolved", freed, successor)
            next_assigned = self._assign_next_waiting(conn) if freed else None
        return ResolveOutcome(ticket_id, "resolved", freed, next_assigned)

    def reroute(self, conn: Connection, ticket_id: str, category: str) -> Reroute | None:
        """Send an open ticket to `category`'s agents, in the caller's serialized transaction
        (an agent's correction): its slot is released and it takes the best free slot for the
        new category, else it waits in the urgency queue; a slot it left goes to the most
        urgent waiting ticket that fits. None when it is routed to `category` already, and for
        a linked or resolved ticket (it holds no slot: only its routing category changes)."""
        row = conn.execute(
            sa.text(
                "SELECT status, agent_id, routing_category, language, urgency FROM tickets "
                "WHERE ticket_id = :id"
            ),
            {"id": ticket_id},
        ).one()
        if row.routing_category == category:
            return None
        conn.execute(
            sa.text("UPDATE tickets SET routing_category = :category WHERE ticket_id = :id"),
            {"category": category, "id": ticket_id},
        )
        if row.status not in {"assigned", "waiting"}:
            return None
        if row.status == "assigned":
            conn.execute(
                sa.text(
                    "UPDATE tickets SET status = 'waiting', agent_id = NULL WHERE ticket_id = :id"
                ),
                {"id": ticket_id},
            )
        need = TicketNeed(category, row.language, row.urgency)
        agent = assign_tickets([need], self.agents, agent_loads(conn), self.min_affinity)[0]
        if agent is not None:
            _set_assigned(conn, ticket_id, agent)
        freed = row.agent_id if row.status == "assigned" and agent != row.agent_id else None
        next_assigned = self._assign_next_waiting(conn) if freed else None
        return Reroute(category, freed, agent, next_assigned)

    def _record_routing(
        self, tickets: Sequence[NewTicket], messages_for: MessagesFor | None
    ) -> list[RoutingOutcome]:
        now = self._clock.now()
        try:
            with self._db.transaction(serialized=True) as conn:
                self._window.refresh(conn, now)
                known = _known_ids(conn, [t.ticket_id for t in tickets])
                events: dict[str, IncidentEvent] = {}
                linked: set[str] = set()
                freed = 0
                fresh = []
                for ticket in tickets:
                    if ticket.ticket_id not in known and ticket.ticket_id not in events:
                        event, change = self._insert(conn, ticket, now)
                        events[ticket.ticket_id] = event
                        linked |= change.linked
                        freed += change.freed
                        fresh.append(ticket)
                self._assign(conn, [t for t in fresh if t.ticket_id not in linked])
                for _ in range(freed):
                    self._assign_next_waiting(conn)
                outcomes = [
                    _outcome(conn, t.ticket_id, events.get(t.ticket_id, IncidentEvent.NONE))
                    for t in tickets
                ]
                _count_routes(conn, fresh)
                if messages_for is not None:
                    by_id = {o.ticket_id: o for o in outcomes}
                    for ticket in fresh:
                        add_messages(conn, messages_for(ticket, by_id[ticket.ticket_id]), now)
                return outcomes
        except BaseException:
            self._window.reset()  # it may hold rows that were rolled back
            raise

    def _insert(
        self, conn: Connection, ticket: NewTicket, now: float
    ) -> tuple[IncidentEvent, MemberChange]:
        """Store one ticket in its dedup group; what it did to the group's incident, and which
        members that linked (and how many agent slots it freed)."""
        heads: dict[str, IncidentHead] = {}

        def incidents(groups: Sequence[str]) -> Collection[str]:
            heads.update(incidents_of_groups(conn, groups))
            return heads.keys()

        vector = np.asarray(ticket.embedding, dtype=np.float32)
        outcome = self._window.dedup.observe(ticket.ticket_id, vector, now, incidents)
        decision = outcome.decision
        _record_merges(conn, decision, now)
        seq = conn.execute(
            _INSERT_TICKET,
            {
                "ticket_id": ticket.ticket_id,
                "now": now,
                "subject": storable(ticket.subject)[:SUBJECT_CHARS],
                "body": storable(ticket.body) or None,
                "model_version": ticket.model_version or None,
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
            incident = open_incident(conn, decision.group_id, now)
            return IncidentEvent.OPENED, settle_members(conn, incident, None)
        if outcome.action is IncidentAction.ATTACH:
            return join_incident(conn, heads[decision.group_id])
        return IncidentEvent.NONE, MemberChange(frozenset(), 0)

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
        """Give a free slot to the most urgent waiting ticket that fits (read a page at a
        time: with thousands waiting, the first page nearly always holds the one)."""
        loads = agent_loads(conn)
        if all(loads.get(a.id, 0) >= a.capacity for a in self.agents):
            return None
        after: tuple[float, int] | None = None
        while True:
            page = conn.execute(
                _WAITING_AFTER if after else _WAITING_FIRST,
                {"urgency": after[0], "seq": after[1]} if after else {},
            ).all()
            for _seq, ticket_id, category, language, urgency in page:
                need = TicketNeed(category, language, urgency)
                agent_id = assign_tickets([need], self.agents, loads, self.min_affinity)[0]
                if agent_id is not None:
                    _set_assigned(conn, ticket_id, agent_id)
                    return str(ticket_id)
            if len(page) < WAITING_PAGE:
                return None
            after = (page[-1].urgency, page[-1].seq)

    def resolve_incident(
        self,
        incident_id: str,
        messages_for: Callable[[IncidentResolution], Sequence[OutboxMessage]] | None = None,
    ) -> IncidentResolution:
        """Resolve an incident and every member; its slot goes to the most urgent waiting
        ticket that fits. Resolving a resolved incident changes nothing (resolved_tickets 0).
        `messages_for` names the outbox messages of the resolution; they commit with it."""
        now = self._clock.now()
        with self._db.transaction(serialized=True) as conn:
            head = incident_head(conn, incident_id)
            if head is None:
                raise KeyError(incident_id)
            if head.status == "resolved":
                return IncidentResolution(incident_id, "resolved", 0, (), (), head.title, True)
            held = conn.execute(
                sa.text(
                    "SELECT agent_id FROM tickets WHERE incident_id = :id AND status = 'assigned' "
                    "ORDER BY seq"
                ),
                {"id": incident_id},
            ).scalars()
            freed = tuple(str(agent) for agent in held)
            resolved = conn.execute(
                sa.text(
                    "UPDATE tickets SET status = 'resolved', resolved_at = :now "
                    "WHERE incident_id = :id AND status != 'resolved'"
                ),
                {"now": now, "id": incident_id},
            ).rowcount
            conn.execute(
                sa.text(
                    "UPDATE incidents SET status = 'resolved', resolved_at = :now "
                    "WHERE incident_id = :id"
                ),
                {"now": now, "id": incident_id},
            )
            assigned = (self._assign_next_waiting(conn) for _ in freed)
            next_assigned = tuple(t for t in assigned if t is not None)
            resolution = IncidentResolution(
                incident_id, "resolved", int(resolved), freed, next_assigned, head.title, False
            )
            if messages_for is not None:
                add_messages(conn, messages_for(resolution), now)
        return resolution


WAITING_PAGE = 64
_WAITING = (
    "SELECT seq, ticket_id, routing_category, language, urgency FROM tickets "
    "WHERE status = 'waiting' {after} ORDER BY urgency DESC, seq LIMIT " + str(WAITING_PAGE)
)
_WAITING_FIRST = sa.text(_WAITING.format(after=""))
_WAITING_AFTER = sa.text(
    _WAITING.format(after="AND (urgency < :urgency OR (urgency = :urgency AND seq > :seq))")
)
_INSERT_TICKET = sa.text(
    "INSERT INTO tickets (ticket_id, created_at, subject, body, category, routing_category, "
    "confidence, needs_review, urgency, model_used, model_version, language, status, group_id, "
    "is_duplicate, similarity, embedding) "
    "VALUES (:ticket_id, :now, :subject, :body, :category, :routing_category, :confidence, "
    ":needs_review, :urgency, :model_used, :model_version, :language, 'waiting', :group_id, "
    ":is_duplicate, :similarity, :embedding) RETURNING seq"
).bindparams(sa.bindparam("embedding", type_=sa.LargeBinary()))


def agent_loads(conn: Connection) -> Mapping[str, int]:
    rows = conn.execute(
        sa.text(
            "SELECT agent_id, COUNT(*) FROM tickets WHERE status = 'assigned' GROUP BY agent_id"
        )
    )
    return {agent_id: int(n) for agent_id, n in rows}


WAITING_BUCKETS = 1024  # as migration 0002's waiting_buckets (a power of two: exact scaling)

_QUEUE_POSITION = sa.text(
    "SELECT (SELECT COALESCE(SUM(n), 0) FROM waiting_buckets WHERE bucket > :bucket) + "
    "(SELECT COUNT(*) FROM tickets WHERE status = 'waiting' AND urgency >= :urgency "
    "AND urgency < :upper AND (urgency > :urgency OR seq < :seq))"
)


def queue_position(conn: Connection, urgency: float, seq: int) -> int:
    """1-based place in the waiting queue: most urgent first, then first come. The waiting
    tickets of more urgent buckets come from `waiting_buckets` (kept by triggers), so only
    the ticket's own bucket is counted row by row: the cost stays flat as the queue grows."""
    bucket = math.floor(urgency * WAITING_BUCKETS)
    ahead = conn.execute(
        _QUEUE_POSITION,
        {
            "bucket": bucket,
            "urgency": urgency,
            "upper": (bucket + 1) / WAITING_BUCKETS,
            "seq": seq,
        },
    ).scalar_one()
    return int(ahead) + 1


def _count_routes(conn: Connection, tickets: Sequence[NewTicket]) -> None:
    """Exact route counters (GET /metrics), raised in the routing transaction."""
    routed = Counter((t.model_used, t.category) for t in tickets)
    for (model, category), n in sorted(routed.items()):
        increment_counter(conn, route_counter(model, category), n)
    if reviews := sum(bool(t.needs_review) for t in tickets):
        increment_counter(conn, REVIEWS, reviews)


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


_MERGE_GROUPS = sa.text(
    "UPDATE tickets SET group_id = :into WHERE group_id IN :sources"
).bindparams(sa.bindparam("sources", expanding=True))
_LOG_MERGE = sa.text(
    "INSERT INTO group_merges (from_group, into_group, merged_at) VALUES (:source, :into, :now)"
)


def _record_merges(conn: Connection, decision: DedupDecision, now: float) -> None:
    """The merged groups' tickets join the decision's group (one statement however many merge),
    and each merge is logged, in order, for the other replicas' windows."""
    sources = list(decision.merged_groups)
    if not sources:
        return
    conn.execute(_MERGE_GROUPS, {"into": decision.group_id, "sources": sources})
    conn.execute(
        _LOG_MERGE, [{"source": s, "into": decision.group_id, "now": now} for s in sources]
    )


def _outcome(conn: Connection, ticket_id: str, event: IncidentEvent) -> RoutingOutcome:
    """A linked member reports the agent of its incident's owner (who works the incident)."""
    row = conn.execute(
        sa.text(
            "SELECT t.seq, t.status, t.agent_id, t.urgency, t.is_duplicate, t.similarity, "
            "t.incident_id, o.agent_id AS owner_agent FROM tickets t "
            "LEFT JOIN incidents i ON i.incident_id = t.incident_id "
            "LEFT JOIN tickets o ON o.ticket_id = i.owner_ticket_id "
            "WHERE t.ticket_id = :id"
        ),
        {"id": ticket_id},
    ).one()
    waiting = row.status == "waiting"
    agent = row.owner_agent if row.status == "linked" else row.agent_id
    return RoutingOutcome(
        ticket_id=ticket_id,
        agent_id=None if waiting else agent,
        queue_position=queue_position(conn, row.urgency, row.seq) if waiting else None,
        dedup=DedupResult(bool(row.is_duplicate), row.incident_id, row.similarity),
        incident_created=event is IncidentEvent.OPENED,
        incident_reopened=event is IncidentEvent.REOPENED,
    )

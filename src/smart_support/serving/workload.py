"""What the agents carry and what waits: agent loads, the waiting count, the triage queue."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from smart_support.routing.skills import Agent
from smart_support.serving.database import Database
from smart_support.serving.ledger import agent_loads
from smart_support.serving.records import AgentLoad, TriageTicket


class Workload:
    def __init__(self, db: Database, agents: Sequence[Agent]) -> None:
        self._db = db
        self.agents = tuple(agents)

    def agent_loads(self) -> list[AgentLoad]:
        with self._db.snapshot() as conn:
            loads = agent_loads(conn)
        return [
            AgentLoad(
                id=a.id,
                name=a.name,
                load=loads.get(a.id, 0),
                capacity=a.capacity,
                utilisation=loads.get(a.id, 0) / a.capacity if a.capacity else 0.0,
                skills=dict(a.skills),
                languages=dict(a.languages),
            )
            for a in self.agents
        ]

    def waiting_count(self) -> int:
        with self._db.snapshot() as conn:
            query = sa.text("SELECT COUNT(*) FROM tickets WHERE status = 'waiting'")
            return int(conn.execute(query).scalar_one())

    def triage_queue(self, limit: int = 50) -> list[TriageTicket]:
        """Open tickets the model was unsure about and no agent has corrected yet (a correction
        routes them to their category), newest first."""
        with self._db.snapshot() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT ticket_id, subject, category, confidence, urgency, created_at "
                    "FROM tickets WHERE needs_review AND status != 'resolved' "
                    "AND routing_category = 'Triage' "
                    "ORDER BY created_at DESC, seq DESC LIMIT :limit"
                ),
                {"limit": limit},
            )
            return [TriageTicket(*row) for row in rows]

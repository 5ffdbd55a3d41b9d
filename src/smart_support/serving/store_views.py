"""Read side of the state store: incidents, agent loads, triage queue, counters and stats."""

from __future__ import annotations

import sqlite3
from typing import Any

from smart_support.routing.skills import Agent
from smart_support.serving.database import SqliteDatabase
from smart_support.serving.records import AgentLoad, Incident, IncidentTicket, TriageTicket
from smart_support.serving.ticket_routing import agent_loads

URGENCY_BINS = 10


class StoreViews:
    """Mixin of StateStore: needs `_db` and `agents`."""

    _db: SqliteDatabase
    agents: tuple[Agent, ...]

    def increment(self, name: str, by: int = 1) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (name, by),
            )

    def counters(self) -> dict[str, int]:
        rows = self._db.connection().execute("SELECT name, value FROM counters")
        return {name: int(value) for name, value in rows}

    def list_incidents(self, limit: int = 100) -> list[Incident]:
        with self._db.snapshot() as conn:
            ids = conn.execute(
                "SELECT incident_id FROM incidents ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
            return [_incident(conn, row[0]) for row in ids]

    def get_incident(self, incident_id: str) -> Incident:
        with self._db.snapshot() as conn:
            return _incident(conn, incident_id)

    def agent_loads(self) -> list[AgentLoad]:
        loads = agent_loads(self._db.connection())
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
        return _scalar(
            self._db.connection(), "SELECT COUNT(*) FROM tickets WHERE status = 'waiting'"
        )

    def triage_queue(self, limit: int = 50) -> list[TriageTicket]:
        """Open tickets the model was unsure about, newest first."""
        rows = self._db.connection().execute(
            "SELECT ticket_id, subject, category, confidence, urgency, created_at FROM tickets "
            "WHERE needs_review = 1 AND status != 'resolved' "
            "ORDER BY created_at DESC, seq DESC LIMIT ?",
            (limit,),
        )
        return [TriageTicket(*row) for row in rows]

    def stats(self) -> dict[str, Any]:
        """The numbers behind GET /stats (the breaker's live state is the service's)."""
        with self._db.snapshot() as conn:
            counters = {name: int(value) for name, value in conn.execute("SELECT * FROM counters")}
            return {
                "total_tickets": _scalar(conn, "SELECT COUNT(*) FROM tickets"),
                "by_category": _grouped(conn, "category"),
                "by_model": _grouped(conn, "model_used"),
                "urgency_histogram": _urgency_histogram(conn),
                "needs_review": _scalar(
                    conn, "SELECT COUNT(*) FROM tickets WHERE needs_review = 1"
                ),
                "webhook": {
                    "fires": counters.get("webhook_fires", 0),
                    "failures": counters.get("webhook_failures", 0),
                },
                "breaker": {"trips": counters.get("breaker_trips", 0)},
                "incidents": _scalar(conn, "SELECT COUNT(*) FROM incidents"),
                "waiting": _scalar(conn, "SELECT COUNT(*) FROM tickets WHERE status = 'waiting'"),
                "counters": counters,
            }


def _scalar(conn: sqlite3.Connection, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0])


def _grouped(conn: sqlite3.Connection, column: str) -> dict[str, int]:
    rows = conn.execute(f"SELECT {column}, COUNT(*) FROM tickets GROUP BY {column} ORDER BY 1")
    return {str(key): int(n) for key, n in rows}


def _urgency_histogram(conn: sqlite3.Connection) -> dict[str, list[Any]]:
    counts = [0] * URGENCY_BINS
    rows = conn.execute(
        "SELECT MIN(MAX(CAST(urgency * ? AS INTEGER), 0), ? - 1) AS bin, COUNT(*) "
        "FROM tickets GROUP BY bin",
        (URGENCY_BINS, URGENCY_BINS),
    )
    for index, n in rows:
        counts[int(index)] = int(n)
    bins = [round(i / URGENCY_BINS, 2) for i in range(URGENCY_BINS + 1)]
    return {"bins": bins, "counts": counts}


def _incident(conn: sqlite3.Connection, incident_id: str) -> Incident:
    head = conn.execute(
        "SELECT created_at, title FROM incidents WHERE incident_id = ?", (incident_id,)
    ).fetchone()
    if head is None:
        raise KeyError(incident_id)
    members = tuple(
        IncidentTicket(*row)
        for row in conn.execute(
            "SELECT ticket_id, subject, created_at FROM tickets WHERE incident_id = ? ORDER BY seq",
            (incident_id,),
        )
    )
    return Incident(incident_id, head["created_at"], len(members), head["title"], members)

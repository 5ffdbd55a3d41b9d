"""Master incidents as the dashboards read them (the ticket ledger opens them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from smart_support.serving.database import Database
from smart_support.serving.records import Incident, IncidentTicket


class Incidents:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list_incidents(self, limit: int = 100) -> list[Incident]:
        with self._db.snapshot() as conn:
            ids = conn.execute(
                sa.text(
                    "SELECT incident_id FROM incidents "
                    "ORDER BY created_at DESC, incident_id LIMIT :limit"
                ),
                {"limit": limit},
            ).scalars()
            return [_incident(conn, incident_id) for incident_id in list(ids)]

    def get_incident(self, incident_id: str) -> Incident:
        with self._db.snapshot() as conn:
            return _incident(conn, incident_id)


def _incident(conn: Connection, incident_id: str) -> Incident:
    head = conn.execute(
        sa.text("SELECT created_at, title FROM incidents WHERE incident_id = :id"),
        {"id": incident_id},
    ).first()
    if head is None:
        raise KeyError(incident_id)
    members = tuple(
        IncidentTicket(*row)
        for row in conn.execute(
            sa.text(
                "SELECT ticket_id, subject, created_at FROM tickets "
                "WHERE incident_id = :id ORDER BY seq"
            ),
            {"id": incident_id},
        )
    )
    return Incident(incident_id, head.created_at, len(members), head.title, members)

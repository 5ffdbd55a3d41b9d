"""Master incidents as the dashboards read them, paged (the ticket ledger opens and resolves them).

Pages are keyset pages: a cursor is an opaque token naming the last row returned, so a page
costs the same however deep it is and rows arriving meanwhile never shift the next page.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from smart_support.serving.database import Database
from smart_support.serving.records import (
    Incident,
    IncidentDetail,
    IncidentMember,
    IncidentPage,
    Timeline,
)

MAX_LIMIT = 200
STATUSES = ("open", "resolved")
TIMELINE_BUCKETS = 60  # at most this many buckets, each at least MIN_BUCKET_S long
MIN_BUCKET_S = 10.0


class BadPageRequest(ValueError):
    """A cursor, limit or filter the API cannot use (HTTP 422); the message says which."""


class Incidents:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list_incidents(
        self, limit: int = 50, cursor: str | None = None, status: str | None = None
    ) -> IncidentPage:
        """Newest first; `status`: only open or only resolved incidents."""
        _check_limit(limit)
        if status is not None and status not in STATUSES:
            raise BadPageRequest(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        after = _decode(cursor, (float, str)) if cursor else None
        where: list[str] = ["1 = 1"]
        params: dict[str, Any] = {"limit": limit + 1}
        if status:
            where.append("i.status = :status")
            params["status"] = status
        if after:
            where.append(
                "(i.created_at < :at OR (i.created_at = :at AND i.incident_id > :after_id))"
            )
            params.update(at=after[0], after_id=after[1])
        with self._db.snapshot() as conn:
            rows = conn.execute(
                sa.text(
                    f"{_SUMMARY} WHERE {' AND '.join(where)} "
                    "ORDER BY i.created_at DESC, i.incident_id LIMIT :limit"
                ),
                params,
            ).all()
            page = rows[:limit]
            counts = _member_counts(conn, [r.incident_id for r in page])
        incidents = tuple(_summary(r, counts.get(r.incident_id)) for r in page)
        more = len(rows) > limit
        last = incidents[-1] if incidents else None
        return IncidentPage(
            incidents, _encode([last.created_at, last.id]) if more and last else None
        )

    def get_incident(
        self, incident_id: str, limit: int = 50, cursor: str | None = None
    ) -> IncidentDetail:
        """The incident, its arrivals over time and one page of its members (arrival order)."""
        _check_limit(limit)
        after_seq = _decode(cursor, (int,))[0] if cursor else 0
        with self._db.snapshot() as conn:
            head = conn.execute(
                sa.text(f"{_SUMMARY} WHERE i.incident_id = :id"), {"id": incident_id}
            ).first()
            if head is None:
                raise KeyError(incident_id)
            incident = _summary(head, _member_counts(conn, [incident_id]).get(incident_id))
            rows = conn.execute(
                sa.text(
                    "SELECT seq, ticket_id, subject, created_at, status, urgency FROM tickets "
                    "WHERE incident_id = :id AND seq > :after ORDER BY seq LIMIT :limit"
                ),
                {"id": incident_id, "after": after_seq, "limit": limit + 1},
            ).all()
            timeline = _timeline(conn, incident, self._db.is_postgres)
        members = tuple(IncidentMember(*row[1:]) for row in rows[:limit])
        more = len(rows) > limit
        return IncidentDetail(
            incident, timeline, members, _encode([rows[limit - 1].seq]) if more else None
        )


_SUMMARY = (
    "SELECT i.incident_id, i.title, i.status, i.created_at, i.resolved_at, "
    "i.owner_ticket_id, o.agent_id AS owner_agent FROM incidents i "
    "LEFT JOIN tickets o ON o.ticket_id = i.owner_ticket_id"
)


def _member_counts(conn: Connection, ids: list[str]) -> dict[str, Any]:
    if not ids:
        return {}
    query = sa.text(
        "SELECT incident_id, COUNT(*) AS size, "
        "SUM(CASE WHEN status = 'resolved' THEN 0 ELSE 1 END) AS open_members, "
        "MIN(created_at) AS first_arrival, MAX(created_at) AS last_arrival "
        "FROM tickets WHERE incident_id IN :ids GROUP BY incident_id"
    ).bindparams(sa.bindparam("ids", expanding=True))
    return {row.incident_id: row for row in conn.execute(query, {"ids": ids})}


def _summary(row: Any, counts: Any) -> Incident:
    owner_agent = row.owner_agent
    return Incident(
        id=row.incident_id,
        title=row.title,
        status=row.status,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        size=int(counts.size) if counts else 0,
        open_members=int(counts.open_members or 0) if counts else 0,
        owner_ticket_id=row.owner_ticket_id,
        owner_agent=owner_agent,
        first_arrival=counts.first_arrival if counts else None,
        last_arrival=counts.last_arrival if counts else None,
    )


def _timeline(conn: Connection, incident: Incident, postgres: bool) -> Timeline:
    start = incident.first_arrival
    if start is None:
        return Timeline(incident.created_at, MIN_BUCKET_S, ())
    span = (incident.last_arrival or start) - start
    bucket_s = max(MIN_BUCKET_S, math.ceil(span / TIMELINE_BUCKETS))
    # CAST rounds on PostgreSQL and truncates on SQLite: FLOOR first where it exists.
    offset = (
        "FLOOR((created_at - :start) / :bucket)" if postgres else "(created_at - :start) / :bucket"
    )
    rows = conn.execute(
        sa.text(
            f"SELECT CAST({offset} AS INTEGER) AS bucket, COUNT(*) FROM tickets "
            "WHERE incident_id = :id GROUP BY 1"
        ),
        {"start": start, "bucket": bucket_s, "id": incident.id},
    )
    counts = [0] * (int(span // bucket_s) + 1)
    for bucket, n in rows:
        counts[min(max(int(bucket), 0), len(counts) - 1)] += int(n)
    return Timeline(start, float(bucket_s), tuple(counts))


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadPageRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(cursor: str, types: tuple[type, ...]) -> list[Any]:
    """The values a cursor names; BadPageRequest for anything this API did not hand out."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    ok = (
        isinstance(values, list)
        and len(values) == len(types)
        and all(_fits(value, kind) for value, kind in zip(values, types, strict=True))
    )
    if not ok:
        raise BadPageRequest("cursor is not one this API returned; start again without it")
    return values


def _fits(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) if kind is float else isinstance(value, kind)

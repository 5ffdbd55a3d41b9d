"""Incidents own their tickets: an open incident's one owner ticket and its linked members.

An open incident has one owner ticket, the one member that holds an agent slot (or a place in
the waiting queue); every other unresolved member is 'linked': it holds no slot and no queue
place. The ticket ledger calls these inside its serialized routing and resolve transactions
(see `ledger.py` for the policy as a whole); freeing and filling slots stays the ledger's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


class IncidentEvent(Enum):
    """What a routed ticket did to its group's incident (one webhook message each)."""

    NONE = "none"
    OPENED = "opened"
    REOPENED = "reopened"


@dataclass(frozen=True)
class MemberChange:
    """Members that lost their own slot or queue place to the incident's owner."""

    linked: frozenset[str]  # tickets that became linked members
    freed: int  # agent slots they held


_REOPEN = sa.text(
    "UPDATE incidents SET status = 'open', resolved_at = NULL WHERE incident_id = :id"
)


@dataclass(frozen=True)
class IncidentHead:
    """An incident's row: what joining, resolving and handing over read of it."""

    incident_id: str
    group_id: str
    status: str
    owner_ticket_id: str | None
    title: str


_HEAD = "SELECT incident_id, group_id, status, owner_ticket_id, title FROM incidents"
_HEADS_OF_GROUPS = sa.text(f"{_HEAD} WHERE group_id IN :groups").bindparams(
    sa.bindparam("groups", expanding=True)
)
_HEAD_OF_INCIDENT = sa.text(f"{_HEAD} WHERE incident_id = :id")


def incidents_of_groups(conn: Connection, groups: Sequence[str]) -> dict[str, IncidentHead]:
    """The incidents of those dedup groups that have one, by group: one query however many."""
    if not groups:
        return {}
    rows = conn.execute(_HEADS_OF_GROUPS, {"groups": list(groups)})
    return {row.group_id: IncidentHead(*row) for row in rows}


def open_incident(conn: Connection, group_id: str, now: float) -> str:
    title = conn.execute(
        sa.text("SELECT subject FROM tickets WHERE group_id = :group ORDER BY seq LIMIT 1"),
        {"group": group_id},
    ).scalar_one()
    params = {"incident": uuid.uuid4().hex, "group": group_id, "now": now, "title": title}
    conn.execute(
        sa.text(
            "INSERT INTO incidents (incident_id, group_id, created_at, title, status) "
            "VALUES (:incident, :group, :now, :title, 'open')"
        ),
        params,
    )
    conn.execute(
        sa.text("UPDATE tickets SET incident_id = :incident WHERE group_id = :group"), params
    )
    return str(params["incident"])


def join_incident(conn: Connection, head: IncidentHead) -> tuple[IncidentEvent, MemberChange]:
    """The group's new tickets join its incident (`head`, read in this transaction); a
    resolved incident reopens."""
    _link_group(conn, head.incident_id, head.group_id)
    reopened = head.status == "resolved"
    if reopened:
        conn.execute(_REOPEN, {"id": head.incident_id})
    event = IncidentEvent.REOPENED if reopened else IncidentEvent.NONE
    return event, settle_members(conn, head.incident_id, head.owner_ticket_id)


def _link_group(conn: Connection, incident_id: str, group_id: str) -> None:
    """The group's tickets not in the incident yet (the new one, merged groups) join it."""
    conn.execute(_LINK_GROUP, {"incident": incident_id, "group": group_id})


_LINK_GROUP = sa.text(
    "UPDATE tickets SET incident_id = :incident WHERE group_id = :group AND incident_id IS NULL"
)


def incident_head(conn: Connection, incident_id: str) -> IncidentHead | None:
    row = conn.execute(_HEAD_OF_INCIDENT, {"id": incident_id}).first()
    return None if row is None else IncidentHead(*row)


def settle_members(conn: Connection, incident_id: str, owner: str | None) -> MemberChange:
    """Keep the owner while it holds a slot or waits, else choose one (the earliest member
    holding a slot, else the earliest waiting, else the earliest linked one); link every
    other member that holds a slot or waits. Only those members are read, not the linked ones
    (but the earliest, when no other is left), so the cost does not grow with the incident."""
    members = conn.execute(_ACTIVE_MEMBERS, {"id": incident_id}).all()
    status: dict[str, str] = {str(t): str(s) for t, s in members}
    if owner not in status:
        holding = [t for t, s in members if s == "assigned"]
        waiting = [t for t, s in members if s == "waiting"]
        owner = (holding or waiting or [_first_linked(conn, incident_id)])[0]
        if owner is None:
            return MemberChange(frozenset(), 0)
        conn.execute(
            sa.text("UPDATE incidents SET owner_ticket_id = :owner WHERE incident_id = :id"),
            {"owner": owner, "id": incident_id},
        )
    joining = [t for t, _ in members if t != owner]
    if joining:
        conn.execute(
            sa.text(
                "UPDATE tickets SET status = 'linked', agent_id = NULL WHERE ticket_id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": joining},
        )
    freed = sum(status[t] == "assigned" for t in joining)
    return MemberChange(frozenset(joining), freed)


# Ordered as the index tickets_by_member_status (revision 0005) is, so that SQLite reads it
# rather than every member through tickets_by_incident; the order within each status is seq's.
_ACTIVE_MEMBERS = sa.text(
    "SELECT ticket_id, status FROM tickets WHERE incident_id = :id "
    "AND status IN ('assigned', 'waiting') ORDER BY status, seq"
)
_FIRST_LINKED = sa.text(
    "SELECT ticket_id FROM tickets WHERE incident_id = :id AND status = 'linked' "
    "ORDER BY seq LIMIT 1"
)


def _first_linked(conn: Connection, incident_id: str) -> str | None:
    return conn.execute(_FIRST_LINKED, {"id": incident_id}).scalar()


def hand_over(conn: Connection, ticket_id: str, row: Any) -> str | None:
    """When `ticket_id` owned an open incident: its earliest linked member takes its slot or
    queue place and becomes the owner; the new owner's id (None: not an owner, or no one)."""
    head = incident_head(conn, row.incident_id)
    if head is None or head.status != "open" or head.owner_ticket_id != ticket_id:
        return None
    successor = _first_linked(conn, row.incident_id)
    if successor is None:
        return None
    conn.execute(
        sa.text("UPDATE tickets SET status = :status, agent_id = :agent WHERE ticket_id = :id"),
        {"status": row.status, "agent": row.agent_id, "id": successor},
    )
    conn.execute(
        sa.text("UPDATE incidents SET owner_ticket_id = :owner WHERE incident_id = :id"),
        {"owner": successor, "id": row.incident_id},
    )
    return str(successor)

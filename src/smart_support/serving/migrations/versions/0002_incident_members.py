"""Incidents own their tickets: open/resolved incidents with an owner ticket; linked members.

- `incidents` gains `status` ('open' | 'resolved', existing rows 'open'), `resolved_at` and
  `owner_ticket_id` (the one member that holds the incident's agent slot or queue place;
  existing incidents get their earliest member).
- A ticket's `status` may now be 'linked': a member of an open incident that holds no agent
  slot and no queue place of its own (the incident's owner works it). SQLite cannot change a
  CHECK constraint in place, so there the tickets table is copied into a new one.
- `tickets_by_incident` becomes (incident_id, seq): members are paged in arrival order.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_STATUSES = "status IN ('assigned', 'waiting', 'resolved', 'linked')"
OLD_STATUSES = "status IN ('assigned', 'waiting', 'resolved')"


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("status", sa.Text(), nullable=False, server_default="open"))
        batch.add_column(sa.Column("resolved_at", sa.Double()))
        batch.add_column(sa.Column("owner_ticket_id", sa.Text()))
        batch.create_check_constraint("incident_status", "status IN ('open', 'resolved')")
    op.execute(
        "UPDATE incidents SET owner_ticket_id = (SELECT ticket_id FROM tickets "
        "WHERE tickets.incident_id = incidents.incident_id ORDER BY seq LIMIT 1)"
    )
    op.create_index("incidents_by_time", "incidents", ["created_at"])
    _ticket_statuses(NEW_STATUSES)
    op.drop_index("tickets_by_incident", "tickets")
    op.create_index("tickets_by_incident", "tickets", ["incident_id", "seq"])


def downgrade() -> None:
    op.execute("UPDATE tickets SET status = 'waiting' WHERE status = 'linked'")
    op.drop_index("tickets_by_incident", "tickets")
    op.create_index("tickets_by_incident", "tickets", ["incident_id"])
    _ticket_statuses(OLD_STATUSES)
    op.drop_index("incidents_by_time", "incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_constraint("incident_status", type_="check")
        batch.drop_column("owner_ticket_id")
        batch.drop_column("resolved_at")
        batch.drop_column("status")


def _ticket_statuses(check: str) -> None:
    """Replace the `ticket_status` CHECK constraint (SQLite: by copying the table; its
    AUTOINCREMENT counter carries over since the copy keeps every `seq`)."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ticket_status", "tickets", type_="check")
        op.create_check_constraint("ticket_status", "tickets", check)
        return
    with op.batch_alter_table(
        "tickets",
        recreate="always",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        batch.drop_constraint("ticket_status", type_="check")
        batch.create_check_constraint("ticket_status", check)

"""Incidents own their tickets: open/resolved incidents with an owner ticket; linked members.

- `incidents` gains `status` ('open' | 'resolved', existing rows 'open'), `resolved_at` and
  `owner_ticket_id` (the one member that holds the incident's agent slot or queue place;
  existing incidents get their earliest member).
- A ticket's `status` may now be 'linked': a member of an open incident that holds no agent
  slot and no queue place of its own (the incident's owner works it). SQLite cannot change a
  CHECK constraint in place, so there the tickets table is copied into a new one.
- `tickets_by_incident` becomes (incident_id, seq): members are paged in arrival order.
- `waiting_buckets` counts waiting tickets per urgency bucket (floor(urgency * 1024)), kept
  exact by triggers on `tickets` whichever code writes it: a ticket's queue position is the
  sum of the buckets above its own plus a count inside its bucket, instead of a count over
  every waiting ticket ahead (which grew with the queue). A later migration that copies the
  tickets table (SQLite batch mode) must create the triggers again.

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
    # SQLite's copy of the table loses the index's DESC; the waiting queue is read in this order
    op.drop_index("tickets_waiting", "tickets")
    op.create_index("tickets_waiting", "tickets", ["status", sa.text("urgency DESC"), "seq"])
    _waiting_buckets()


def downgrade() -> None:
    _drop_waiting_buckets()
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
    """Replace the CHECK constraint on a ticket's status. SQLite copies the table into one
    built from `_tickets(check)`, not from reflection: a state file from before migrations has
    an unnamed constraint that reflection cannot drop. The copy keeps every `seq`, so the
    AUTOINCREMENT counter carries over."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ticket_status", "tickets", type_="check")
        op.create_check_constraint("ticket_status", "tickets", check)
        return
    with op.batch_alter_table("tickets", recreate="always", copy_from=_tickets(check)):
        pass


def _tickets(check: str) -> sa.Table:
    """The tickets table of revision 0001 with `check` on its status."""
    seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    table = sa.Table(
        "tickets",
        sa.MetaData(),
        sa.Column("seq", seq, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Text(), nullable=False, unique=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("routing_category", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("urgency", sa.Double(), nullable=False),
        sa.Column("model_used", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("group_id", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Text()),
        sa.Column("is_duplicate", sa.Boolean(), nullable=False),
        sa.Column("similarity", sa.Double(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("resolved_at", sa.Double()),
        sa.CheckConstraint(check, name="ticket_status"),
        sqlite_autoincrement=True,
    )
    c = table.c
    sa.Index("tickets_by_time", c.created_at)
    sa.Index("tickets_by_agent", c.status, c.agent_id)
    sa.Index("tickets_waiting", c.status, c.urgency.desc(), c.seq)
    sa.Index("tickets_by_group", c.group_id)
    sa.Index("tickets_by_incident", c.incident_id)
    sa.Index("tickets_review", c.needs_review, c.created_at)
    return table


BUCKETS = 1024  # a power of two: urgency * BUCKETS is exact, so buckets and ranges agree


def _waiting_buckets() -> None:
    op.create_table(
        "waiting_buckets",
        sa.Column("bucket", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    bucket = (
        f"FLOOR({{row}}.urgency * {BUCKETS})::int"
        if postgres
        else (
            f"CAST({{row}}.urgency * {BUCKETS} AS INTEGER)"  # truncation: floor for urgency >= 0
        )
    )
    op.execute(
        f"INSERT INTO waiting_buckets (bucket, n) SELECT {bucket.format(row='tickets')}, COUNT(*) "
        "FROM tickets WHERE status = 'waiting' GROUP BY 1"
    )
    add = (
        "INSERT INTO waiting_buckets (bucket, n) VALUES ({b}, 1) "
        "ON CONFLICT (bucket) DO UPDATE SET n = waiting_buckets.n + 1"
    )
    remove = "UPDATE waiting_buckets SET n = n - 1 WHERE bucket = {b}"
    new, old = bucket.format(row="NEW"), bucket.format(row="OLD")
    if postgres:
        op.execute(
            "CREATE FUNCTION count_waiting() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' AND OLD.status = 'waiting' THEN {remove.format(b=old)}; END IF; "
            f"IF TG_OP <> 'DELETE' AND NEW.status = 'waiting' THEN {add.format(b=new)}; END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER count_waiting AFTER INSERT OR DELETE OR UPDATE OF status, urgency "
            "ON tickets FOR EACH ROW EXECUTE FUNCTION count_waiting()"
        )
        return
    for name, when, body in (
        ("waiting_insert", "AFTER INSERT", add.format(b=new)),
        ("waiting_update_out", "AFTER UPDATE OF status, urgency", remove.format(b=old)),
        ("waiting_update_in", "AFTER UPDATE OF status, urgency", add.format(b=new)),
        ("waiting_delete", "AFTER DELETE", remove.format(b=old)),
    ):
        row = "OLD" if body.startswith("UPDATE") else "NEW"
        op.execute(
            f"CREATE TRIGGER {name} {when} ON tickets FOR EACH ROW "
            f"WHEN {row}.status = 'waiting' BEGIN {body}; END"
        )


def _drop_waiting_buckets() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER count_waiting ON tickets")
        op.execute("DROP FUNCTION count_waiting()")
    else:
        for name in ("waiting_insert", "waiting_update_out", "waiting_update_in", "waiting_delete"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("waiting_buckets")

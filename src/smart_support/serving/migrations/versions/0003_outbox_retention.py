"""Outbox for webhook messages, idempotency keys of client requests, retention support.

- `outbox`: one row per webhook message, written in the routing transaction; a sender claims
  due rows under a lease, posts them and marks them sent (or failed after its retries).
- `idempotency_keys`: the first answer to a request sent with an `Idempotency-Key` header.
- `jobs.payload` becomes nullable: a finished job's payload (the ticket's text) is deleted.
- indexes for the retention purge (finished jobs by age).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AUTOINCREMENT = {"sqlite_autoincrement": True}  # kept when SQLite rebuilds a table


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.Text(), nullable=False, unique=True),  # the idempotency key
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Text()),  # the ticket behind it (erasure requests)
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Double(), nullable=False),
        sa.Column("lease_owner", sa.Text()),
        sa.Column("lease_expires_at", sa.Double()),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("sent_at", sa.Double()),
        sa.Column("last_error", sa.Text()),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="outbox_status"),
        sqlite_autoincrement=True,
    )
    op.create_index("outbox_due", "outbox", ["status", "next_attempt_at", "seq"])
    op.create_index("outbox_by_ticket", "outbox", ["ticket_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.Text(), primary_key=True),  # endpoint and caller
        sa.Column("request_key", sa.Text(), primary_key=True),
        sa.Column("fingerprint", sa.Text(), nullable=False),  # hash of the request body
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Text()),
        sa.Column("created_at", sa.Double(), nullable=False),
    )
    op.create_index("idempotency_by_time", "idempotency_keys", ["created_at"])
    op.create_index("idempotency_by_ticket", "idempotency_keys", ["ticket_id"])
    with op.batch_alter_table("jobs", table_kwargs=_AUTOINCREMENT) as jobs:  # SQLite: rebuilt
        jobs.alter_column("payload", existing_type=sa.Text(), nullable=True)
    op.create_index("jobs_finished", "jobs", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("jobs_finished", "jobs")
    op.execute("UPDATE jobs SET payload = '{}' WHERE payload IS NULL")
    with op.batch_alter_table("jobs", table_kwargs=_AUTOINCREMENT) as jobs:
        jobs.alter_column("payload", existing_type=sa.Text(), nullable=False)
    op.drop_table("idempotency_keys")
    op.drop_table("outbox")

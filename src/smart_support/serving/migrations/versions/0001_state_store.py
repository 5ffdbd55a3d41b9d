"""The state store: tickets, dedup group merges, incidents, async jobs, counters.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# BIGSERIAL on PostgreSQL; SQLite's INTEGER PRIMARY KEY AUTOINCREMENT (never reuses a number)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
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
        sa.CheckConstraint("status IN ('assigned', 'waiting', 'resolved')", name="ticket_status"),
        sqlite_autoincrement=True,
    )
    op.create_index("tickets_by_time", "tickets", ["created_at"])
    op.create_index("tickets_by_agent", "tickets", ["status", "agent_id"])
    op.create_index("tickets_waiting", "tickets", ["status", sa.text("urgency DESC"), "seq"])
    op.create_index("tickets_by_group", "tickets", ["group_id"])
    op.create_index("tickets_by_incident", "tickets", ["incident_id"])
    op.create_index("tickets_review", "tickets", ["needs_review", "created_at"])

    # Dedup groups that a bridging ticket merged; per-process window caches replay these.
    op.create_table(
        "group_merges",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("from_group", sa.Text(), nullable=False),
        sa.Column("into_group", sa.Text(), nullable=False),
        sa.Column("merged_at", sa.Double(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.Text(), primary_key=True),
        sa.Column("group_id", sa.Text(), nullable=False, unique=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Text(), nullable=False, unique=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("worker_id", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lease_expires_at", sa.Double()),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("result", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="job_status"),
        sqlite_autoincrement=True,
    )
    op.create_index("jobs_by_status", "jobs", ["status", "seq"])
    op.create_table(
        "counters",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in ("counters", "jobs", "incidents", "group_merges", "tickets"):
        op.drop_table(table)

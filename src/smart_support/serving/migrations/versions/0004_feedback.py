"""Agents' corrections of the router's predictions (issue 14), and what training needs of them.

- `corrections`: one row per correction of a ticket's category (and urgency level) by an
  agent: who and when, the correction, and the prediction it corrects (category, urgency
  score, model and model version) copied from the ticket. Rows are only ever added: a second
  correction of a ticket keeps the first, the latest wins. The ticket's own prediction
  columns are never changed.
- `tickets.body`: the ticket's body, redacted as its subject is (serving/redaction.py), kept
  so a corrected ticket can become a training example (the export stage); erased with the
  ticket and purged with it by retention. NULL for tickets routed before this revision.
- `tickets.model_version`: the registry version of the model that classified the ticket
  (agreement per model version). NULL before this revision.

Plain ADD COLUMNs: SQLite does not copy the tickets table (its waiting_buckets triggers of
revision 0002 stay as they are).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("tickets", sa.Column("body", sa.Text()))
    op.add_column("tickets", sa.Column("model_version", sa.Text()))
    op.create_table(
        "corrections",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),  # the agent's category
        sa.Column("urgency_level", sa.Text()),  # the agent's urgency level; NULL: not corrected
        sa.Column("predicted_category", sa.Text(), nullable=False),
        sa.Column("predicted_urgency", sa.Double(), nullable=False),  # the model's score
        sa.Column("model_used", sa.Text(), nullable=False),
        sa.Column("model_version", sa.Text()),
        sa.Column("needs_review", sa.Boolean(), nullable=False),  # the ticket went to triage
        sa.Column("corrected_by", sa.Text(), nullable=False),  # the API key's id
        sa.Column("corrected_at", sa.Double(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("corrections_by_ticket", "corrections", ["ticket_id", "seq"])
    op.create_index("corrections_by_time", "corrections", ["corrected_at"])


def downgrade() -> None:
    op.drop_table("corrections")
    op.drop_column("tickets", "model_version")  # in place (no table copy on SQLite >= 3.35)
    op.drop_column("tickets", "body")

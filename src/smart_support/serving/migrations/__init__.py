"""Alembic migrations of the state store, one chain for SQLite and PostgreSQL alike.

Applied at start-up by `upgrade` (see `Database.ensure_schema`); add a change as one new file
in `versions/` whose `down_revision` is the current head (`alembic revision` with
`script_location` pointing here writes the skeleton from `script.py.mako`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from smart_support.serving.database import Database

HERE = Path(__file__).parent
FIRST = "0001"  # the schema the store had before it had migrations


def upgrade(db: Database) -> None:
    """Bring the database to the newest revision, one process at a time."""
    with db.migration_lock() as conn:
        config = Config()
        config.set_main_option("script_location", str(HERE))
        config.attributes["connection"] = conn
        tables = set(sa.inspect(conn).get_table_names())
        if "tickets" in tables and "alembic_version" not in tables:
            command.stamp(config, FIRST)  # a state file from before migrations existed
        command.upgrade(config, "head")

"""Database URLs of the tracking and tuning stores: create a PostgreSQL database on first use.

MLflow and Optuna create their tables (and run their migrations) themselves, but not the
database: `tracking=postgres` would otherwise fail on a fresh server.
"""

from __future__ import annotations

import sqlalchemy
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError


class DatabaseUnreachable(RuntimeError):
    """The server of a configured store cannot be reached; the message names it (no password)."""


def shown(url: str | URL) -> str:
    """The URL with its password hidden, for logs and errors."""
    return make_url(url).render_as_string(hide_password=True)


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database `url` names when it is missing; True if it was created.

    Other back-ends (SQLite files are created on connect) are left alone.
    """
    target = make_url(url)
    if target.get_backend_name() != "postgresql" or not target.database:
        return False
    server = sqlalchemy.create_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_pre_ping=True
    )
    exists = sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname = :name")
    try:
        with server.connect() as connection:
            if connection.execute(exists, {"name": target.database}).first():
                return False
            try:
                quoted = connection.dialect.identifier_preparer.quote(target.database)
                connection.execute(sqlalchemy.text(f"CREATE DATABASE {quoted}"))
            except DBAPIError:  # another worker created it first
                if connection.execute(exists, {"name": target.database}).first():
                    return False
                raise
            return True
    except OperationalError as exc:
        detail = (str(exc.orig).strip().splitlines() or ["no detail"])[0]
        raise DatabaseUnreachable(
            f"cannot reach the PostgreSQL server of {shown(target)} ({detail}): "
            "start it, or use tracking=local"
        ) from exc
    finally:
        server.dispose()

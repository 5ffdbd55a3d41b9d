"""Throw-away PostgreSQL databases for tests: one uniquely named database per test session.

The server is the one every machine of this project runs (127.0.0.1:5432, trust auth);
SMART_SUPPORT_TEST_PG names another. Where it cannot be reached, tests that need it fail
under CI (CI=true) with a message naming what is missing, and skip with it elsewhere.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "SMART_SUPPORT_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)


def missing(reason: str) -> None:
    """Fail under CI, skip elsewhere; either way say what is missing."""
    message = (
        f"PostgreSQL 15 is required at {make_url(ADMIN_URL).render_as_string(hide_password=True)} "
        f"(set SMART_SUPPORT_TEST_PG to use another server): {reason}"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


class TestDatabase:
    """A database created for this session, dropped by `drop`."""

    __test__ = False  # not a test class

    def __init__(self) -> None:
        self.name = f"smart_support_test_{uuid.uuid4().hex[:10]}"
        self._admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with self._admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        except sa.exc.OperationalError as exc:
            self._admin.dispose()
            missing(str(exc.orig).strip().splitlines()[0])
        self.url = make_url(ADMIN_URL).set(database=self.name).render_as_string(hide_password=False)

    def reset(self) -> None:
        """Empty every table the migrations made (the schema version stays)."""
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
                if tables:
                    conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY"))
        finally:
            engine.dispose()

    def drop(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()

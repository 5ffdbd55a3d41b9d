"""Throw-away PostgreSQL databases for tests: one uniquely named database per test session.

The server is the one every machine of this project runs (127.0.0.1:5432, trust auth);
SMART_SUPPORT_TEST_PG names another. Where it cannot be reached, tests that need it fail
under CI (CI=true) with a message naming what is missing, and skip with it elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from benchmarks.common import PG_ADMIN_URL, create_database, drop_database


def missing(reason: str) -> None:
    """Fail under CI, skip elsewhere; either way say what is missing."""
    where = sa.make_url(PG_ADMIN_URL).render_as_string(hide_password=True)
    message = (
        f"PostgreSQL 15 is required at {where} (set SMART_SUPPORT_TEST_PG to use another "
        f"server): {reason}"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


class TestDatabase:
    """A database created for this session, dropped by `drop`."""

    __test__ = False  # not a test class

    def __init__(self) -> None:
        try:
            self.url = create_database("smart_support_test")
        except sa.exc.OperationalError as exc:
            missing(str(exc.orig).strip().splitlines()[0])

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
        drop_database(self.url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a database that does not exist yet (the code under test creates it)."""
    database = TestDatabase()  # proves the server is reachable, or fails/skips saying so
    database.drop()
    url = sa.make_url(database.url)
    name = f"{url.database}_new"
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(url.set(database=name).render_as_string(hide_password=False))

"""A throw-away PostgreSQL database per test: the server of issue 12 (127.0.0.1:5432, trust auth).

Where the server is unreachable, tests fail under CI (CI=true), naming what is missing, and
skip elsewhere with the same message.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

SERVER = os.environ.get("SMART_SUPPORT_TEST_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432")


def _admin():  # noqa: ANN202 - a SQLAlchemy engine on the maintenance database
    import sqlalchemy

    return sqlalchemy.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")


def require_server() -> None:
    import sqlalchemy

    try:
        with _admin().connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - driver missing, refused, auth: all say the same
        message = (
            f"PostgreSQL is required at {SERVER} (SMART_SUPPORT_TEST_POSTGRES): "
            f"{exc.__class__.__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def drop(name: str) -> None:
    import sqlalchemy

    engine = _admin()
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a database that does not exist yet (the code under test creates it)."""
    require_server()
    name = f"smart_support_test_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{SERVER}/{name}"
    finally:
        drop(name)

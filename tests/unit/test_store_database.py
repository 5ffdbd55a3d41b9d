"""The store's database: migrations on each backend, and what a lost database looks like."""

from __future__ import annotations

import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from smart_support.serving.database import Database, StoreUnavailable
from smart_support.serving.migrations import HERE
from smart_support.serving.records import NewTicket
from smart_support.serving.store import StateStore
from tests.fakes import FakeClock
from tests.helpers import served_dedup

LEGACY_SCHEMA = Path(__file__).with_name("legacy_state_schema.sql")
HEAD = ScriptDirectory(str(HERE)).get_current_head()


def ticket(ticket_id: str) -> NewTicket:
    v = np.random.default_rng(zlib.crc32(ticket_id.encode())).standard_normal(384)
    v = (v / np.linalg.norm(v)).astype(np.float32)
    return NewTicket(ticket_id, f"subject {ticket_id}", "Technical", 0.9, False, 0.5, "m2", "en", v)


def schema_versions(url: str) -> list[str]:
    engine = sa.create_engine(Database(url).url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def test_a_new_database_gets_the_newest_schema_version(store_url: str) -> None:
    StateStore.open(store_url, FakeClock()).close()
    assert HEAD == "0005"
    assert schema_versions(store_url) == [HEAD]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path: Path) -> Iterator[str]:
    """A database no store has opened yet (no tables, no schema version)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    from tests.postgres import TestDatabase

    database = TestDatabase()
    yield database.url
    database.drop()


def test_stores_starting_together_apply_the_migrations_once(fresh_url: str) -> None:
    """Eight stores (each its own engine, like replicas) open one fresh database at once."""
    barrier, errors = threading.Barrier(8), []

    def start() -> None:
        barrier.wait()
        try:
            StateStore.open(fresh_url, FakeClock()).close()
        except Exception as exc:  # noqa: BLE001 - collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert schema_versions(fresh_url) == [HEAD]


def test_a_state_file_from_before_migrations_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.executescript(LEGACY_SCHEMA.read_text())
    store = StateStore.open(f"sqlite:///{path}", FakeClock(), dedup=served_dedup())
    [outcome] = store.ledger.record_routing([ticket("t1")])
    assert outcome.ticket_id == "t1"
    assert schema_versions(f"sqlite:///{path}") == [HEAD]
    store.close()


# --- faults ----------------------------------------------------------------------------------


def test_an_unreachable_database_is_named_with_its_password_hidden() -> None:
    db = Database("postgresql://root:s3cret@127.0.0.1:1/smart_support", connect_timeout_s=1)
    with pytest.raises(StoreUnavailable) as raised:
        db.ensure_schema()
    assert "postgresql+psycopg://root:***@127.0.0.1:1/smart_support" in str(raised.value)
    assert "s3cret" not in str(raised.value)
    assert not db.ready


def test_an_unsupported_url_is_refused_with_what_to_use() -> None:
    with pytest.raises(ValueError, match="use sqlite:///<file> or postgresql://"):
        Database("mysql://root:pw@localhost/db")


@pytest.fixture
def outage(
    store_url: str, tmp_path: Path
) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """(url, lose, restore): PostgreSQL behind a proxy that is cut; SQLite locked by another
    writer (the two ways each backend stops answering)."""
    if store_url.startswith("sqlite"):
        holder: dict[str, sqlite3.Connection] = {}

        def lose() -> None:
            conn = sqlite3.connect(sa.make_url(store_url).database, isolation_level=None)
            conn.execute("BEGIN EXCLUSIVE")
            holder["conn"] = conn

        def restore() -> None:
            holder.pop("conn").close()

        yield store_url, lose, restore
        if "conn" in holder:
            restore()
        return
    from tests.tcp_proxy import TcpProxy

    url = sa.make_url(store_url)
    with TcpProxy(url.port or 5432, url.host or "127.0.0.1") as proxy:
        yield url.set(port=proxy.port).render_as_string(False), proxy.cut, proxy.restore


def test_a_lost_database_answers_unavailable_in_time_and_recovers(outage) -> None:
    url, lose, restore = outage
    database = Database(url, timeout_s=1.0, connect_timeout_s=1.0)
    store = StateStore.open(database, FakeClock(), dedup=served_dedup())
    store.ledger.record_routing([ticket("before")])
    job_id = store.jobs.enqueue_job({"n": 1})
    lose()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.ledger.record_routing([ticket("during")])
    with pytest.raises(StoreUnavailable):
        store.jobs.claim_job("w")
    assert time.monotonic() - started < 5.0  # the 1 s timeouts, not a hang
    restore()
    [outcome] = store.ledger.record_routing([ticket("after")])
    assert outcome.ticket_id == "after"
    assert store.jobs.claim_job("w").job_id == job_id  # the accepted job was kept
    assert store.statistics.stats()["total_tickets"] == 2  # "during" was never stored
    store.close()

"""The state store's database: an SQLite file (embedded default) or a PostgreSQL server.

`Database` hides the differences the store's classes would otherwise repeat:
- `transaction(serialized=...)` is a write transaction. SQLite takes the file's write lock up
  front (BEGIN IMMEDIATE), so writers never interleave. PostgreSQL runs READ COMMITTED; a
  `serialized` transaction first takes a transaction-scoped advisory lock, so routing writes
  (dedup window, incidents, agent capacity) commit one at a time whichever replica makes them
  and ticket sequence numbers are assigned in commit order (the window caches rely on it).
- `snapshot()` is a read transaction whose queries all see one committed state.
- The schema is created and upgraded by the Alembic migrations shipped in `migrations/`, once
  per database whichever process gets there first (a file lock for SQLite, an advisory lock
  for PostgreSQL), before the first transaction of this object.
- A lost or unreachable database raises `StoreUnavailable` (HTTP 503), never a raw driver
  error; the pool pings connections before use, so service resumes once the database is back.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

if TYPE_CHECKING:
    from smart_support.serving.settings import StoreSettings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
ROUTING_LOCK = 0x5350_0001  # advisory lock keys (PostgreSQL): routing writes, migrations
MIGRATION_LOCK = 0x5350_0002
# SQLite errors that mean "cannot be used now" (SQLite also reports bugs as OperationalError)
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk I/O", "readonly")


# One round trip: the routing lock, and a commit that does not wait for the WAL flush (as
# SQLite's WAL with synchronous=NORMAL: a server crash may lose the last fraction of a second of
# routed tickets, never corrupt them; jobs and counters keep durable commits). On a busy host
# each round trip and each flush wait costs milliseconds inside the lock every replica queues on.
_SERIALIZE = sa.text(
    "SELECT pg_advisory_xact_lock(:key), set_config('synchronous_commit', 'off', true)"
)


def storable(text: str) -> str:
    """Text every backend stores as given: no NUL (PostgreSQL's text refuses it) and no lone
    surrogates (not encodable as UTF-8); both are valid in a JSON string a client may send."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or did not answer in time (HTTP 503: retry later)."""


def redact(url: str | URL) -> str:
    """The URL as logs may show it: the password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """One engine per process (a forked or spawned child builds its own)."""

    def __init__(self, url: str, timeout_s: float = 10.0, connect_timeout_s: float = 3.0) -> None:
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"unsupported state store URL {redact(parsed)}: use sqlite:///<file> or "
                "postgresql://user@host/database"
            )
        self.url = parsed
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        self._engine: Engine | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._migrated = False

    @classmethod
    def from_settings(cls, store: StoreSettings) -> Database:
        """`store.url`, or the SQLite file at `store.path` when no URL is set."""
        url = store.url or f"sqlite:///{store.path}"
        return cls(url, store.busy_timeout_s, store.connect_timeout_s)

    @property
    def where(self) -> str:
        return redact(self.url)

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None or self._pid != os.getpid():
                self._engine = self._create_engine()
                self._pid = os.getpid()
            return self._engine

    @property
    def ready(self) -> bool:
        """True once this object has seen the schema at the latest migration."""
        return self._migrated

    def ensure_schema(self) -> None:
        """Apply pending migrations (once per object); StoreUnavailable when unreachable."""
        if self._migrated:
            return
        from smart_support.serving.migrations import upgrade

        with self._unavailable_as_503():
            upgrade(self)
        self._migrated = True

    @contextmanager
    def transaction(self, serialized: bool = False) -> Iterator[Connection]:
        """A write transaction; `serialized`: one at a time across every process and replica."""
        self.ensure_schema()
        with self._unavailable_as_503(), self.engine.connect() as conn:
            conn.execution_options(write=True)
            with conn.begin():
                if serialized and self.is_postgres:
                    conn.execute(_SERIALIZE, {"key": ROUTING_LOCK})
                yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction: every query inside sees the same committed state."""
        self.ensure_schema()
        with self._unavailable_as_503(), self.engine.connect() as conn:
            if self.is_postgres:
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    @contextmanager
    def migration_lock(self) -> Iterator[Connection]:
        """A connection in a transaction that holds the database's migration lock."""
        if self.is_postgres:
            with self.engine.connect() as conn, conn.begin():
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                yield conn
            return
        path = self.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)  # a fresh deployment has no state/ yet
        with open(path.with_name(path.name + ".migrate-lock"), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes
            with self.engine.connect() as conn:
                conn.execution_options(write=True)
                with conn.begin():
                    yield conn

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.database or "")

    def close(self) -> None:
        with self._lock:
            if self._engine is not None and self._pid == os.getpid():
                self._engine.dispose()
            self._engine = None

    @contextmanager
    def _unavailable_as_503(self) -> Iterator[None]:
        try:
            yield
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            if not self.is_postgres and not any(w in reason for w in _SQLITE_UNAVAILABLE):
                raise  # e.g. "no such table": a bug, not an outage
            raise StoreUnavailable(f"state store {self.where} unavailable: {reason}") from exc

    def _create_engine(self) -> Engine:
        if self.is_postgres:
            timeout_ms = int(self.timeout_s * 1000)
            return sa.create_engine(
                self.url,
                pool_pre_ping=True,  # a connection the server dropped is replaced, not used
                pool_size=5,
                max_overflow=15,
                pool_timeout=self.timeout_s,
                connect_args={
                    "connect_timeout": max(1, round(self.connect_timeout_s)),
                    "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
                },
            )
        self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            self.url,
            pool_pre_ping=True,
            connect_args={"timeout": self.timeout_s, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_connected(self.timeout_s))
        event.listen(engine, "begin", _sqlite_begin)
        return engine


def _sqlite_connected(timeout_s: float) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver's own BEGINs off: _sqlite_begin issues them
        dbapi_conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        _retry_locked(lambda: dbapi_conn.execute("PRAGMA journal_mode = WAL"), timeout_s)
        dbapi_conn.execute("PRAGMA synchronous = NORMAL")

    return on_connect


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock up front (no lock-upgrade deadlocks); readers share."""
    write = conn.get_execution_options().get("write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _retry_locked(action: Any, timeout_s: float) -> None:
    """Switching to WAL can report 'locked' without waiting when processes start together."""
    import sqlite3

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)

"""SQLite shared by worker processes: WAL, BEGIN IMMEDIATE, one connection per thread."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from smart_support.serving.schema import SCHEMA


class SqliteDatabase:
    """Opens connections lazily, per thread and per process (a forked child reconnects)."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: takes the database write lock up front (no upgrade races)."""
        with self._begin("BEGIN IMMEDIATE") as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same committed state."""
        with self._begin("BEGIN") as conn:
            yield conn

    def close(self) -> None:
        """Close every connection this object opened in this process."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def _begin(self, statement: str) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        conn.execute(statement)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"), self.busy_timeout_s)
        conn.execute("PRAGMA synchronous = NORMAL")
        _retry_locked(lambda: _create_schema(conn), self.busy_timeout_s)
        with self._lock:
            self._connections.append(conn)
        return conn


def _create_schema(conn: sqlite3.Connection) -> None:
    """Idempotent (CREATE ... IF NOT EXISTS), in one transaction."""
    try:
        conn.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _retry_locked(action: Callable[[], object], timeout_s: float) -> None:
    """Switching to WAL can report 'locked' without waiting when processes start together."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)

"""Exact counters (one row each, raised atomically) and the numbers behind GET /stats."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from smart_support.serving.database import Database

URGENCY_BINS = 10

_INCREMENT = sa.text(
    "INSERT INTO counters (name, value) VALUES (:name, :by) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value"
)


ROUTES = "routes"  # routes/<model>/<category>: tickets routed (exact, never purged)
REVIEWS = "routes_needing_review"


def route_counter(model: str, category: str) -> str:
    return f"{ROUTES}/{model}/{category}"


def routes_by_model_and_category(counters: dict[str, int]) -> dict[tuple[str, str], int]:
    """The route counters as {(model, category): routed tickets}."""
    found = {}
    for name, value in counters.items():
        parts = name.split("/", 2)
        if len(parts) == 3 and parts[0] == ROUTES:
            found[(parts[1], parts[2])] = value
    return found


class Statistics:
    def __init__(self, db: Database) -> None:
        self._db = db

    def increment(self, name: str, by: int = 1) -> None:
        with self._db.transaction() as conn:
            increment_counter(conn, name, by)

    def counters(self) -> dict[str, int]:
        with self._db.snapshot() as conn:
            return _counters(conn)

    def stats(self) -> dict[str, Any]:
        """The numbers behind GET /stats (the breaker's live state is the service's)."""
        with self._db.snapshot() as conn:
            counters = _counters(conn)
            return {
                "total_tickets": _scalar(conn, "SELECT COUNT(*) FROM tickets"),
                "by_category": _grouped(conn, "category"),
                "by_model": _grouped(conn, "model_used"),
                "urgency_histogram": _urgency_histogram(conn, self._db.is_postgres),
                "needs_review": _scalar(conn, "SELECT COUNT(*) FROM tickets WHERE needs_review"),
                "webhook": {
                    "fires": counters.get("webhook_fires", 0),
                    "failures": counters.get("webhook_failures", 0),
                },
                "breaker": {"trips": counters.get("breaker_trips", 0)},
                "incidents": _scalar(conn, "SELECT COUNT(*) FROM incidents"),
                "waiting": _scalar(conn, "SELECT COUNT(*) FROM tickets WHERE status = 'waiting'"),
                "counters": counters,
            }


def increment_counter(conn: Connection, name: str, by: int = 1) -> None:
    """Raise a counter inside the caller's transaction (it counts only if that commits)."""
    conn.execute(_INCREMENT, {"name": name, "by": by})


def _counters(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.text("SELECT name, value FROM counters ORDER BY name"))
    return {name: int(value) for name, value in rows}


def _scalar(conn: Connection, sql: str) -> int:
    return int(conn.execute(sa.text(sql)).scalar_one())


def _grouped(conn: Connection, column: str) -> dict[str, int]:
    rows = conn.execute(
        sa.text(f"SELECT {column}, COUNT(*) FROM tickets GROUP BY {column} ORDER BY 1")
    )
    return {str(key): int(n) for key, n in rows}


def _urgency_histogram(conn: Connection, postgres: bool) -> dict[str, list[Any]]:
    # CAST rounds on PostgreSQL and truncates on SQLite: FLOOR first where it exists.
    scaled = "FLOOR(urgency * :bins)" if postgres else "urgency * :bins"
    rows = conn.execute(
        sa.text(f"SELECT CAST({scaled} AS INTEGER) AS bin, COUNT(*) FROM tickets GROUP BY 1"),
        {"bins": URGENCY_BINS},
    )
    counts = [0] * URGENCY_BINS
    for index, n in rows:
        counts[min(max(int(index), 0), URGENCY_BINS - 1)] += int(n)
    bins = [round(i / URGENCY_BINS, 2) for i in range(URGENCY_BINS + 1)]
    return {"bins": bins, "counts": counts}

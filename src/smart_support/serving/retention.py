"""Data retention: old data purged on a schedule, one ticket's data erased on request.

`Retention.purge` deletes, each by its own age (conf/serve `retention`):
- resolved tickets created before `tickets_days` (open tickets are still being worked on and
  stay; their number past retention is logged) with their text and agents' corrections,
  incidents left without tickets, group merges;
- finished jobs (done or failed) last updated before `jobs_days`;
- sent or failed outbox messages created before `outbox_days`;
- remembered answers to idempotent requests older than `idempotency_hours`.
Every replica may run it: the deletes are idempotent. Queued and running jobs keep their
payload until they finish (`JobQueue` deletes it then).
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from smart_support.clock import Clock
from smart_support.serving.database import Database
from smart_support.serving.incident_members import hand_over
from smart_support.serving.polling import poll_forever
from smart_support.serving.settings import RetentionSettings

log = logging.getLogger(__name__)

DAY_S = 86_400.0

_PURGES = {
    "tickets": "DELETE FROM tickets WHERE status = 'resolved' AND created_at < :tickets",
    "incidents": (
        "DELETE FROM incidents WHERE created_at < :tickets AND NOT EXISTS "
        "(SELECT 1 FROM tickets WHERE tickets.incident_id = incidents.incident_id)"
    ),
    "group_merges": "DELETE FROM group_merges WHERE merged_at < :tickets",
    # a purged ticket's corrections go with it (run after "tickets": dicts keep their order)
    "corrections": (
        "DELETE FROM corrections WHERE corrected_at < :tickets AND NOT EXISTS "
        "(SELECT 1 FROM tickets WHERE tickets.ticket_id = corrections.ticket_id)"
    ),
    "jobs": "DELETE FROM jobs WHERE status IN ('done', 'failed') AND updated_at < :jobs",
    "outbox": "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND created_at < :outbox",
    "idempotency_keys": "DELETE FROM idempotency_keys WHERE created_at < :idempotency",
}


class Retention:
    def __init__(self, db: Database, clock: Clock, settings: RetentionSettings) -> None:
        self._db = db
        self._clock = clock
        self.settings = settings
        self.next_run_at = clock.now()  # the first purge runs at start-up
        self._stop = threading.Event()

    def cutoffs(self, now: float) -> dict[str, float]:
        s = self.settings
        return {
            "tickets": now - s.tickets_days * DAY_S,
            "jobs": now - s.jobs_days * DAY_S,
            "outbox": now - s.outbox_days * DAY_S,
            "idempotency": now - s.idempotency_hours * 3600.0,
        }

    def purge(self) -> dict[str, int]:
        """Delete what is past retention now; returns the rows deleted per table."""
        cutoffs = self.cutoffs(self._clock.now())
        with self._db.transaction(serialized=True) as conn:
            deleted = {
                table: int(conn.execute(sa.text(sql), cutoffs).rowcount)
                for table, sql in _PURGES.items()
            }
            kept_open = conn.execute(
                sa.text("SELECT COUNT(*) FROM tickets WHERE created_at < :tickets"), cutoffs
            ).scalar_one()
        if kept_open:
            log.warning("retention: %d open tickets are older than retention; kept", kept_open)
        if any(deleted.values()):
            log.info("retention purge: %s", deleted)
        return deleted

    def run_if_due(self) -> dict[str, int] | None:
        """Purge when `interval_s` has passed since the last purge (by the injected clock)."""
        now = self._clock.now()
        if now < self.next_run_at:
            return None
        deleted = self.purge()
        self.next_run_at = now + self.settings.interval_s
        return deleted

    async def run_forever(self, poll_s: float = 60.0) -> None:
        """Purge whenever due, checking every `poll_s` (at most `interval_s`)."""
        interval = min(poll_s, self.settings.interval_s)
        await poll_forever(self.run_if_due, self._stop, interval, "retention purge")

    def stop(self) -> None:
        self._stop.set()


def erase_ticket_rows(conn: Connection, ticket_id: str) -> str | None:
    """Delete one ticket's rows in the caller's transaction; returns the agent whose slot it
    freed (none when it owned an open incident: the incident's next member takes the slot).
    KeyError when neither a ticket nor a job has this id (an async job's id is its ticket's
    id, so a job not yet routed is erased too)."""
    params = {"id": ticket_id}
    row = conn.execute(
        sa.text("SELECT status, agent_id, incident_id FROM tickets WHERE ticket_id = :id"),
        params,
    ).first()
    jobs = conn.execute(sa.text("DELETE FROM jobs WHERE job_id = :id"), params).rowcount
    if row is None and not jobs:
        raise KeyError(ticket_id)
    conn.execute(sa.text("DELETE FROM outbox WHERE ticket_id = :id"), params)
    conn.execute(sa.text("DELETE FROM idempotency_keys WHERE ticket_id = :id"), params)
    if row is None:
        return None
    conn.execute(sa.text("DELETE FROM corrections WHERE ticket_id = :id"), params)
    # An open incident's owner hands its slot (or queue place) to the next member first.
    successor = hand_over(conn, ticket_id, row) if row.incident_id is not None else None
    conn.execute(sa.text("DELETE FROM tickets WHERE ticket_id = :id"), params)
    if row.incident_id is not None:
        conn.execute(
            sa.text(
                "UPDATE incidents SET owner_ticket_id = NULL "
                "WHERE incident_id = :incident AND owner_ticket_id = :id"
            ),
            {"incident": row.incident_id, **params},
        )
        _retitle_incident(conn, row.incident_id)
    if successor is not None:
        return None
    return str(row.agent_id) if row.status == "assigned" else None


def _retitle_incident(conn: Connection, incident_id: str) -> None:
    """The incident's title is its first ticket's subject: take the first remaining one's,
    or drop the incident when no ticket is left."""
    params = {"incident": incident_id}
    first = conn.execute(
        sa.text("SELECT subject FROM tickets WHERE incident_id = :incident ORDER BY seq LIMIT 1"),
        params,
    ).first()
    if first is None:
        conn.execute(sa.text("DELETE FROM incidents WHERE incident_id = :incident"), params)
        return
    conn.execute(
        sa.text("UPDATE incidents SET title = :title WHERE incident_id = :incident"),
        {**params, "title": first.subject},
    )

"""The outbox: webhook messages stored with the routing decision that caused them.

`add_messages` runs inside the ledger's routing transaction, so a message exists exactly when
its decision was committed: a crash before the commit leaves neither, a crash after it leaves
a pending message that a sender delivers after the restart. Each message has a deterministic
`message_id` (e.g. `urgent_ticket:<ticket id>`), unique in the table: a job re-run or a
retried request can never add a second alert for one ticket.

Senders of every process and replica claim due messages under a lease (PostgreSQL:
`FOR UPDATE SKIP LOCKED`; SQLite: the write lock of BEGIN IMMEDIATE), so one message is in
flight at one sender at a time; the lease must outlast the HTTP timeout. A failed attempt
is retried after an exponential backoff computed from the injected clock; after the last
retry the message is marked failed (kept for inspection until the retention purge).

Delivery is at least once with an idempotency key: a process killed after the receiver
answered 2xx and before `mark_sent` committed delivers that message again after the restart,
with the same `idempotency_key` in the payload and the `Idempotency-Key` header, so the
receiver can drop the repeat. Any other crash delivers each message once.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from smart_support.clock import Clock
from smart_support.serving.database import Database
from smart_support.serving.polling import poll_forever
from smart_support.serving.statistics import increment_counter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxMessage:
    message_id: str  # the idempotency key: one message per id, ever
    kind: str
    payload: dict[str, Any]
    ticket_id: str | None = None  # the ticket whose data it carries (erasure, purge)


@dataclass(frozen=True)
class ClaimedMessage:
    seq: int
    message_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this one


def add_messages(conn: Connection, messages: Sequence[OutboxMessage], now: float) -> None:
    """Store messages in the caller's transaction; a message_id already stored is skipped."""
    for message in messages:
        conn.execute(
            _INSERT,
            {
                "message_id": message.message_id,
                "kind": message.kind,
                "ticket_id": message.ticket_id,
                "payload": json.dumps(message.payload),
                "now": now,
            },
        )


_INSERT = sa.text(
    "INSERT INTO outbox (message_id, kind, ticket_id, payload, status, attempts, "
    "next_attempt_at, created_at) "
    "VALUES (:message_id, :kind, :ticket_id, :payload, 'pending', 0, :now, :now) "
    "ON CONFLICT (message_id) DO NOTHING"
)
_DUE = (
    "status = 'pending' AND next_attempt_at <= :now "
    "AND (lease_expires_at IS NULL OR lease_expires_at < :now)"
)


def _claim(skip_locked: bool) -> sa.TextClause:
    lock = " FOR UPDATE SKIP LOCKED" if skip_locked else ""
    return sa.text(
        "UPDATE outbox SET lease_owner = :owner, lease_expires_at = :lease, "
        "attempts = attempts + 1 "
        f"WHERE seq IN (SELECT seq FROM outbox WHERE {_DUE} ORDER BY seq LIMIT :limit{lock}) "
        "RETURNING seq, message_id, kind, payload, attempts"
    )


class Outbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        lease_s: float = 30.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 300.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self.lease_s = lease_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._claim = _claim(skip_locked=db.is_postgres)

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Store messages that no routing decision carries (drift alerts) in their own
        transaction; a message_id already stored is skipped."""
        with self._db.transaction() as conn:
            add_messages(conn, messages, self._clock.now())

    def claim(self, owner: str, limit: int = 10) -> list[ClaimedMessage]:
        """Due pending messages (oldest first, an expired lease included), leased to `owner`."""
        now = self._clock.now()
        with self._db.transaction() as conn:
            rows = conn.execute(
                self._claim,
                {"owner": owner, "lease": now + self.lease_s, "now": now, "limit": limit},
            ).all()
        claimed = [
            ClaimedMessage(r.seq, r.message_id, r.kind, json.loads(r.payload), r.attempts)
            for r in rows
        ]
        return sorted(claimed, key=lambda m: m.seq)

    def mark_sent(self, message: ClaimedMessage, owner: str) -> bool:
        """Delivered; False when the lease was lost meanwhile (another sender has it)."""
        with self._db.transaction() as conn:
            updated = conn.execute(
                sa.text(
                    "UPDATE outbox SET status = 'sent', sent_at = :now, lease_owner = NULL, "
                    "lease_expires_at = NULL, last_error = NULL "
                    "WHERE seq = :seq AND lease_owner = :owner AND status = 'pending'"
                ),
                {"now": self._clock.now(), "seq": message.seq, "owner": owner},
            ).rowcount
            if updated:
                increment_counter(conn, "webhook_fires")
        return bool(updated)

    def mark_attempt_failed(self, message: ClaimedMessage, owner: str, error: str) -> str:
        """Schedule the next attempt after the backoff, or give up after the last retry.
        Returns the message's status: 'pending' or 'failed' ('lost' without the lease)."""
        give_up = message.attempts > self.retries
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (message.attempts - 1))
        status = "failed" if give_up else "pending"
        with self._db.transaction() as conn:
            updated = conn.execute(
                sa.text(
                    "UPDATE outbox SET status = :status, next_attempt_at = :next, "
                    "lease_owner = NULL, lease_expires_at = NULL, last_error = :error "
                    "WHERE seq = :seq AND lease_owner = :owner AND status = 'pending'"
                ),
                {
                    "status": status,
                    "next": self._clock.now() + delay,
                    "error": error[:500],
                    "seq": message.seq,
                    "owner": owner,
                },
            ).rowcount
            if updated and give_up:
                increment_counter(conn, "webhook_failures")
        return status if updated else "lost"

    def counts(self) -> dict[str, int]:
        """Messages by status (pending, sent, failed)."""
        with self._db.snapshot() as conn:
            rows = conn.execute(sa.text("SELECT status, COUNT(*) FROM outbox GROUP BY status"))
            found = {status: int(n) for status, n in rows}
        return {status: found.get(status, 0) for status in ("pending", "sent", "failed")}

    def messages(self) -> list[dict[str, Any]]:
        """Every stored message, oldest first (tests, inspection)."""
        with self._db.snapshot() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT message_id, kind, ticket_id, status, attempts, next_attempt_at, "
                    "sent_at, last_error FROM outbox ORDER BY seq"
                )
            )
            return [dict(row._mapping) for row in rows]


Deliver = Callable[[ClaimedMessage], None]  # raises on failure


class OutboxSender:
    """Claims due messages, delivers them, marks each sent or schedules its retry."""

    def __init__(
        self, outbox: Outbox, deliver: Deliver, poll_interval_s: float = 0.5, batch: int = 10
    ) -> None:
        self.outbox = outbox
        self.deliver = deliver
        self.poll_interval_s = poll_interval_s
        self.batch = batch
        self.owner = f"sender-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()

    def run_once(self) -> int:
        """Deliver one batch of due messages; returns how many were attempted."""
        claimed = self.outbox.claim(self.owner, self.batch)
        for message in claimed:
            try:
                self.deliver(message)
            except Exception as exc:  # noqa: BLE001 - timeouts, refused connections, 5xx
                status = self.outbox.mark_attempt_failed(message, self.owner, str(exc))
                log.warning(
                    "webhook %s attempt %d failed (%s): %s",
                    message.message_id,
                    message.attempts,
                    status,
                    exc,
                )
            else:
                if not self.outbox.mark_sent(message, self.owner):
                    log.warning(
                        "webhook %s: lease lost before it was marked sent", message.message_id
                    )
        return len(claimed)

    def drain(self) -> int:
        """Deliver until nothing is due (tests); returns how many attempts were made."""
        total = 0
        while count := self.run_once():
            total += count
        return total

    async def run_forever(self) -> None:
        """Poll for due messages until stopped; delivery runs in a worker thread."""
        await poll_forever(self.run_once, self._stop, self.poll_interval_s, self.owner)

    def stop(self) -> None:
        self._stop.set()

"""Async job queue in the shared store: atomic claims with leases, so a dead worker's job
is picked up again and every job is claimed by exactly one live worker at a time.

PostgreSQL claims with `FOR UPDATE SKIP LOCKED` (workers of several replicas never wait on
each other's candidate row); SQLite's BEGIN IMMEDIATE makes the same statement atomic.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from smart_support.clock import Clock
from smart_support.serving.database import Database, storable
from smart_support.serving.records import Job

_CLAIMABLE = "status = 'queued' OR (status = 'running' AND lease_expires_at < :now)"
_GIVE_UP = sa.text(
    "UPDATE jobs SET status = 'failed', updated_at = :now, lease_expires_at = NULL, "
    "payload = NULL, "
    "error = 'worker lease expired ' || attempts || ' times; giving up' "
    "WHERE status = 'running' AND lease_expires_at < :now AND attempts >= :max"
)


def _claim(skip_locked: bool) -> sa.TextClause:
    lock = " FOR UPDATE SKIP LOCKED" if skip_locked else ""
    return sa.text(
        "UPDATE jobs SET status = 'running', worker_id = :worker, "
        "attempts = attempts + 1, lease_expires_at = :lease, updated_at = :now "
        f"WHERE seq = (SELECT seq FROM jobs WHERE {_CLAIMABLE} ORDER BY seq LIMIT 1{lock}) "
        f"AND ({_CLAIMABLE}) "  # re-checked on the row's newest version: never claimed twice
        "RETURNING job_id, status, payload, result, error, attempts, worker_id, created_at, "
        "updated_at"
    )


class JobQueue:
    def __init__(
        self, db: Database, clock: Clock, lease_s: float = 60.0, max_attempts: int = 3
    ) -> None:
        self._db = db
        self._clock = clock
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self._claim = _claim(skip_locked=db.is_postgres)

    def enqueue_job(self, payload: dict[str, Any], job_id: str | None = None) -> str:
        """Queue a job; a `job_id` already queued (a retried request) adds nothing."""
        job_id = job_id or uuid.uuid4().hex
        now = self._clock.now()
        with self._db.transaction() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO jobs (job_id, payload, status, attempts, created_at, updated_at) "
                    "VALUES (:id, :payload, 'queued', 0, :now, :now) "
                    "ON CONFLICT (job_id) DO NOTHING"
                ),
                {"id": job_id, "payload": json.dumps(payload), "now": now},
            )
        return job_id

    def claim_job(self, worker_id: str) -> Job | None:
        """The oldest queued job (or one whose lease expired), now running for this worker."""
        now = self._clock.now()
        with self._db.transaction() as conn:
            conn.execute(_GIVE_UP, {"now": now, "max": self.max_attempts})
            row = conn.execute(
                self._claim, {"worker": worker_id, "lease": now + self.lease_s, "now": now}
            ).first()
        return _job(row) if row is not None else None

    def complete_job(self, job_id: str, result: dict[str, Any]) -> bool:
        """Store the result and delete the payload (the ticket's text); False when the job
        was no longer running (already finished)."""
        return self._finish(job_id, "done", result=json.dumps(result), error=None)

    def fail_job(self, job_id: str, error: str) -> bool:
        return self._finish(job_id, "failed", result=None, error=error)

    def open_count(self) -> int:
        """Jobs queued or running: the async queue's depth."""
        with self._db.snapshot() as conn:
            query = "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')"
            return int(conn.execute(sa.text(query)).scalar_one())

    def get_job(self, job_id: str) -> Job:
        with self._db.snapshot() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT job_id, status, payload, result, error, attempts, worker_id, "
                    "created_at, updated_at FROM jobs WHERE job_id = :id"
                ),
                {"id": job_id},
            ).first()
        if row is None:
            raise KeyError(job_id)
        return _job(row)

    def _finish(self, job_id: str, status: str, result: str | None, error: str | None) -> bool:
        with self._db.transaction() as conn:
            updated = conn.execute(
                sa.text(
                    "UPDATE jobs SET status = :status, result = :result, error = :error, "
                    "lease_expires_at = NULL, updated_at = :now, payload = :kept "
                    "WHERE job_id = :id AND status = 'running'"
                ),
                {
                    "kept": _kept_payload(conn, job_id),
                    "status": status,
                    "result": result,
                    "error": None if error is None else storable(error),
                    "now": self._clock.now(),
                    "id": job_id,
                },
            ).rowcount
            if (
                not updated
                and conn.execute(
                    sa.text("SELECT 1 FROM jobs WHERE job_id = :id"), {"id": job_id}
                ).first()
                is None
            ):
                raise KeyError(job_id)
        return bool(updated)


OWNER_KEY = "_owner"  # payload key: the submitting API key's id (not part of the ticket)


def _kept_payload(conn: Any, job_id: str) -> str | None:
    """What a finished job keeps of its payload: only its owner (the ticket's text goes)."""
    raw = conn.execute(sa.text("SELECT payload FROM jobs WHERE job_id = :id"), {"id": job_id})
    payload = raw.scalar()
    owner = json.loads(payload).get(OWNER_KEY) if payload else None
    return None if owner is None else json.dumps({OWNER_KEY: owner})


def _job(row: Row[Any]) -> Job:
    return Job(
        job_id=row.job_id,
        status=row.status,
        payload=json.loads(row.payload) if row.payload is not None else None,
        result=json.loads(row.result) if row.result is not None else None,
        error=row.error,
        attempts=row.attempts,
        worker_id=row.worker_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )

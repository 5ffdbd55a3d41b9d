"""Async job queue in the shared store: atomic claims with leases, so a dead worker's job
is picked up again and every job is claimed by exactly one live worker at a time."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from smart_support.clock import Clock
from smart_support.serving.database import SqliteDatabase
from smart_support.serving.records import Job

_CLAIMABLE = "status = 'queued' OR (status = 'running' AND lease_expires_at < :now)"


class JobQueue:
    """Mixin of StateStore: needs `_db`, `_clock`, `lease_s` and `max_attempts`."""

    _db: SqliteDatabase
    _clock: Clock
    lease_s: float
    max_attempts: int

    def enqueue_job(self, payload: dict[str, Any]) -> str:
        job_id = uuid.uuid4().hex
        now = self._clock.now()
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, payload, status, created_at, updated_at) "
                "VALUES (?, ?, 'queued', ?, ?)",
                (job_id, json.dumps(payload), now, now),
            )
        return job_id

    def claim_job(self, worker_id: str) -> Job | None:
        """The oldest queued job (or one whose lease expired), now running for this worker."""
        now = self._clock.now()
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'failed', updated_at = :now, lease_expires_at = NULL, "
                "error = 'worker lease expired ' || attempts || ' times; giving up' "
                "WHERE status = 'running' AND lease_expires_at < :now AND attempts >= :max",
                {"now": now, "max": self.max_attempts},
            )
            rows = conn.execute(  # fetchall: a RETURNING statement must finish before COMMIT
                "UPDATE jobs SET status = 'running', worker_id = :worker, "
                "attempts = attempts + 1, lease_expires_at = :lease, updated_at = :now "
                f"WHERE seq = (SELECT seq FROM jobs WHERE {_CLAIMABLE} ORDER BY seq LIMIT 1) "
                "RETURNING *",
                {"worker": worker_id, "lease": now + self.lease_s, "now": now},
            ).fetchall()
        return _job(rows[0]) if rows else None

    def complete_job(self, job_id: str, result: dict[str, Any]) -> bool:
        """Store the result; False when the job was no longer running (already finished)."""
        return self._finish(job_id, "done", result=json.dumps(result), error=None)

    def fail_job(self, job_id: str, error: str) -> bool:
        return self._finish(job_id, "failed", result=None, error=error)

    def get_job(self, job_id: str) -> Job:
        row = (
            self._db.connection()
            .execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
            .fetchone()
        )
        if row is None:
            raise KeyError(job_id)
        return _job(row)

    def _finish(self, job_id: str, status: str, result: str | None, error: str | None) -> bool:
        with self._db.transaction() as conn:
            updated = conn.execute(
                "UPDATE jobs SET status = ?, result = ?, error = ?, lease_expires_at = NULL, "
                "updated_at = ? WHERE job_id = ? AND status = 'running'",
                (status, result, error, self._clock.now(), job_id),
            ).rowcount
            if (
                not updated
                and conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
                is None
            ):
                raise KeyError(job_id)
        return bool(updated)


def _job(row: sqlite3.Row) -> Job:
    return Job(
        job_id=row["job_id"],
        status=row["status"],
        payload=json.loads(row["payload"]),
        result=json.loads(row["result"]) if row["result"] is not None else None,
        error=row["error"],
        attempts=row["attempts"],
        worker_id=row["worker_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )

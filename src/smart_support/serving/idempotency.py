"""Idempotent requests: a client that retries with the same `Idempotency-Key` gets the first
answer, and its ticket is routed (and takes an agent slot) once.

A key is scoped by endpoint and caller (`scope`), so two clients or two endpoints never share
one. The key decides the ticket id (or job id) of the request (`derived_id`): a retry that
arrives while the first request is still running, or after a crash between the routing commit
and `remember`, routes the same ticket id, which the ledger already knows (no second slot, no
second alert). `remember` keeps the first answer; a key sent again with a different body is
refused (`IdempotencyConflict`, HTTP 422) instead of silently answering for another request.
Keys are forgotten after `retention.idempotency_hours` (the retention purge).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import sqlalchemy as sa

from smart_support.clock import Clock
from smart_support.serving.database import Database

MAX_KEY_CHARS = 255
_NAMESPACE = uuid.UUID("4f0c2d7e-8a41-4c55-9a52-5e1f0b1c7a3d")


class IdempotencyConflict(ValueError):
    """The key was used before for a different request."""


def check_key(key: str) -> str:
    """A key is 1-255 printable ASCII characters (ValueError with the reason otherwise)."""
    if not key or len(key) > MAX_KEY_CHARS or not all(" " <= c <= "~" for c in key):
        raise ValueError(f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable ASCII characters")
    return key


def fingerprint(request: Any) -> str:
    """A hash of the request body as JSON (key order does not matter)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def derived_id(scope: str, key: str) -> str:
    """The ticket (or job) id of a keyed request: the same for every retry of it."""
    return uuid.uuid5(_NAMESPACE, f"{scope}\n{key}").hex


class IdempotencyKeys:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def recall(self, scope: str, key: str, request_hash: str) -> dict[str, Any] | None:
        """The first answer to this key, or None when it is new."""
        with self._db.snapshot() as conn:
            row = conn.execute(_SELECT, {"scope": scope, "key": key}).first()
        return _answer(row, request_hash)

    def remember(
        self,
        scope: str,
        key: str,
        request_hash: str,
        response: dict[str, Any],
        ticket_id: str | None = None,
    ) -> dict[str, Any]:
        """Keep `response` as the key's answer unless one is kept already; returns the kept one
        (two concurrent first requests both answer with the one stored first)."""
        params = {
            "scope": scope,
            "key": key,
            "fingerprint": request_hash,
            "response": json.dumps(response),
            "ticket_id": ticket_id,
            "now": self._clock.now(),
        }
        with self._db.transaction() as conn:
            conn.execute(_INSERT, params)
            row = conn.execute(_SELECT, params).one()
        kept = _answer(row, request_hash)
        assert kept is not None
        return kept


_SELECT = sa.text(
    "SELECT fingerprint, response FROM idempotency_keys WHERE scope = :scope AND request_key = :key"
)
_INSERT = sa.text(
    "INSERT INTO idempotency_keys (scope, request_key, fingerprint, response, ticket_id, created_at) "
    "VALUES (:scope, :key, :fingerprint, :response, :ticket_id, :now) "
    "ON CONFLICT (scope, request_key) DO NOTHING"
)


def _answer(row: Any, request_hash: str) -> dict[str, Any] | None:
    if row is None:
        return None
    if row.fingerprint != request_hash:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different request; "
            "use a new key for a new request"
        )
    return dict(json.loads(row.response))

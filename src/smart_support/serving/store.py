"""Shared serving state: tickets, incidents, agent loads, jobs and counters.

`Store` is what the service depends on; `StateStore` implements it over an embedded SQLite
file that every worker process (and a restarted service) shares. A server database can
replace it behind the same interface. Nothing shared lives in per-process dicts: the only
per-process state is a cache of the dedup window, refreshed from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from smart_support.clock import Clock, SystemClock
from smart_support.routing.skills import Agent
from smart_support.serving.database import SqliteDatabase
from smart_support.serving.jobs import JobQueue
from smart_support.serving.records import (
    AgentLoad,
    Incident,
    Job,
    NewTicket,
    ResolveOutcome,
    RoutingOutcome,
    TriageTicket,
)
from smart_support.serving.settings import DedupSettings, ServeSettings
from smart_support.serving.store_views import StoreViews
from smart_support.serving.ticket_routing import TicketRouting
from smart_support.serving.window_cache import WindowCache


@runtime_checkable
class Store(Protocol):
    # tickets
    def record_routing(self, tickets: Sequence[NewTicket]) -> list[RoutingOutcome]: ...
    def resolve_ticket(self, ticket_id: str) -> ResolveOutcome: ...
    def triage_queue(self, limit: int = 50) -> list[TriageTicket]: ...
    # incidents and agents
    def list_incidents(self, limit: int = 100) -> list[Incident]: ...
    def get_incident(self, incident_id: str) -> Incident: ...
    def agent_loads(self) -> list[AgentLoad]: ...
    def waiting_count(self) -> int: ...
    # async jobs
    def enqueue_job(self, payload: dict[str, Any]) -> str: ...
    def claim_job(self, worker_id: str) -> Job | None: ...
    def complete_job(self, job_id: str, result: dict[str, Any]) -> bool: ...
    def fail_job(self, job_id: str, error: str) -> bool: ...
    def get_job(self, job_id: str) -> Job: ...
    # counters and stats
    def increment(self, name: str, by: int = 1) -> None: ...
    def counters(self) -> dict[str, int]: ...
    def stats(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


class StateStore(TicketRouting, JobQueue, StoreViews):
    """SQLite implementation of `Store` (WAL, BEGIN IMMEDIATE, one connection per thread)."""

    def __init__(
        self,
        path: str | Path,
        clock: Clock | None = None,
        agents: Sequence[Agent] = (),
        dedup: DedupSettings | None = None,
        lease_s: float = 60.0,
        max_attempts: int = 3,
        min_affinity: float = 0.0,
        busy_timeout_s: float = 10.0,
        embedding_dim: int = 384,
    ) -> None:
        self._clock = clock or SystemClock()
        self._db = SqliteDatabase(path, busy_timeout_s)
        self._window = WindowCache(dedup or DedupSettings(), embedding_dim)
        self.agents = tuple(agents)
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.min_affinity = min_affinity
        self._db.connection()  # create the schema now: fail at start-up, not on a request

    @classmethod
    def from_settings(cls, settings: ServeSettings, clock: Clock | None = None) -> StateStore:
        return cls(
            settings.store.path,
            clock=clock,
            agents=settings.agents,
            dedup=settings.dedup,
            lease_s=settings.jobs.lease_s,
            max_attempts=settings.jobs.max_attempts,
            min_affinity=settings.routing.min_affinity,
            busy_timeout_s=settings.store.busy_timeout_s,
        )

    @property
    def path(self) -> Path:
        return self._db.path

    def close(self) -> None:
        self._db.close()

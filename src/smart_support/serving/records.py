"""What goes into and comes out of the state store (plain frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class NewTicket:
    """A classified ticket, ready to be deduplicated, assigned and stored."""

    ticket_id: str  # uuid hex, chosen by the caller (async jobs reuse it: exactly-once)
    subject: str
    category: str
    confidence: float
    needs_review: bool
    urgency: float
    model_used: str
    language: str
    embedding: np.ndarray = field(repr=False)  # unit-normalised float32, shape (dim,)


@dataclass(frozen=True)
class DedupResult:
    is_duplicate: bool
    master_incident_id: str | None
    similarity: float


@dataclass(frozen=True)
class RoutingOutcome:
    ticket_id: str
    agent_id: str | None  # None: every suitable agent is full
    queue_position: int | None  # 1-based place in the urgency-ordered waiting queue
    dedup: DedupResult
    incident_created: bool  # True only for the ticket whose arrival opened the incident


@dataclass(frozen=True)
class ResolveOutcome:
    ticket_id: str
    status: str  # "resolved"
    freed_agent: str | None
    next_assigned: str | None  # the waiting ticket that took the freed slot


@dataclass(frozen=True)
class IncidentTicket:
    ticket_id: str
    subject: str
    created_at: float


@dataclass(frozen=True)
class Incident:
    id: str
    created_at: float
    size: int
    title: str
    tickets: tuple[IncidentTicket, ...]


@dataclass(frozen=True)
class AgentLoad:
    id: str
    name: str
    load: int
    capacity: int
    utilisation: float
    skills: dict[str, float]
    languages: dict[str, float]


@dataclass(frozen=True)
class TriageTicket:
    ticket_id: str
    subject: str
    category: str
    confidence: float
    urgency_score: float
    created_at: float


@dataclass(frozen=True)
class Job:
    job_id: str
    status: str  # queued | running | done | failed
    payload: dict[str, Any] | None  # deleted (None) once the job finished
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    worker_id: str | None
    created_at: float
    updated_at: float

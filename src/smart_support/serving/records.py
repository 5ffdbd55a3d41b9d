"""What goes into and comes out of the state store (plain frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class NewTicket:
    """A classified ticket, ready to be deduplicated, assigned and stored."""

    ticket_id: str  # uuid hex, chosen by the caller (async jobs reuse it: exactly-once)
    subject: str  # the shown title: personal data already redacted
    category: str
    confidence: float
    needs_review: bool
    urgency: float
    model_used: str
    language: str
    embedding: np.ndarray = field(repr=False)  # unit-normalised float32, shape (dim,)
    body: str = field(default="", repr=False)  # redacted body, kept for corrections' training
    model_version: str = ""  # registry version of the model that classified it


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
    incident_reopened: bool = False  # True for a ticket that reopened a resolved incident


@dataclass(frozen=True)
class ResolveOutcome:
    ticket_id: str
    status: str  # "resolved"
    freed_agent: str | None
    next_assigned: str | None  # the waiting ticket that took the freed slot


@dataclass(frozen=True)
class IncidentResolution:
    incident_id: str
    status: str  # "resolved"
    resolved_tickets: int  # members closed by this call (0 when it was resolved already)
    freed_agents: tuple[str, ...]  # the slot(s) the incident held (one, normally)
    next_assigned: tuple[str, ...]  # the waiting tickets that took them
    title: str
    already_resolved: bool  # True: nothing changed (no second "resolved" message)


@dataclass(frozen=True)
class IncidentMember:
    ticket_id: str
    subject: str
    created_at: float
    status: str  # linked | assigned | waiting | resolved
    urgency: float


@dataclass(frozen=True)
class Incident:
    """One master incident as the dashboards list it: counts, never every member."""

    id: str
    title: str
    status: str  # open | resolved
    created_at: float
    resolved_at: float | None
    size: int  # member tickets, resolved ones included
    open_members: int  # members not resolved yet
    owner_ticket_id: str | None  # the member that holds the incident's agent slot
    owner_agent: str | None  # its agent; None while it waits for one
    first_arrival: float | None  # the earliest member's arrival
    last_arrival: float | None


@dataclass(frozen=True)
class IncidentPage:
    incidents: tuple[Incident, ...]
    next_cursor: str | None  # pass as `cursor` for the next page; None on the last


@dataclass(frozen=True)
class Timeline:
    """Members' arrivals in fixed buckets from the first arrival (the size over time)."""

    start: float
    bucket_s: float
    counts: tuple[int, ...]


@dataclass(frozen=True)
class IncidentDetail:
    incident: Incident
    timeline: Timeline
    tickets: tuple[IncidentMember, ...]  # one page, in arrival order
    next_cursor: str | None


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


@dataclass(frozen=True)
class Correction:
    """An agent's correction of a ticket's prediction, with the prediction it corrects."""

    ticket_id: str
    category: str
    urgency_level: str | None
    predicted_category: str
    predicted_urgency: float
    model_used: str
    model_version: str | None
    needs_review: bool
    corrected_by: str
    corrected_at: float


@dataclass(frozen=True)
class Reroute:
    """What a correction did to the ticket's place: the slot it left, the agent it went to."""

    routing_category: str
    freed_agent: str | None  # the agent whose slot the ticket left
    agent_id: str | None  # the ticket's agent now; None: it waits (or is linked/resolved)
    next_assigned: str | None  # the waiting ticket that took the freed slot


@dataclass(frozen=True)
class CorrectionOutcome:
    correction: Correction
    corrections: int  # of this ticket, this one included (the latest wins)
    reroute: Reroute | None  # None: the ticket stayed where it was

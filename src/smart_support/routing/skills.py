"""Skill-based routing: who should take which ticket, jointly for a batch.

Every free capacity slot of every agent is one column of an assignment problem; tickets are
rows; `scipy.optimize.linear_sum_assignment` maximises the summed affinity. Tickets left
without a slot go to the waiting queue (the store orders it by urgency).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

DEFAULT_WEIGHT = 0.1  # skill or language an agent has not declared
LOAD_BALANCE = 0.05  # up to 5% less affinity for an agent's last free slot: spreads ties
FORBIDDEN = -1e9  # score of a slot whose skill × language is below min_affinity
TRIAGE = "Triage"  # the routing category of tickets that need human review


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    capacity: int
    skills: Mapping[str, float] = field(default_factory=dict)  # category -> weight in [0, 1]
    languages: Mapping[str, float] = field(default_factory=dict)  # ISO 639-1 -> weight


@dataclass(frozen=True)
class TicketNeed:
    """What routing needs to know about one ticket."""

    category: str  # "Billing" | "Technical" | "Legal" | TRIAGE
    language: str  # ISO 639-1 or "unknown"
    urgency: float  # S in [0, 1]


def routing_category(category: str, needs_review: bool) -> str:
    """Tickets the model is unsure about go to triage agents, not to the guessed team."""
    return TRIAGE if needs_review else category


def affinity(agent: Agent, category: str, language: str, urgency: float) -> float:
    """skill × language, scaled by (1 + urgency).

    Within one ticket the factor changes nothing; across a batch it makes urgent tickets
    win contested slots and the best-matching agents, because the assignment maximises the
    summed affinity.
    """
    return match(agent, category, language) * (1.0 + min(max(urgency, 0.0), 1.0))


def match(agent: Agent, category: str, language: str) -> float:
    """skill × language weight: how well the agent fits, whatever the urgency."""
    skill = agent.skills.get(category, DEFAULT_WEIGHT)
    return skill * agent.languages.get(language, DEFAULT_WEIGHT)


def free_slots(agents: Sequence[Agent], loads: Mapping[str, int]) -> list[tuple[int, int]]:
    """(agent index, load the agent would have before taking this slot) per free slot."""
    slots = []
    for a, agent in enumerate(agents):
        load = loads.get(agent.id, 0)
        slots += [(a, used) for used in range(load, agent.capacity)]
    return slots


def assign_tickets(
    tickets: Sequence[TicketNeed],
    agents: Sequence[Agent],
    loads: Mapping[str, int],
    min_affinity: float = 0.0,
) -> list[str | None]:
    """Agent id per ticket (None: no free slot whose skill × language reaches `min_affinity`)."""
    slots = free_slots(agents, loads)
    if not tickets or not slots:
        return [None] * len(tickets)
    raw = np.array([[affinity(agents[a], *_need(t)) for a, _ in slots] for t in tickets])
    allowed = np.array(
        [
            [match(agents[a], t.category, t.language) >= min_affinity for a, _ in slots]
            for t in tickets
        ]
    )
    fill = np.array([1.0 - LOAD_BALANCE * used / max(agents[a].capacity, 1) for a, used in slots])
    # A forbidden pair costs more than any allowed set can gain, so it is used only when
    # a full matching forces it, and then dropped below.
    scores = np.where(allowed, raw * fill, FORBIDDEN)
    rows, cols = linear_sum_assignment(scores, maximize=True)
    result: list[str | None] = [None] * len(tickets)
    for row, col in zip(rows, cols, strict=True):
        if allowed[row, col]:
            result[row] = agents[slots[col][0]].id
    return result


def _need(ticket: TicketNeed) -> tuple[str, str, float]:
    return ticket.category, ticket.language, ticket.urgency

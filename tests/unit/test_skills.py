"""Skill-based routing: affinity, and joint assignment of a batch over capacity slots."""

from __future__ import annotations

import pytest

from smart_support.routing.skills import (
    DEFAULT_WEIGHT,
    TRIAGE,
    Agent,
    TicketNeed,
    affinity,
    assign_tickets,
    free_slots,
    routing_category,
)

BILLING_DE = Agent("bea", "Bea", 2, {"Billing": 1.0}, {"de": 1.0, "en": 0.5})
TECH_EN = Agent("tom", "Tom", 2, {"Technical": 1.0}, {"en": 1.0})
TECH_EN_JUNIOR = Agent("jo", "Jo", 2, {"Technical": 0.5}, {"en": 1.0})


def test_affinity_multiplies_skill_and_language_weights() -> None:
    assert affinity(BILLING_DE, "Billing", "en", urgency=0.0) == pytest.approx(0.5)


def test_unknown_category_and_language_get_the_small_default_weight() -> None:
    assert affinity(TECH_EN, "Legal", "fi", urgency=0.0) == pytest.approx(DEFAULT_WEIGHT**2)


def test_urgency_scales_affinity_up_to_double() -> None:
    calm = affinity(TECH_EN, "Technical", "en", urgency=0.0)
    assert affinity(TECH_EN, "Technical", "en", urgency=1.0) == pytest.approx(2 * calm)


def test_needs_review_tickets_are_routed_as_triage() -> None:
    assert routing_category("Billing", needs_review=True) == TRIAGE
    assert routing_category("Billing", needs_review=False) == "Billing"


def test_each_free_slot_of_each_agent_is_one_column() -> None:
    slots = free_slots([BILLING_DE, TECH_EN], loads={"bea": 1})
    assert slots == [(0, 1), (1, 0), (1, 1)]


def test_tickets_go_to_the_agents_with_matching_skill_and_language() -> None:
    tickets = [TicketNeed("Technical", "en", 0.5), TicketNeed("Billing", "de", 0.5)]
    assert assign_tickets(tickets, [BILLING_DE, TECH_EN], loads={}) == ["tom", "bea"]


def test_urgent_ticket_wins_the_best_agent_when_both_want_it() -> None:
    agents = [Agent("tom", "Tom", 1, {"Technical": 1.0}, {"en": 1.0}), TECH_EN_JUNIOR]
    calm, urgent = TicketNeed("Technical", "en", 0.1), TicketNeed("Technical", "en", 0.95)
    assert assign_tickets([calm, urgent], agents, loads={}) == ["jo", "tom"]


def test_urgent_ticket_wins_the_last_slot() -> None:
    agents = [Agent("tom", "Tom", 1, {"Technical": 1.0}, {"en": 1.0})]
    calm, urgent = TicketNeed("Technical", "en", 0.2), TicketNeed("Technical", "en", 0.9)
    assert assign_tickets([calm, urgent], agents, loads={}) == [None, "tom"]


def test_no_agent_takes_more_than_its_free_capacity() -> None:
    tickets = [TicketNeed("Technical", "en", 0.5)] * 5
    result = assign_tickets(tickets, [TECH_EN], loads={"tom": 1})
    assert result.count("tom") == 1
    assert result.count(None) == 4


def test_equally_skilled_agents_share_the_load() -> None:
    twin = Agent("tim", "Tim", 2, {"Technical": 1.0}, {"en": 1.0})
    result = assign_tickets([TicketNeed("Technical", "en", 0.5)] * 2, [TECH_EN, twin], loads={})
    assert sorted(result) == ["tim", "tom"]


def test_full_roster_leaves_every_ticket_unassigned() -> None:
    result = assign_tickets([TicketNeed("Billing", "de", 0.5)], [BILLING_DE], loads={"bea": 2})
    assert result == [None]


def test_agents_below_min_affinity_never_get_the_ticket() -> None:
    ticket = TicketNeed("Legal", "en", 0.5)
    assert assign_tickets([ticket], [TECH_EN], loads={}, min_affinity=0.2) == [None]


def test_urgency_does_not_lift_an_agent_over_min_affinity() -> None:
    ticket = TicketNeed("Legal", "en", 1.0)  # match 0.1, affinity 0.2
    assert assign_tickets([ticket], [TECH_EN], loads={}, min_affinity=0.15) == [None]


def test_min_affinity_does_not_waste_a_slot_on_a_ticket_that_cannot_take_it() -> None:
    agents = [Agent("tom", "Tom", 1, {"Technical": 1.0}, {"en": 1.0})]
    legal, tech = TicketNeed("Legal", "en", 1.0), TicketNeed("Technical", "en", 0.0)
    assert assign_tickets([legal, tech], agents, loads={}, min_affinity=0.2) == [None, "tom"]


def test_an_empty_batch_assigns_nothing() -> None:
    assert assign_tickets([], [TECH_EN], loads={}) == []

"""The routing use case: classify → dedup → assign, with the webhook messages it causes
stored in the outbox in the same transaction. Plain Python, no server."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from smart_support.models.base import needs_review
from smart_support.redaction import redact
from smart_support.routing.webhook import incident_resolved_event
from smart_support.serving.alerts import alert_messages, outbox_message
from smart_support.serving.api_models import TicketIn
from smart_support.serving.ledger import TicketLedger
from smart_support.serving.model_router import Classified
from smart_support.serving.outbox import OutboxMessage
from smart_support.serving.records import IncidentResolution, NewTicket, RoutingOutcome
from smart_support.serving.settings import ServeSettings
from smart_support.text import ticket_text, visible_text

log = logging.getLogger(__name__)

Classify = Callable[[list[str]], list[Classified]]
# Sees every routed batch after it committed (the drift monitor): tickets and model inputs
Observe = Callable[[Sequence[NewTicket], Sequence[str]], None]


class InputError(ValueError):
    """Bad request content; the message says what was wrong (HTTP 4xx)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class TicketService:
    settings: ServeSettings
    ledger: TicketLedger
    classify: Classify
    observe: Observe | None = None

    def check(self, tickets: Sequence[TicketIn]) -> None:
        """Limits the schema cannot express (they come from conf/serve)."""
        if len(tickets) > self.settings.max_batch:
            raise InputError(
                f"batch of {len(tickets)} tickets is over the limit of {self.settings.max_batch}; "
                "split it into smaller batches",
                status=413,
            )
        for index, ticket in enumerate(tickets):
            where = f"ticket {index}: " if len(tickets) > 1 else ""
            _check_text(where, "subject", ticket.subject, required=False)
            _check_text(where, "body", ticket.body, required=True)
            if len(ticket.body) > self.settings.max_body_chars:
                raise InputError(
                    f"{where}body has {len(ticket.body)} characters; the limit is "
                    f"{self.settings.max_body_chars}",
                    status=413,
                )
            if len(ticket.subject) > self.settings.max_subject_chars:
                raise InputError(
                    f"{where}subject is longer than {self.settings.max_subject_chars} characters",
                    status=413,
                )

    def route(
        self, tickets: Sequence[TicketIn], ticket_ids: Sequence[str] | None = None
    ) -> list[dict]:
        """Route a batch jointly; `ticket_ids` makes routing idempotent (async jobs)."""
        start = time.perf_counter()
        self.check(tickets)
        texts = [ticket_text(t.subject, t.body) for t in tickets]
        classified = self.classify(texts)
        ids = list(ticket_ids) if ticket_ids else [uuid.uuid4().hex for _ in tickets]
        new = [
            self._new_ticket(ticket_id, ticket, result)
            for ticket_id, ticket, result in zip(ids, tickets, classified, strict=True)
        ]
        outcomes = self.ledger.record_routing(new, self._messages)
        if self.observe is not None:
            self.observe(new, texts)
        latency_ms = 1000 * (time.perf_counter() - start)
        return [self._result(t, o, latency_ms) for t, o in zip(new, outcomes, strict=True)]

    def _new_ticket(self, ticket_id: str, ticket: TicketIn, result: Classified) -> NewTicket:
        language = (ticket.language or "").lower() or result.language
        return NewTicket(
            ticket_id=ticket_id,
            subject=shown_title(ticket.subject, ticket.body),
            category=result.category,
            confidence=result.confidence,
            needs_review=bool(
                needs_review(result.confidence, result.familiar, self.settings.review_threshold)
            ),
            urgency=result.urgency,
            model_used=result.model_used,
            language=language,
            embedding=result.embedding,
            body=stored_body(ticket.body),
            model_version=result.model_version,
        )

    def resolve_incident(self, incident_id: str) -> IncidentResolution:
        """Resolve an incident and its members; one "resolved" message, stored in the outbox
        in the same transaction (none when it was resolved already)."""

        def message(resolution: IncidentResolution) -> list[OutboxMessage]:
            event = incident_resolved_event(
                incident_id, resolution.title, resolution.resolved_tickets
            )
            return [outbox_message(event, f"incident_resolved:{incident_id}", None)]

        return self.ledger.resolve_incident(incident_id, message)

    def _messages(self, ticket: NewTicket, outcome: RoutingOutcome) -> list[OutboxMessage]:
        return alert_messages(self.settings, ticket, outcome)

    def _result(self, ticket: NewTicket, outcome: RoutingOutcome, latency_ms: float) -> dict:
        return {
            "ticket_id": ticket.ticket_id,
            "category": ticket.category,
            "confidence": round(ticket.confidence, 4),
            "needs_review": ticket.needs_review,
            "urgency_score": round(ticket.urgency, 4),
            "urgency_level": self.settings.urgency.level(ticket.urgency),
            "model_used": ticket.model_used,
            "agent": outcome.agent_id,
            "queue_position": outcome.queue_position,
            "dedup": {
                "is_duplicate": outcome.dedup.is_duplicate,
                "master_incident_id": outcome.dedup.master_incident_id,
                "similarity": round(outcome.dedup.similarity, 4),
            },
            "latency_ms": round(latency_ms, 2),
        }


TITLE_CHARS = 200


def shown_title(subject: str, body: str) -> str:
    """The title kept in the store and shown in /triage, /incidents and alerts: the cleaned
    subject, or the start of the body when there is none; personal data redacted."""
    title = visible_text(subject) or visible_text(body)
    return redact(title)[:TITLE_CHARS]


def stored_body(body: str) -> str:
    """The body as the store keeps it for training on agents' corrections: cleaned as the
    title is, personal data redacted (erased with the ticket, purged by retention)."""
    return redact(visible_text(body))


def _check_text(where: str, name: str, value: str, required: bool) -> None:
    """Text a person can read must be left after cleaning (markup and control characters go)."""
    if visible_text(value):
        return
    if value.strip() or required:
        raise InputError(
            f"{where}{name} has no readable text once markup and control characters are "
            f"removed{'' if required else ' (leave it empty instead)'}"
        )

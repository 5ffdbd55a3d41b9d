"""Which webhook messages a routing decision causes, as outbox messages (the ledger stores
them in the decision's own transaction)."""

from __future__ import annotations

from smart_support.monitoring.drift import DriftAlert
from smart_support.routing.webhook import (
    WebhookEvent,
    WebhookPoster,
    incident_event,
    incident_reopened_event,
    slack_payload,
    urgent_ticket_event,
)
from smart_support.serving.outbox import ClaimedMessage, Deliver, OutboxMessage
from smart_support.serving.records import NewTicket, RoutingOutcome
from smart_support.serving.settings import ServeSettings


def alert_messages(
    settings: ServeSettings, ticket: NewTicket, outcome: RoutingOutcome
) -> list[OutboxMessage]:
    """An incident opened (or reopened) by this ticket, or else an urgent ticket outside any
    incident: one message per incident, none per member."""
    incident = outcome.dedup.master_incident_id
    subject = ticket.subject  # the stored title, already redacted (ticket_service.shown_title)
    if outcome.incident_created and incident:
        size = settings.dedup.incident_after + 1
        event = incident_event(incident, subject, size)
        return [outbox_message(event, f"master_incident:{incident}", ticket.ticket_id)]
    if outcome.incident_reopened and incident:
        event = incident_reopened_event(incident, subject)
        key = f"incident_reopened:{incident}:{ticket.ticket_id}"
        return [outbox_message(event, key, ticket.ticket_id)]
    if incident is None and settings.urgency.is_alert(ticket.urgency):
        event = urgent_ticket_event(
            ticket.ticket_id, subject, ticket.category, ticket.urgency, outcome.agent_id
        )
        return [outbox_message(event, f"urgent_ticket:{ticket.ticket_id}", ticket.ticket_id)]
    return []


def drift_message(alert: DriftAlert) -> OutboxMessage:
    """One message per turn to `drifted`; its key names the features and the window's first
    arrival, so the same turn can never be stored twice."""
    names = ", ".join(alert.features)
    fields = {"Over threshold": names, "Window": f"{alert.tickets} tickets"}
    fields |= {f: f"{s:.3f} (threshold {alert.thresholds[f]:g})" for f, s in alert.scores.items()}
    event = WebhookEvent(
        kind="drift",
        title=f"Drift: {names} moved away from the training reference",
        fields=fields,
    )
    key = f"drift:{'+'.join(alert.features)}:{int(alert.window_start)}"
    return outbox_message(event, key, None)


def outbox_message(event: WebhookEvent, message_id: str, ticket_id: str | None) -> OutboxMessage:
    """The Slack payload with the message's idempotency key in it."""
    payload = {**slack_payload(event), "idempotency_key": message_id}
    return OutboxMessage(message_id, event.kind, payload, ticket_id)


def deliver_by_webhook(poster: WebhookPoster) -> Deliver:
    def deliver(message: ClaimedMessage) -> None:
        poster(message.payload, message.message_id)

    return deliver

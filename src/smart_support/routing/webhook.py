"""Slack-compatible webhook alerts: events, their payload, one delivery attempt.

Messages are not sent from the request path: the routing transaction stores them in the
outbox (serving/outbox.py), whose sender posts them with `WebhookPoster`, retries with
backoff and marks them sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smart_support.redaction import redact

log = logging.getLogger(__name__)

Post = Callable[..., Any]  # httpx.post-like: post(url, json=, timeout=, headers=) -> response


@dataclass(frozen=True)
class WebhookEvent:
    kind: str  # "urgent_ticket" | "master_incident" | "incident_resolved"
    title: str
    fields: dict[str, str] = field(default_factory=dict)


def shown(title: str, limit: int = 120) -> str:
    """A ticket title as it may leave the service: personal data redacted, never blank."""
    return redact(" ".join(title.split()))[:limit] or "(no subject)"


def urgent_ticket_event(
    ticket_id: str, subject: str, category: str, urgency: float, agent: str | None
) -> WebhookEvent:
    return WebhookEvent(
        kind="urgent_ticket",
        title=f"Urgent ticket (S={urgency:.2f}): {shown(subject)}",
        fields={
            "Ticket": ticket_id,
            "Category": category,
            "Urgency": f"{urgency:.2f}",
            "Agent": agent or "waiting queue",
        },
    )


def incident_event(incident_id: str, title: str, size: int) -> WebhookEvent:
    return WebhookEvent(
        kind="master_incident",
        title=f"Master Incident opened ({size} similar tickets): {shown(title)}",
        fields={"Incident": incident_id, "Tickets": str(size)},
    )


def incident_reopened_event(incident_id: str, title: str) -> WebhookEvent:
    return WebhookEvent(
        kind="master_incident",
        title=f"Master Incident reopened (a new report after it was resolved): {title[:120]}",
        fields={"Incident": incident_id},
    )


def incident_resolved_event(incident_id: str, title: str, tickets: int) -> WebhookEvent:
    return WebhookEvent(
        kind="incident_resolved",
        title=f"Master Incident resolved ({tickets} tickets closed): {title[:120]}",
        fields={"Incident": incident_id, "Tickets resolved": str(tickets)},
    )


def slack_payload(event: WebhookEvent) -> dict[str, Any]:
    """`text` for notifications and plain clients, `blocks` for Slack's layout."""
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in event.fields.items()]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{event.title}*"}}
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})  # Slack allows 10
    return {"text": event.title, "blocks": blocks}


class WebhookError(RuntimeError):
    """The receiver answered with a status outside 2xx."""


class WebhookPoster:
    """One delivery attempt of one payload (the outbox sender retries); raises on failure.

    The `Idempotency-Key` header repeats the payload's key, so a receiver can drop a message
    it already has. Without a URL the message is logged and counts as delivered.
    """

    def __init__(self, url: str | None, timeout_s: float = 2.0, post: Post | None = None) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._post = post

    def __call__(self, payload: dict[str, Any], idempotency_key: str) -> None:
        if not self.url:
            log.info("webhook (no url configured) %s: %s", idempotency_key, payload.get("text"))
            return
        post = self._post
        if post is None:
            import httpx

            post = httpx.post
        response = post(
            self.url,
            json=payload,
            timeout=self.timeout_s,
            headers={"Idempotency-Key": idempotency_key},
        )
        if not 200 <= response.status_code < 300:
            raise WebhookError(f"webhook answered {response.status_code}")

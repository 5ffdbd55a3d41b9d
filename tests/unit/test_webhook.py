"""Webhook alerts: Slack payloads and one delivery attempt (retries: the outbox sender)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from smart_support.routing.webhook import (
    WebhookError,
    WebhookPoster,
    incident_event,
    slack_payload,
    urgent_ticket_event,
)

URL = "https://hooks.example/T000/B000/xyz"
EVENT = urgent_ticket_event("abc123", "Server down", "Technical", 0.93, "anna")


@dataclass
class Response:
    status_code: int


class FakeEndpoint:
    """Answers with the given status codes in turn (an exception is raised instead)."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self, url: str, json: dict[str, Any], timeout: float, headers: dict[str, str]
    ) -> Response:
        self.calls.append({"url": url, "json": json, "timeout": timeout, "headers": headers})
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return Response(answer)


def test_payload_is_slack_compatible_text_and_blocks() -> None:
    payload = slack_payload(EVENT)
    assert payload["text"].startswith("Urgent ticket (S=0.93)")
    assert payload["blocks"][0]["type"] == "section"
    assert {"type": "mrkdwn", "text": "*Agent*\nanna"} in payload["blocks"][1]["fields"]


def test_incident_event_names_the_incident_and_its_size() -> None:
    payload = slack_payload(incident_event("inc-1", "Login down", size=11))
    assert "11 similar tickets" in payload["text"]
    assert {"type": "mrkdwn", "text": "*Incident*\ninc-1"} in payload["blocks"][1]["fields"]


def test_one_attempt_posts_the_payload_with_its_idempotency_key() -> None:
    endpoint = FakeEndpoint(200)
    WebhookPoster(URL, timeout_s=1.5, post=endpoint)({"text": "hi"}, "urgent_ticket:abc")
    [call] = endpoint.calls
    assert call["json"] == {"text": "hi"}
    assert call["headers"] == {"Idempotency-Key": "urgent_ticket:abc"}
    assert call["timeout"] == 1.5


@pytest.mark.parametrize("answer", [500, 404, TimeoutError("timed out")])
def test_a_failed_attempt_raises(answer: int | Exception) -> None:
    with pytest.raises((WebhookError, TimeoutError)):
        WebhookPoster(URL, post=FakeEndpoint(answer))({"text": "hi"}, "k")


def test_no_url_logs_the_message_and_counts_as_delivered(caplog) -> None:
    endpoint = FakeEndpoint(500)
    with caplog.at_level("INFO"):
        WebhookPoster(None, post=endpoint)({"text": "Server down"}, "k")
    assert endpoint.calls == []
    assert "Server down" in caplog.text


@pytest.mark.parametrize("subject", ["", "   ", "\n"])
def test_an_alert_never_goes_out_with_an_empty_title(subject: str) -> None:
    event = urgent_ticket_event("t1", subject, "Technical", 0.93, None)
    assert event.title.endswith("(no subject)")
    assert incident_event("i1", subject, 11).title.endswith("(no subject)")


def test_alert_titles_carry_no_personal_data() -> None:
    event = urgent_ticket_event("t1", "Call +49 30 12345678 or a@b.de", "Billing", 0.9, None)
    assert event.title.endswith("Call [phone] or [email]")

"""Webhook alerts: Slack payloads, delivery off the caller's thread, retries, never raising."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from smart_support.routing.webhook import (
    WebhookNotifier,
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
        self.threads: list[str] = []

    def __call__(self, url: str, json: dict[str, Any], timeout: float) -> Response:
        self.calls.append({"url": url, "json": json, "timeout": timeout})
        self.threads.append(threading.current_thread().name)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return Response(answer)


@pytest.fixture
def results() -> list[bool]:
    return []


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make(results: list[bool], sleeps: list[float]) -> Iterator[Any]:
    made: list[WebhookNotifier] = []

    def build(post: Any, url: str | None = URL, retries: int = 3) -> WebhookNotifier:
        notifier = WebhookNotifier(
            url, timeout_s=1.5, retries=retries, backoff_s=0.5,
            sleep=sleeps.append, post=post, on_result=results.append,
        )  # fmt: skip
        made.append(notifier)
        return notifier

    yield build
    for notifier in made:
        notifier.close()


def test_payload_is_slack_compatible_text_and_blocks() -> None:
    payload = slack_payload(EVENT)
    assert payload["text"].startswith("Urgent ticket (S=0.93)")
    assert payload["blocks"][0]["type"] == "section"
    assert {"type": "mrkdwn", "text": "*Agent*\nanna"} in payload["blocks"][1]["fields"]


def test_incident_event_names_the_incident_and_its_size() -> None:
    payload = slack_payload(incident_event("inc-1", "Login down", size=11))
    assert "11 similar tickets" in payload["text"]
    assert {"type": "mrkdwn", "text": "*Incident*\ninc-1"} in payload["blocks"][1]["fields"]


def test_delivery_happens_on_the_background_thread(make, results) -> None:
    endpoint = FakeEndpoint(200)
    notifier = make(endpoint)
    notifier.notify(EVENT)
    assert notifier.drain(5)
    assert endpoint.threads == ["webhook-notifier"]
    assert endpoint.calls[0]["url"] == URL
    assert endpoint.calls[0]["timeout"] == 1.5
    assert results == [True]


def test_notify_returns_before_a_slow_endpoint_answers(make, results) -> None:
    release = threading.Event()

    def slow_post(url: str, json: dict[str, Any], timeout: float) -> Response:
        release.wait(5)
        return Response(200)

    notifier = make(slow_post)
    notifier.notify(EVENT)  # would block here if delivery were on the caller's path
    assert results == []
    release.set()
    assert notifier.drain(5)
    assert results == [True]


def test_failed_attempts_are_retried_with_exponential_backoff(make, results, sleeps) -> None:
    endpoint = FakeEndpoint(500, TimeoutError("read timeout"), 503, 200)
    notifier = make(endpoint)
    notifier.notify(EVENT)
    notifier.drain(5)
    assert len(endpoint.calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert results == [True]


def test_giving_up_after_the_retries_reports_one_failure(make, results) -> None:
    endpoint = FakeEndpoint(500, 500, 500)
    notifier = make(endpoint, retries=2)
    notifier.notify(EVENT)
    notifier.drain(5)
    assert len(endpoint.calls) == 3
    assert results == [False]


def test_no_url_logs_the_event_and_counts_it_as_fired(make, results, caplog) -> None:
    endpoint = FakeEndpoint()
    notifier = make(endpoint, url=None)
    with caplog.at_level("INFO", logger="smart_support.routing.webhook"):
        notifier.notify(EVENT)
        notifier.drain(5)
    assert endpoint.calls == []
    assert results == [True]
    assert "Server down" in caplog.text


def test_a_broken_result_callback_does_not_stop_delivery(sleeps) -> None:
    def broken(ok: bool) -> None:
        raise RuntimeError("store unavailable")

    endpoint = FakeEndpoint()
    notifier = WebhookNotifier(URL, sleep=sleeps.append, post=endpoint, on_result=broken)
    notifier.notify(EVENT)
    notifier.notify(EVENT)
    assert notifier.drain(5)
    notifier.close()
    assert len(endpoint.calls) == 2


def test_a_full_queue_drops_the_event_as_a_failure(results) -> None:
    in_flight, release = threading.Event(), threading.Event()

    def blocked(url: str, json: dict[str, Any], timeout: float) -> Response:
        in_flight.set()
        release.wait(5)
        return Response(200)

    notifier = WebhookNotifier(URL, post=blocked, on_result=results.append, max_queue=1)
    notifier.notify(EVENT)
    assert in_flight.wait(5)
    notifier.notify(EVENT)  # queued
    notifier.notify(EVENT)  # dropped
    assert results == [False]
    release.set()
    assert notifier.drain(5)
    notifier.close()
    assert sorted(results) == [False, True, True]


def test_close_delivers_what_is_queued(make, results) -> None:
    notifier = make(FakeEndpoint())
    for _ in range(3):
        notifier.notify(EVENT)
    notifier.close()
    assert results == [True, True, True]


@pytest.mark.parametrize("subject", ["", "   ", "\n"])
def test_an_alert_never_goes_out_with_an_empty_title(subject: str) -> None:
    event = urgent_ticket_event("t1", subject, "Technical", 0.93, None)
    assert event.title.endswith("(no subject)")
    assert incident_event("i1", subject, 11).title.endswith("(no subject)")


def test_alert_titles_carry_no_personal_data() -> None:
    event = urgent_ticket_event("t1", "Call +49 30 12345678 or a@b.de", "Billing", 0.9, None)
    assert event.title.endswith("Call [phone] or [email]")

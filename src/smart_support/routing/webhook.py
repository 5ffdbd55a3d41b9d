"""Slack-compatible webhook alerts, delivered off the request path.

`notify()` only puts the event on a queue; a daemon thread posts it with a timeout and
retries with exponential backoff. Nothing here raises into the caller: the outcome of each
event reaches `on_result(ok)` exactly once (the service counts fires and failures there).
Without a URL the event is logged and counts as fired.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smart_support.redaction import redact

log = logging.getLogger(__name__)

Post = Callable[..., Any]  # httpx.post-like: post(url, json=..., timeout=...) -> response
_STOP = object()


@dataclass(frozen=True)
class WebhookEvent:
    kind: str  # "urgent_ticket" | "master_incident"
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


def slack_payload(event: WebhookEvent) -> dict[str, Any]:
    """`text` for notifications and plain clients, `blocks` for Slack's layout."""
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in event.fields.items()]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{event.title}*"}}
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields[:10]})  # Slack allows 10
    return {"text": event.title, "blocks": blocks}


class WebhookNotifier:
    def __init__(
        self,
        url: str | None,
        timeout_s: float = 2.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        post: Post | None = None,
        on_result: Callable[[bool], None] | None = None,
        max_queue: int = 1000,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._post = post
        self._on_result = on_result
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def notify(self, event: WebhookEvent) -> None:
        """Queue the event and return at once; a full queue drops it as a failure."""
        self._ensure_worker()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            log.warning("webhook queue full, dropping %s event", event.kind)
            self._report(False)

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was delivered or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, then stop the worker thread."""
        if self._thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.warning("webhook queue still full at close; %d events dropped", self._queue.qsize())
            return
        self._thread.join(timeout)
        self._thread = None

    def _ensure_worker(self) -> None:
        with self._start_lock:  # started lazily: one thread per process, after any fork
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="webhook-notifier", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self._report(self._deliver(item))
            finally:
                self._queue.task_done()

    def _deliver(self, event: WebhookEvent) -> bool:
        url = self.url
        if not url:
            log.info("webhook (no url configured) %s: %s", event.kind, event.title)
            return True
        payload = slack_payload(event)
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self._send(url, payload)
                if 200 <= response.status_code < 300:
                    return True
                log.warning("webhook answered %s (attempt %d)", response.status_code, attempt + 1)
            except Exception as exc:  # timeouts, refused connections, bad URLs
                log.warning("webhook failed (attempt %d): %s", attempt + 1, exc)
        return False

    def _send(self, url: str, payload: dict[str, Any]) -> Any:
        post = self._post
        if post is None:
            import httpx

            post = httpx.post
        return post(url, json=payload, timeout=self.timeout_s)

    def _report(self, ok: bool) -> None:
        if self._on_result is None:
            return
        try:
            self._on_result(ok)
        except Exception:
            log.exception("webhook on_result callback failed")

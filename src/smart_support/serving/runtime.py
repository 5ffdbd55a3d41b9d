"""Everything one service worker needs, assembled once at start-up (the service only wires)."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smart_support.clock import Clock, SystemClock
from smart_support.config import PARAMS_FILE, load_params
from smart_support.monitoring.drift import DriftMonitor
from smart_support.routing.webhook import WebhookPoster
from smart_support.serving.access import ANONYMOUS as ANONYMOUS_CALLER
from smart_support.serving.access import KeyRing
from smart_support.serving.alerts import deliver_by_webhook
from smart_support.serving.api_models import FeedbackIn, TicketIn
from smart_support.serving.database import StoreUnavailable
from smart_support.serving.drift_watch import DriftWatch, build_drift_monitor
from smart_support.serving.edge import EdgePolicy
from smart_support.serving.idempotency import derived_id, fingerprint
from smart_support.serving.job_worker import JobWorker
from smart_support.serving.jobs import OWNER_KEY
from smart_support.serving.outbox import OutboxSender
from smart_support.serving.service_metrics import ServiceState
from smart_support.serving.settings import ServeSettings, limit_threads
from smart_support.serving.store import StateStore
from smart_support.serving.ticket_service import Classify, InputError, TicketService

log = logging.getLogger(__name__)
ANONYMOUS = ANONYMOUS_CALLER.key_id  # no keys configured (loopback development)

ENV_PARAMS = "SMART_SUPPORT_PARAMS"
ENV_STORE = "SMART_SUPPORT_STORE"  # the SQLite file
ENV_STORE_URL = "SMART_SUPPORT_STORE_URL"  # any store URL (PostgreSQL: several replicas)
ENV_WEBHOOK = "SMART_SUPPORT_WEBHOOK_URL"
ENV_FAULTS = "SMART_SUPPORT_FAULT_INJECTION"


def load_serve_settings(params: str | Path | None = None) -> ServeSettings:
    """conf/serve as composed into params.yaml, with deploy-time overrides from the environment."""
    cfg = load_params(params or os.environ.get(ENV_PARAMS, PARAMS_FILE))
    settings = ServeSettings.from_config(cfg.serve)
    if store := os.environ.get(ENV_STORE):
        settings = settings.model_copy(
            update={"store": settings.store.model_copy(update={"path": store, "url": None})}
        )
    if url := os.environ.get(ENV_STORE_URL):
        settings = settings.model_copy(
            update={"store": settings.store.model_copy(update={"url": url})}
        )
    if url := os.environ.get(ENV_WEBHOOK):
        settings = settings.model_copy(
            update={"webhook": settings.webhook.model_copy(update={"url": url})}
        )
    return settings


class NotFound(LookupError):
    """An id the client named does not exist (HTTP 404); bugs' KeyErrors stay 500s."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"no {kind} {ident!r}")


class QueueFull(InputError):
    """Too many async jobs waiting (HTTP 429 with Retry-After)."""

    def __init__(self, depth: int, retry_after_s: float) -> None:
        super().__init__(f"the async queue holds {depth} jobs, its limit; retry later", status=429)
        self.retry_after_s = retry_after_s


def fault_injection_enabled() -> bool:
    return os.environ.get(ENV_FAULTS, "") == "1"


@dataclass
class Runtime:
    settings: ServeSettings
    store: StateStore
    service: TicketService
    worker: JobWorker
    sender: OutboxSender
    classifier_health: Callable[[], dict[str, Any]]
    clock: Clock = field(default_factory=SystemClock)
    started_at: float = 0.0
    drift: DriftMonitor | None = None

    @classmethod
    def build(
        cls,
        settings: ServeSettings,
        classify: Classify,
        classifier_health: Callable[[], dict[str, Any]],
        clock: Clock | None = None,
    ) -> Runtime:
        limit_threads(settings)
        clock = clock or SystemClock()
        # The schema is applied by `prepare_store` (start-up, retried): a database that is down
        # when the service starts keeps it unready instead of crashing it.
        store = StateStore.from_settings(settings, clock, migrate=False)
        hook = settings.webhook
        deliver = deliver_by_webhook(WebhookPoster(hook.url, hook.timeout_s))
        sender = OutboxSender(store.outbox, deliver, hook.poll_interval_s, hook.batch)
        drift = build_drift_monitor(settings.drift, clock)
        service = TicketService(settings, store.ledger, classify, DriftWatch(drift, store.outbox))
        worker = JobWorker(store.jobs, service, settings.jobs.poll_interval_s)
        return cls(
            settings, store, service, worker, sender, classifier_health, clock, clock.now(), drift
        )

    @property
    def store_ready(self) -> bool:
        return self.store.database.ready

    async def prepare_store(self, retry_s: float = 2.0) -> None:
        """Apply the migrations, retrying until the database answers; the service reports
        ready only after this (the log names the database, its password hidden)."""
        import anyio

        while True:
            try:
                await anyio.to_thread.run_sync(self.store.database.ensure_schema)
            except StoreUnavailable as exc:
                log.error("%s; not ready, retrying in %.0f s", exc, retry_s)
                await anyio.sleep(retry_s)
            else:
                log.info("state store %s ready", self.store.database.where)
                return

    def route_one(
        self, ticket: TicketIn, idempotency_key: str | None = None, caller: str = ANONYMOUS
    ) -> dict[str, Any]:
        """POST /route; a retried request (same key and caller) gets the first answer."""

        def route(ticket_id: str | None) -> dict[str, Any]:
            return self.service.route([ticket], [ticket_id] if ticket_id else None)[0]

        return self._once("route", idempotency_key, caller, ticket, route)

    def submit(
        self, ticket: TicketIn, idempotency_key: str | None = None, caller: str = ANONYMOUS
    ) -> str:
        """POST /route/async: the job id (a retried request gets the first request's job).
        `caller` (the API key's id) is the only one, besides admins, who may read the job."""
        self.service.check([ticket])
        depth = self.queue_depth()
        if depth >= self.settings.limits.max_queued_jobs:
            raise QueueFull(depth, self.settings.limits.queue_retry_after_s)
        payload = ticket.model_dump()
        if caller != ANONYMOUS:
            payload[OWNER_KEY] = caller

        def enqueue(job_id: str | None) -> dict[str, Any]:
            return {"job_id": self.store.jobs.enqueue_job(payload, job_id)}

        return str(self._once("route/async", idempotency_key, caller, ticket, enqueue)["job_id"])

    def _once(
        self,
        endpoint: str,
        key: str | None,
        caller: str,
        ticket: TicketIn,
        run: Callable[[str | None], dict[str, Any]],
    ) -> dict[str, Any]:
        """`run(ticket_id)` once per idempotency key (scoped by endpoint and caller); the
        key's derived id makes even a concurrent or post-crash retry route one ticket."""
        if key is None:
            return run(None)
        scope, digest = f"{endpoint}:{caller}", fingerprint(ticket.model_dump())
        keys = self.store.idempotency
        if (answer := keys.recall(scope, key, digest)) is not None:
            return answer
        ticket_id = derived_id(scope, key)
        return keys.remember(scope, key, digest, run(ticket_id), ticket_id)

    def erase_ticket(self, ticket_id: str) -> dict[str, Any]:
        """DELETE /tickets/{id}: a data-protection request (KeyError: unknown id)."""
        _lookup("ticket", ticket_id, self.store.ledger.erase_ticket)
        return {"ticket_id": ticket_id, "erased": True}

    def queue_depth(self) -> int:
        return self.store.jobs.open_count()

    def job(self, job_id: str, owner: str | None = None) -> dict[str, Any]:
        """A job's state; NotFound also when `owner` is given and the job is someone else's."""
        job = _lookup("job", job_id, self.store.jobs.get_job)
        if owner is not None and (job.payload or {}).get(OWNER_KEY) not in {None, owner}:
            raise NotFound("job", job_id)
        return {
            "job_id": job.job_id,
            "status": job.status,
            "result": job.result,
            "error": job.error,
        }

    def health(self) -> dict[str, Any]:
        classifier = self.classifier_health()
        state = classifier.get("breaker", {}).get("state", "closed")
        return {
            "status": "ok" if state == "closed" else "degraded",
            "models": classifier.get("models", {}),
            "breaker": classifier.get("breaker", {}),
            "dedup_encoder": classifier.get("dedup_encoder", {}),
            "dedup_rule": self.store.ledger.dedup_rule,
            "uptime_s": round(self.clock.now() - self.started_at, 1),
            "drift": self.drift.status() if self.drift else {"status": "disabled"},
        }

    def categories(self) -> list[str]:
        """The categories a correction may name: the served models' labels (champion first)."""
        models = self.classifier_health().get("models", {})
        labels: list[str] = []
        for role in ("champion", "fallback"):
            labels += [str(c) for c in models.get(role, {}).get("labels", []) if c not in labels]
        return labels

    def check_feedback(self, feedback: FeedbackIn) -> None:
        """422 naming the allowed values for a category or urgency level not known here."""
        allowed = self.categories()
        if feedback.category not in allowed:
            raise InputError(
                f"unknown category {feedback.category!r}; allowed categories: {allowed}"
            )
        levels = [name for name, _ in self.settings.urgency.levels]
        if feedback.urgency_level is not None and feedback.urgency_level not in levels:
            raise InputError(
                f"unknown urgency_level {feedback.urgency_level!r}; allowed levels: {levels}"
            )

    def correct(
        self, ticket_id: str, feedback: FeedbackIn, caller: str = ANONYMOUS
    ) -> dict[str, Any]:
        """POST /tickets/{id}/feedback: record the correction (the prediction stays), re-route
        the ticket when its category changed. NotFound for an unknown ticket."""
        self.check_feedback(feedback)
        outcome = _lookup(
            "ticket",
            ticket_id,
            lambda i: self.store.corrections.correct(
                i, feedback.category, feedback.urgency_level, caller
            ),
        )
        reroute = outcome.reroute
        return {
            **self._correction(outcome.correction),
            "corrections": outcome.corrections,
            "rerouted": reroute is not None,
            "routing_category": reroute.routing_category if reroute else None,
            "agent": reroute.agent_id if reroute else None,
            "freed_agent": reroute.freed_agent if reroute else None,
            "next_assigned": reroute.next_assigned if reroute else None,
        }

    def corrections(self, ticket_id: str) -> dict[str, Any]:
        """GET /tickets/{id}/feedback: every correction, oldest first (the last counts)."""
        history = _lookup("ticket", ticket_id, self.store.corrections.history)
        return {"ticket_id": ticket_id, "corrections": [self._correction(c) for c in history]}

    def _correction(self, correction: Any) -> dict[str, Any]:
        fields = dataclasses.asdict(correction)
        fields["predicted_urgency_level"] = self.settings.urgency.level(
            correction.predicted_urgency
        )
        return fields

    def metrics_state(self) -> ServiceState:
        """Where GET /metrics reads this service's own families (serving/service_metrics.py)."""
        return ServiceState(
            counters=self.store.statistics.counters,
            outbox_counts=self.store.outbox.counts,
            queue_depth=self.queue_depth,
            waiting=self.store.workload.waiting_count,
            breaker=lambda: self.classifier_health().get("breaker", {}),
            drift=self.drift,
        )

    def drift_history(self) -> dict[str, Any]:
        """GET /drift: this worker's drift status and its scores over time."""
        if self.drift is None:
            return {"status": "disabled", "history": []}
        return self.drift.history()

    def stats(self) -> dict[str, Any]:
        stats = self.store.statistics.stats()
        stats["quality"] = {
            **self.store.corrections.quality(self.settings.urgency.levels),
            "categories": self.categories(),  # what a correction may name (the dashboard's)
            "urgency_levels": [name for name, _ in self.settings.urgency.levels],
        }
        breaker = self.classifier_health().get("breaker", {})
        stats["breaker"] = {**stats.get("breaker", {}), "state": breaker.get("state", "closed")}
        stats["webhook"] = {**stats.get("webhook", {}), "outbox": self.store.outbox.counts()}
        return stats

    def incidents(
        self, limit: int = 50, cursor: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        page = self.store.incidents.list_incidents(limit, cursor, status)
        return {
            "incidents": [dataclasses.asdict(i) for i in page.incidents],
            "next_cursor": page.next_cursor,
        }

    def incident(
        self, incident_id: str, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        detail = _lookup(
            "incident", incident_id, lambda i: self.store.incidents.get_incident(i, limit, cursor)
        )
        return {
            **dataclasses.asdict(detail.incident),
            "timeline": dataclasses.asdict(detail.timeline),
            "tickets": [dataclasses.asdict(t) for t in detail.tickets],
            "next_cursor": detail.next_cursor,
        }

    def resolve_incident(self, incident_id: str) -> dict[str, Any]:
        resolution = _lookup("incident", incident_id, self.service.resolve_incident)
        return {k: v for k, v in dataclasses.asdict(resolution).items() if k != "already_resolved"}

    def agents(self) -> dict[str, Any]:
        loads = [dataclasses.asdict(a) for a in self.store.workload.agent_loads()]
        return {"agents": loads, "waiting": self.store.workload.waiting_count()}

    def triage(self) -> dict[str, Any]:
        return {"tickets": [dataclasses.asdict(t) for t in self.store.workload.triage_queue()]}

    def resolve(
        self, ticket_id: str, feedback: FeedbackIn | None = None, caller: str = ANONYMOUS
    ) -> dict[str, Any]:
        """POST /tickets/{id}/resolve, with an optional correction recorded as the ticket
        closes (checked first: a bad one resolves nothing)."""
        if feedback is not None:
            self.check_feedback(feedback)
        resolved = dataclasses.asdict(
            _lookup("ticket", ticket_id, self.store.ledger.resolve_ticket)
        )
        if feedback is not None:
            resolved["correction"] = self.correct(ticket_id, feedback, caller)
        return resolved

    def close(self) -> None:
        self.worker.stop()
        self.sender.stop()
        self.store.retention.stop()
        self.store.close()


def _lookup(kind: str, ident: str, get: Callable[[str], Any]) -> Any:
    """The store signals an unknown id with KeyError(id); only that one becomes NotFound."""
    try:
        return get(ident)
    except KeyError as exc:
        if exc.args[:1] == (ident,):
            raise NotFound(kind, ident) from None
        raise


def build_edge_policy(settings: ServeSettings | None = None) -> EdgePolicy:
    """The front door's policy from conf/serve and the environment (keys never in conf/); the
    start-up check and warning about missing keys are serving/exposure.py's."""
    settings = settings or load_serve_settings()
    keys = KeyRing.from_env(settings.security.api_keys_file)
    return EdgePolicy(settings.security, settings.limits, keys)

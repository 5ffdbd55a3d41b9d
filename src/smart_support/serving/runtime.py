"""Everything one service worker needs, assembled once at start-up (the service only wires)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smart_support.clock import Clock, SystemClock
from smart_support.config import PARAMS_FILE, load_params
from smart_support.routing.webhook import WebhookNotifier
from smart_support.serving.access import KeyRing
from smart_support.serving.api_models import TicketIn
from smart_support.serving.edge import EdgePolicy
from smart_support.serving.job_worker import JOB_OWNER, OPEN_JOBS, JobWorker
from smart_support.serving.settings import ServeSettings, limit_threads
from smart_support.serving.store import StateStore
from smart_support.serving.ticket_service import Classify, InputError, TicketService

ENV_PARAMS = "SMART_SUPPORT_PARAMS"
ENV_STORE = "SMART_SUPPORT_STORE"
ENV_WEBHOOK = "SMART_SUPPORT_WEBHOOK_URL"
ENV_FAULTS = "SMART_SUPPORT_FAULT_INJECTION"


def load_serve_settings(params: str | Path | None = None) -> ServeSettings:
    """conf/serve as composed into params.yaml, with deploy-time overrides from the environment."""
    cfg = load_params(params or os.environ.get(ENV_PARAMS, PARAMS_FILE))
    settings = ServeSettings.from_config(cfg.serve)
    if store := os.environ.get(ENV_STORE):
        settings = settings.model_copy(
            update={"store": settings.store.model_copy(update={"path": store})}
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
    notifier: WebhookNotifier
    classifier_health: Callable[[], dict[str, Any]]
    clock: Clock = field(default_factory=SystemClock)
    started_at: float = 0.0

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
        store = StateStore.from_settings(settings, clock)

        def count(ok: bool) -> None:
            store.increment("webhook_fires" if ok else "webhook_failures")

        hook = settings.webhook
        notifier = WebhookNotifier(
            hook.url,
            timeout_s=hook.timeout_s,
            retries=hook.retries,
            backoff_s=hook.backoff_s,
            on_result=count,
        )
        service = TicketService(settings, store, classify, notifier)
        worker = JobWorker(store, service, settings.jobs.poll_interval_s)
        return cls(
            settings, store, service, worker, notifier, classifier_health, clock, clock.now()
        )

    def submit(self, ticket: TicketIn, owner: str | None = None) -> str:
        """Queue a ticket (checked now, routed by the job worker); `owner` is the caller's key
        id, the only one (besides admins) allowed to read the job."""
        self.service.check([ticket])
        depth = self.queue_depth()
        if depth >= self.settings.limits.max_queued_jobs:
            raise QueueFull(depth, self.settings.limits.queue_retry_after_s)
        payload = ticket.model_dump()
        if owner is not None:
            payload[JOB_OWNER] = owner
        job_id = self.store.enqueue_job(payload)
        self.store.increment(OPEN_JOBS)
        return job_id

    def queue_depth(self) -> int:
        return max(0, self.store.counters().get(OPEN_JOBS, 0))

    def job(self, job_id: str, owner: str | None = None) -> dict[str, Any]:
        """A job's state; NotFound also when `owner` is given and the job is someone else's."""
        job = _lookup("job", job_id, self.store.get_job)
        if owner is not None and job.payload.get(JOB_OWNER) not in {None, owner}:
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
            "uptime_s": round(self.clock.now() - self.started_at, 1),
        }

    def stats(self) -> dict[str, Any]:
        stats = self.store.stats()
        breaker = self.classifier_health().get("breaker", {})
        stats["breaker"] = {**stats.get("breaker", {}), "state": breaker.get("state", "closed")}
        return stats

    def incidents(self) -> dict[str, Any]:
        return {"incidents": [dataclasses.asdict(i) for i in self.store.list_incidents()]}

    def incident(self, incident_id: str) -> dict[str, Any]:
        return dataclasses.asdict(_lookup("incident", incident_id, self.store.get_incident))

    def agents(self) -> dict[str, Any]:
        loads = [dataclasses.asdict(a) for a in self.store.agent_loads()]
        return {"agents": loads, "waiting": self.store.waiting_count()}

    def triage(self) -> dict[str, Any]:
        return {"tickets": [dataclasses.asdict(t) for t in self.store.triage_queue()]}

    def resolve(self, ticket_id: str) -> dict[str, Any]:
        return dataclasses.asdict(_lookup("ticket", ticket_id, self.store.resolve_ticket))

    def close(self) -> None:
        self.worker.stop()
        self.notifier.close()
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

"""BentoML services: thin adapters over smart_support.serving (no business logic here).

`Classifier` holds the models (champion behind the circuit breaker, fallback) and the dedup
encoder; `SmartSupport` is the HTTP front: it depends on `Classifier` and owns the shared state.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import anyio
import bentoml
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.responses import Response

from smart_support.redaction import install_log_redaction
from smart_support.serving.access import Role
from smart_support.serving.api_models import (
    BatchIn,
    BatchOut,
    FeedbackIn,
    JobAccepted,
    RouteResult,
    TicketIn,
)
from smart_support.serving.bento_models import CHAMPION, FALLBACK, build_model_router
from smart_support.serving.database import StoreUnavailable
from smart_support.serving.edge import EdgeGuard, caller_of
from smart_support.serving.error_bodies import ErrorBodies
from smart_support.serving.exposure import refuse_open_network
from smart_support.serving.idempotency import IdempotencyConflict, check_key
from smart_support.serving.incidents import BadPageRequest
from smart_support.serving.json_bodies import SurrogateSafeBodies
from smart_support.serving.model_router import SAMPLE_TICKETS, Classified
from smart_support.serving.rate_limit import retry_after_header
from smart_support.serving.runtime import (
    NotFound,
    QueueFull,
    Runtime,
    fault_injection_enabled,
    load_serve_settings,
)
from smart_support.serving.service_metrics import ServiceMetrics, ServiceState
from smart_support.serving.ticket_service import InputError
from smart_support.serving.vectors import from_wire, to_wire

STATIC = Path(__file__).resolve().parents[1] / "src" / "smart_support" / "serving" / "static"
if not STATIC.exists():  # installed package (inside a Bento)
    import smart_support.serving

    STATIC = Path(smart_support.serving.__file__).parent / "static"

# The worker's runtime, for the /metrics middleware (built before the service instance).
RUNTIMES: list[Runtime] = []


def metrics_state() -> ServiceState | None:
    return RUNTIMES[-1].metrics_state() if RUNTIMES else None


app = FastAPI(title="Smart-Support", description="Ticket routing: read endpoints, jobs and the UI")


def error(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def input_error(exc: InputError) -> JSONResponse:
    if isinstance(exc, QueueFull):
        return error(str(exc), exc.status, {"retry-after": retry_after_header(exc.retry_after_s)})
    return error(str(exc), exc.status)


@app.exception_handler(RequestValidationError)
async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    return error(f"invalid request: {exc.errors()[0].get('msg', 'bad input')}", 422)


UNAVAILABLE = "the state store is unavailable; retry later"


def _failed(ctx: bentoml.Context | None, message: str, status: int) -> JSONResponse:
    if ctx is not None:
        ctx.response.status_code = status
    return error(message, status)


@app.exception_handler(StoreUnavailable)
async def _store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
    return error(UNAVAILABLE, 503)


@app.exception_handler(BadPageRequest)
async def _bad_page(request: Request, exc: BadPageRequest) -> JSONResponse:
    return error(str(exc), 422)


@app.exception_handler(NotFound)
async def _unknown(request: Request, exc: NotFound) -> JSONResponse:
    return error(str(exc), 404)


# Concurrency, set deliberately (docs/api.md "Limits"): the front runs 16 request threads and
# lets at most `limits.max_in_flight` (64) guarded requests in (429 + Retry-After past that,
# serving/edge.py); BentoML's own cap (429 without Retry-After) is a backstop just above it for
# everything else. The classifier is only called by the front (its 16 threads + the job worker
# + warm-up), so its cap sits above that: it must never refuse the front (a 5xx to the client).
FRONT_TRAFFIC = {"timeout": 60, "max_concurrency": 96}
CLASSIFIER_TRAFFIC = {"timeout": 60, "max_concurrency": 32}


@bentoml.service(name="smart-support-classifier", workers=1, threads=4, traffic=CLASSIFIER_TRAFFIC)
class Classifier:
    """Champion + fallback + dedup encoder, loaded and warmed up before the worker is ready."""

    champion = CHAMPION
    fallback = FALLBACK

    def __init__(self) -> None:
        self.router = build_model_router(load_serve_settings(), self.champion, self.fallback)

    @bentoml.api(batchable=True, max_batch_size=128, max_latency_ms=5000)
    def classify(self, texts: list[str]) -> list[dict[str, Any]]:
        return [to_wire(c) for c in self.router.classify(texts)]

    @bentoml.api
    def model_status(self) -> dict[str, Any]:
        """Model versions and circuit-breaker state (named so it cannot clash with client methods)."""
        return self.router.health()

    @bentoml.api
    def inject_delay(self, delay_ms: float) -> dict[str, Any]:
        """Fault injection (tests, benchmarks): slow the champion down by `delay_ms`."""
        if not fault_injection_enabled():
            return {"enabled": False}
        self.router.delay_s = max(0.0, delay_ms) / 1000.0
        return {"enabled": True, "delay_ms": delay_ms}


@bentoml.service(name="smart-support", workers=1, threads=16, traffic=FRONT_TRAFFIC)
@bentoml.asgi_app(app, path="/")
class SmartSupport:
    """The routing API. JSON in and out; every error is a 4xx {"error": ...}."""

    classifier = bentoml.depends(Classifier)

    def __init__(self) -> None:
        self._warm = False
        install_log_redaction()
        settings = load_serve_settings()
        refuse_open_network(settings)
        self.runtime = Runtime.build(
            settings, self._classify, lambda: self.classifier.model_status()
        )
        RUNTIMES.append(self.runtime)

    def _classify(self, texts: list[str]) -> list[Classified]:
        try:
            rows = self.classifier.classify(texts)
        except Exception:  # noqa: BLE001 - a pooled connection the classifier closed: retry once
            rows = self.classifier.classify(texts)
        return [from_wire(r) for r in rows]

    def _answer(self, call: Any, ctx: bentoml.Context | None = None) -> Any:
        """`call()`, its known failures answered as JSON errors (an API that takes `ctx`
        answers with `ctx.response`'s status, so the error's status is set there too)."""
        try:
            return call()
        except InputError as exc:
            if ctx is not None:
                ctx.response.status_code = exc.status
            return input_error(exc)
        except IdempotencyConflict as exc:
            return _failed(ctx, str(exc), 422)
        except StoreUnavailable:
            return _failed(ctx, UNAVAILABLE, 503)

    @staticmethod
    def _idempotency_key(ctx: bentoml.Context) -> str | None:
        key = ctx.request.headers.get("idempotency-key")
        return None if key is None else check_key(key)

    @bentoml.api(route="/route", input_spec=TicketIn)
    def route(self, ctx: bentoml.Context, **ticket: Any) -> RouteResult:
        """Route one ticket: category, urgency, dedup, agent. With an `Idempotency-Key`
        header a retried request gets the first answer and takes no second agent slot."""
        try:
            key = self._idempotency_key(ctx)
        except ValueError as exc:
            return _failed(ctx, str(exc), 400)  # type: ignore[return-value]
        caller = caller_of(ctx.request.scope).key_id
        result = self._answer(lambda: self.runtime.route_one(TicketIn(**ticket), key, caller), ctx)
        return result if isinstance(result, Response) else RouteResult(**result)

    @bentoml.api(route="/route/batch", input_spec=BatchIn)
    def route_batch(self, tickets: list[TicketIn]) -> BatchOut:
        """Route up to 100 tickets as one batch (joint agent assignment)."""
        results = self._answer(lambda: self.runtime.service.route(list(tickets)))
        return results if isinstance(results, Response) else BatchOut(results=results)

    @bentoml.api(route="/route/async", input_spec=TicketIn)
    def route_async(self, ctx: bentoml.Context, **ticket: Any) -> JobAccepted:
        """Accept a ticket for routing in the background: 202 with a job id (the same job
        for a request retried with the same `Idempotency-Key`)."""
        try:
            key = self._idempotency_key(ctx)
        except ValueError as exc:
            return _failed(ctx, str(exc), 400)  # type: ignore[return-value]
        caller = caller_of(ctx.request.scope).key_id
        job_id = self._answer(lambda: self.runtime.submit(TicketIn(**ticket), key, caller), ctx)
        if isinstance(job_id, Response):
            return job_id  # type: ignore[return-value]
        ctx.response.status_code = 202
        return JobAccepted(job_id=job_id, status="queued")

    @app.get("/route/async/{job_id}")
    def job(self, job_id: str, request: Request) -> dict[str, Any]:
        """A job's state, for the key that submitted it (admins: any job)."""
        caller = caller_of(request.scope)
        owner = None if caller.role is Role.ADMIN else caller.key_id
        return self.runtime.job(job_id, owner=owner)

    @app.get("/health")
    def health(self) -> dict[str, Any]:
        return self.runtime.health()

    @app.get("/drift")
    def drift(self) -> dict[str, Any]:
        """This worker's drift status and every score over time (the dashboard's chart)."""
        return self.runtime.drift_history()

    @app.get("/stats")
    def stats(self) -> dict[str, Any]:
        return self.runtime.stats()

    @app.get("/incidents")
    def incidents(
        self, limit: int = 50, cursor: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        """Newest first, one page: member counts, not members (`next_cursor` pages on)."""
        return self.runtime.incidents(limit, cursor, status)

    @app.get("/incidents/{incident_id}")
    def incident(
        self, incident_id: str, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        """The incident, its arrivals over time and one page of its members."""
        return self.runtime.incident(incident_id, limit, cursor)

    @app.post("/incidents/{incident_id}/resolve")
    def resolve_incident(self, incident_id: str) -> dict[str, Any]:
        """Resolve the incident and every member; its agent slot goes to the queue."""
        return self.runtime.resolve_incident(incident_id)

    @app.get("/agents")
    def agents(self) -> dict[str, Any]:
        return self.runtime.agents()

    @app.get("/triage")
    def triage(self) -> dict[str, Any]:
        return self.runtime.triage()

    @app.post("/tickets/{ticket_id}/resolve")
    def resolve(
        self,
        ticket_id: str,
        request: Request,
        correction: Annotated[FeedbackIn | None, Body()] = None,
    ) -> Any:
        """Close the ticket; an optional body `{category, urgency_level}` corrects it too."""
        caller = caller_of(request.scope).key_id
        return self._answer(lambda: self.runtime.resolve(ticket_id, correction, caller))

    @app.post("/tickets/{ticket_id}/feedback")
    def feedback(self, ticket_id: str, correction: FeedbackIn, request: Request) -> Any:
        """An agent's correction of the category (and urgency level): stored beside the
        prediction, never over it; a new category re-routes an open ticket."""
        caller = caller_of(request.scope).key_id
        return self._answer(lambda: self.runtime.correct(ticket_id, correction, caller))

    @app.get("/tickets/{ticket_id}/feedback")
    def corrections(self, ticket_id: str) -> dict[str, Any]:
        """The ticket's corrections, oldest first (the last one counts)."""
        return self.runtime.corrections(ticket_id)

    # Admin only: a data-protection request erases one ticket's data (404 for an unknown id).
    @app.delete("/tickets/{ticket_id}")  # admin only (serving/access.py)
    def erase_ticket(self, ticket_id: str) -> dict[str, Any]:
        return self.runtime.erase_ticket(ticket_id)

    @app.post("/admin/faults")
    def faults(self, delay_ms: float = 0.0) -> Any:
        if not fault_injection_enabled():
            return error("fault injection is disabled (set SMART_SUPPORT_FAULT_INJECTION=1)", 404)
        return self.classifier.inject_delay(delay_ms=delay_ms)

    @app.get("/ui")
    def ui(self) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/ui/{name}")
    def ui_asset(self, name: str) -> Any:
        path = STATIC / name
        if name not in {"app.js", "drift.js", "style.css"} or not path.exists():
            return error(f"no UI asset {name!r}", 404)
        return FileResponse(path)

    @bentoml.on_startup
    async def start_background_tasks(self) -> None:
        """The store's schema is applied (retried while the database is down); async jobs and
        outbox messages are claimed from the shared store by every worker (atomic claims with
        leases); data past retention is purged; one warm-up ticket goes through the
        classifier."""
        loop = asyncio.get_running_loop()
        self._store_task = loop.create_task(self.runtime.prepare_store())
        self._job_task = loop.create_task(self.runtime.worker.run_forever())
        self._outbox_task = loop.create_task(self.runtime.sender.run_forever())
        self._retention_task = loop.create_task(self.runtime.store.retention.run_forever())
        self._warm_up_task = loop.create_task(self._warm_up())

    async def _warm_up(self) -> None:
        """The first call to the classifier pays for its connection and first-use costs (~13 ms
        more than the rest): a warm-up ticket pays them instead, retried until the classifier
        answers. `/readyz` answers 503 until then, so the first request is as fast as the rest.
        """
        while True:
            try:
                await anyio.to_thread.run_sync(self._classify, [SAMPLE_TICKETS[0]])
            except Exception:  # noqa: BLE001 - the classifier is still starting
                await asyncio.sleep(0.2)
            else:
                self._warm = True
                return

    async def __is_ready__(self) -> bool:
        return self._warm and self.runtime.store_ready

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        self.runtime.close()


SmartSupport.add_asgi_middleware(ErrorBodies)
SmartSupport.add_asgi_middleware(EdgeGuard)  # inside ErrorBodies; runs before any endpoint
SmartSupport.add_asgi_middleware(SurrogateSafeBodies)  # after the guard: only admitted bodies
SmartSupport.add_asgi_middleware(ServiceMetrics, state=metrics_state)  # after the guard too

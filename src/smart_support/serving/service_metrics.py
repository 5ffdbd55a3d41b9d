"""The service's own Prometheus metrics, appended to BentoML's `GET /metrics` exposition.

BentoML renders `/metrics` from prometheus_client's multiprocess files, so a collector that
reads live state at scrape time cannot join its registry. `ServiceMetrics` (ASGI middleware)
therefore lets BentoML answer and appends this service's families to the same body: one
scrape, one target. Values are read when scraped: exact counters and queue sizes from the
shared store (the same on every replica), the breaker from the classifier, drift from this
worker's monitor. A store that does not answer gives `smart_support_store_up 0` and leaves its
families out; the scrape never fails. docs/api.md "Metrics" lists every family.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from smart_support.monitoring.drift import FEATURES, DriftMonitor
from smart_support.serving.statistics import REVIEWS, routes_by_model_and_category

log = logging.getLogger(__name__)

PATH = "/metrics"


@dataclass(frozen=True)
class MetricDoc:
    name: str  # without the _total a counter is exposed with
    kind: str  # counter | gauge
    help: str
    labels: tuple[str, ...] = ()


METRICS = (
    MetricDoc("smart_support_routes", "counter", "Tickets routed", ("category", "model")),
    MetricDoc("smart_support_reviews", "counter", "Routed tickets below the review threshold"),
    MetricDoc("smart_support_review_rate", "gauge", "Share of routed tickets needing review"),
    MetricDoc("smart_support_breaker_open", "gauge", "1 while the champion's breaker is open"),
    MetricDoc("smart_support_breaker_state", "gauge", "1 for the breaker's state", ("state",)),
    MetricDoc("smart_support_breaker_trips", "counter", "Times the breaker opened"),
    MetricDoc("smart_support_queue_depth", "gauge", "Async jobs queued or running"),
    MetricDoc("smart_support_waiting_tickets", "gauge", "Tickets waiting for a free agent"),
    MetricDoc("smart_support_webhook_sent", "counter", "Webhook messages delivered"),
    MetricDoc("smart_support_webhook_failures", "counter", "Webhook messages given up"),
    MetricDoc("smart_support_outbox_messages", "gauge", "Outbox messages by status", ("status",)),
    MetricDoc("smart_support_store_up", "gauge", "1 when the state store answered this scrape"),
    MetricDoc("smart_support_drift_score", "gauge", "Drift score of this worker", ("feature",)),
    MetricDoc("smart_support_drift_threshold", "gauge", "Drift threshold", ("feature",)),
    MetricDoc("smart_support_drift_flag", "gauge", "1 while this worker's window is drifted"),
    MetricDoc("smart_support_drift_enabled", "gauge", "1 when a drift reference is loaded"),
    MetricDoc("smart_support_drift_window_tickets", "gauge", "Tickets in the drift window"),
    MetricDoc("smart_support_drift_alerts", "counter", "Turns to drifted (this worker)"),
)
BREAKER_STATES = ("closed", "open", "half_open")


@dataclass
class ServiceState:
    """Where the values come from (the runtime's parts)."""

    counters: Callable[[], dict[str, int]]
    outbox_counts: Callable[[], dict[str, int]]
    queue_depth: Callable[[], int]
    waiting: Callable[[], int]
    breaker: Callable[[], dict[str, Any]]
    drift: DriftMonitor | None


def samples(state: ServiceState) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every family's samples as {name: [(labels, value)]}; store families only when the
    store answered."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    try:
        counters = state.counters()
        outbox = state.outbox_counts()
        depth, waiting = state.queue_depth(), state.waiting()
    except Exception as exc:  # noqa: BLE001 - the scrape reports the store down, never fails
        log.warning("metrics: the state store did not answer (%s)", exc)
        out["smart_support_store_up"] = [({}, 0.0)]
    else:
        out["smart_support_store_up"] = [({}, 1.0)]
        routes = routes_by_model_and_category(counters)
        out["smart_support_routes"] = [
            ({"category": category, "model": model}, float(n))
            for (model, category), n in sorted(routes.items())
        ]
        total, reviews = sum(routes.values()), counters.get(REVIEWS, 0)
        out["smart_support_reviews"] = [({}, float(reviews))]
        out["smart_support_review_rate"] = [({}, reviews / total if total else 0.0)]
        out["smart_support_breaker_trips"] = [({}, float(counters.get("breaker_trips", 0)))]
        out["smart_support_queue_depth"] = [({}, float(depth))]
        out["smart_support_waiting_tickets"] = [({}, float(waiting))]
        out["smart_support_webhook_sent"] = [({}, float(counters.get("webhook_fires", 0)))]
        failures = float(counters.get("webhook_failures", 0))
        out["smart_support_webhook_failures"] = [({}, failures)]
        out["smart_support_outbox_messages"] = [
            ({"status": s}, float(n)) for s, n in outbox.items()
        ]
    breaker = str(state.breaker().get("state", "closed"))
    out["smart_support_breaker_open"] = [({}, float(breaker == "open"))]
    out["smart_support_breaker_state"] = [
        ({"state": s}, float(s == breaker)) for s in BREAKER_STATES
    ]
    out.update(_drift_samples(state.drift))
    return out


def _drift_samples(drift: DriftMonitor | None) -> dict[str, list[tuple[dict[str, str], float]]]:
    status: dict[str, Any] = drift.status() if drift is not None else {"status": "disabled"}
    scores: dict[str, float] = status.get("scores", {})
    window: dict[str, Any] = status.get("window", {})
    out: dict[str, list[tuple[dict[str, str], float]]] = {
        "smart_support_drift_enabled": [({}, float(status["status"] != "disabled"))],
        "smart_support_drift_flag": [({}, float(status["status"] == "drifted"))],
        "smart_support_drift_window_tickets": [({}, float(window.get("tickets", 0)))],
        "smart_support_drift_alerts": [({}, float(drift.alerts_raised if drift else 0))],
        "smart_support_drift_score": [({"feature": f}, float(s)) for f, s in scores.items()],
    }
    if drift is not None:
        out["smart_support_drift_threshold"] = [
            ({"feature": f}, drift.config.threshold(f)) for f in FEATURES
        ]
    return out


def exposition(state: ServiceState) -> bytes:
    """The families in Prometheus' text format (prometheus_client renders and escapes)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily

    values = samples(state)

    class _Collector:
        def collect(self) -> Iterator[Any]:
            for doc in METRICS:
                if doc.name not in values:
                    continue
                family_type = CounterMetricFamily if doc.kind == "counter" else GaugeMetricFamily
                family = family_type(doc.name, doc.help, labels=list(doc.labels))
                for labels, value in values[doc.name]:
                    family.add_metric([labels[label] for label in doc.labels], value)
                yield family

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())  # type: ignore[arg-type]
    return generate_latest(registry)


class ServiceMetrics:
    """ASGI middleware: BentoML answers `GET /metrics`, this service's families are appended."""

    def __init__(self, app: Any, state: Callable[[], ServiceState | None]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("path") != PATH or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            content = b"".join(body)
            state = self.state()
            if start.get("status") == 200 and state is not None:
                import anyio

                ours = await anyio.to_thread.run_sync(exposition, state)
                content = content.rstrip(b"\n") + b"\n" + ours if content else ours
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(content)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": content, "more_body": False})

        await self.app(scope, receive, capture)

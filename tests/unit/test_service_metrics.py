"""The service's own Prometheus families: values, a store that is down, and their docs."""

from __future__ import annotations

from pathlib import Path

from smart_support.serving.service_metrics import METRICS, ServiceState, exposition, samples
from smart_support.serving.statistics import REVIEWS, route_counter, routes_by_model_and_category

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def state(counters=None, breaker="closed", store_down=False) -> ServiceState:
    def read_counters() -> dict[str, int]:
        if store_down:
            raise ConnectionError("database unreachable")
        return counters or {}

    return ServiceState(
        counters=read_counters,
        outbox_counts=lambda: {"pending": 2, "sent": 5, "failed": 1},
        queue_depth=lambda: 3,
        waiting=lambda: 4,
        breaker=lambda: {"state": breaker},
        drift=None,
    )


def test_route_counters_are_read_back_by_model_and_category() -> None:
    counters = {route_counter("m1", "Billing"): 3, route_counter("m2", "Legal & Co"): 1, "x": 9}
    assert routes_by_model_and_category(counters) == {("m1", "Billing"): 3, ("m2", "Legal & Co"): 1}


def test_samples_carry_routes_review_rate_breaker_and_queues() -> None:
    counters = {route_counter("m1", "Billing"): 3, route_counter("m2", "Legal"): 1, REVIEWS: 1}
    values = samples(state({**counters, "webhook_failures": 2}, breaker="open"))
    assert values["smart_support_routes"] == [
        ({"category": "Billing", "model": "m1"}, 3.0),
        ({"category": "Legal", "model": "m2"}, 1.0),
    ]
    assert values["smart_support_review_rate"] == [({}, 0.25)]
    assert values["smart_support_breaker_open"] == [({}, 1.0)]
    assert ({"state": "open"}, 1.0) in values["smart_support_breaker_state"]
    assert values["smart_support_queue_depth"] == [({}, 3.0)]
    assert values["smart_support_webhook_failures"] == [({}, 2.0)]
    assert values["smart_support_drift_enabled"] == [({}, 0.0)]


def test_a_store_that_is_down_gives_store_up_zero_and_no_store_families() -> None:
    values = samples(state(store_down=True))
    assert values["smart_support_store_up"] == [({}, 0.0)]
    assert "smart_support_routes" not in values and "smart_support_queue_depth" not in values
    assert values["smart_support_breaker_open"] == [({}, 0.0)]  # the rest still answers
    text = exposition(state(store_down=True)).decode()
    assert "smart_support_store_up 0.0" in text


def test_counters_are_exposed_with_total_and_their_type() -> None:
    text = exposition(state({route_counter("m1", "Billing"): 3})).decode()
    assert "# TYPE smart_support_routes_total counter" in text
    assert 'smart_support_routes_total{category="Billing",model="m1"} 3.0' in text
    assert "# TYPE smart_support_review_rate gauge" in text


def test_every_family_is_documented_in_the_api_doc() -> None:
    doc = API_DOC.read_text()
    for metric in METRICS:
        name = metric.name + ("_total" if metric.kind == "counter" else "")
        labels = "{" + ", ".join(metric.labels) + "}" if metric.labels else ""
        assert f"| `{name}{labels}` | {metric.kind} |" in doc, name

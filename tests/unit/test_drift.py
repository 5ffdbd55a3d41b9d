"""Drift: PSI, centroid shift, the training reference and the rolling-window monitor."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pydantic import ValidationError

from smart_support.monitoring.drift import (
    FEATURES,
    DriftMonitor,
    DriftObservation,
    centroid_shift,
    psi,
)
from smart_support.monitoring.reference import (
    OTHER,
    DriftReference,
    build_reference,
    load_reference,
    save_reference,
)
from smart_support.serving.alerts import drift_message
from smart_support.serving.settings import DriftSettings
from tests.fakes import FakeClock

DIM = 16


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def population(
    n: int, seed: int, language: str | None = None, direction: int = 0
) -> list[DriftObservation]:
    """Tickets like the reference's (or all in one `language`, or embedded around another
    `direction`)."""
    rng = np.random.default_rng(seed)
    centre = np.zeros(DIM)
    centre[direction] = 3.0
    vectors = unit(centre + rng.normal(size=(n, DIM)))
    return [
        DriftObservation(
            category=str(rng.choice(["Billing", "Legal", "Technical"])),
            confidence=float(rng.uniform(0.45, 1.0)),
            language=language or str(rng.choice(["en", "de"], p=[0.4, 0.6])),
            length=int(rng.lognormal(6.0, 0.6)),
            embedding=vectors[i],
        )
        for i in range(n)
    ]


def reference_of(observations: list[DriftObservation]) -> DriftReference:
    return build_reference(
        [o.category for o in observations],
        [o.confidence for o in observations],
        [o.language for o in observations],
        [o.length for o in observations],
        np.stack([o.embedding for o in observations]),
        ["Billing", "Legal", "Technical"],
        {"model": "m1", "split": "val"},
    )


@pytest.fixture(scope="module")
def reference() -> DriftReference:
    return reference_of(population(3000, seed=1))


def settings(**changes: object) -> DriftSettings:
    return DriftSettings(**{"window": 300, "min_tickets": 200, "evaluate_every": 20, **changes})


# --- PSI and centroid shift ---------------------------------------------------------------


def test_psi_is_zero_for_the_same_mix_and_known_for_a_shift() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5], 1e-6) == pytest.approx(0.0, abs=1e-9)
    expected = 0.4 * math.log(0.9 / 0.5) + 0.4 * math.log(0.5 / 0.1)
    assert psi([0.5, 0.5], [0.9, 0.1], 1e-9) == pytest.approx(expected, rel=1e-6)


def test_psi_of_an_empty_bin_is_finite_thanks_to_epsilon() -> None:
    value = psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5], 1e-4)
    assert math.isfinite(value) and value > 1.0


def test_centroid_shift_is_zero_at_the_reference_and_grows_with_the_rotation() -> None:
    rng = np.random.default_rng(0)
    base = np.zeros(DIM)
    base[0] = 3.0
    vectors = unit(base + rng.normal(size=(500, DIM)))
    centroid = vectors.mean(axis=0)
    assert centroid_shift(vectors, centroid, 0.5) == pytest.approx(0.0, abs=1e-6)
    near, far = np.zeros(DIM), np.zeros(DIM)
    near[:2], far[1] = (3.0, 1.0), 3.0
    small = centroid_shift(unit(near + rng.normal(size=(500, DIM))), centroid, 0.5)
    large = centroid_shift(unit(far + rng.normal(size=(500, DIM))), centroid, 0.5)
    assert 0.0 < small < large


def test_centroid_shift_is_in_units_of_the_reference_spread() -> None:
    vectors = unit(np.eye(DIM)[:2] + 0.1)
    centroid = np.eye(DIM)[0]
    assert centroid_shift(vectors, centroid, 0.2) == pytest.approx(
        2 * centroid_shift(vectors, centroid, 0.4)
    )


# --- the reference --------------------------------------------------------------------------


def test_reference_shares_sum_to_one_and_rare_languages_are_pooled() -> None:
    observations = population(300, seed=2)
    observations[0] = DriftObservation("Legal", 0.9, "nl", 200, observations[0].embedding)
    ref = reference_of(observations)
    for histogram in (ref.category, ref.confidence, ref.language, ref.length):
        assert sum(histogram.shares) == pytest.approx(1.0, abs=1e-5)
    assert ref.language.labels == ("de", "en", OTHER)  # nl: 1 of 300 < 1 %
    assert ref.language.shares[2] == pytest.approx(1 / 300, abs=1e-6)
    assert list(ref.length.edges) == sorted(ref.length.edges)
    assert len(ref.length.shares) == len(ref.length.edges) - 1
    assert ref.embedding is not None and 0.0 < ref.embedding.spread < 1.0


def test_reference_round_trips_through_its_json_file(reference, tmp_path) -> None:
    path = tmp_path / "models" / "drift_reference.json"
    save_reference(reference, path)
    assert load_reference(path) == reference


@pytest.mark.parametrize("content", [None, "not json", '{"format": 99}', '{"format": 1}'])
def test_a_missing_or_unreadable_reference_disables_monitoring(tmp_path, content) -> None:
    path = tmp_path / "drift_reference.json"
    if content is not None:
        path.write_text(content)
    assert load_reference(path) is None
    monitor = DriftMonitor(load_reference(path), settings(), FakeClock())
    monitor.observe(population(300, seed=3))
    assert monitor.status()["status"] == "disabled"
    assert monitor.status()["reference"] is None


# --- the monitor ----------------------------------------------------------------------------


def test_the_window_warms_up_before_it_judges(reference) -> None:
    monitor = DriftMonitor(reference, settings(), FakeClock())
    monitor.observe(population(199, seed=4, language="de"))  # shifted, but too few
    status = monitor.status()
    assert status["status"] == "warming_up" and status["scores"] == {}
    assert status["window"]["tickets"] == 199 and status["window"]["min_tickets"] == 200
    monitor.observe(population(1, seed=5, language="de"))
    assert monitor.state == "drifted"


def test_traffic_like_the_reference_stays_ok(reference) -> None:
    monitor = DriftMonitor(reference, settings(), FakeClock())
    for chunk in range(10):
        monitor.observe(population(50, seed=100 + chunk))
    status = monitor.status()
    assert status["status"] == "ok"
    assert set(status["scores"]) == set(FEATURES)
    assert all(s < 0.1 for s in status["scores"].values()), status["scores"]
    assert monitor.take_alert() is None


@pytest.mark.parametrize(
    ("shifted", "feature"),
    [({"language": "de"}, "language"), ({"direction": 1}, "embedding")],
)
def test_a_shifted_stream_is_flagged_on_its_feature(reference, shifted, feature) -> None:
    monitor = DriftMonitor(reference, settings(), FakeClock())
    monitor.observe(population(200, seed=6, **shifted))
    status = monitor.status()
    assert status["status"] == "drifted"
    assert status["scores"][feature] > monitor.config.threshold(feature)
    alert = monitor.take_alert()
    assert alert is not None and feature in alert.features


def test_one_alert_per_turn_to_drifted_and_recovery_needs_the_clear_ratio(reference) -> None:
    clock = FakeClock()
    monitor = DriftMonitor(reference, settings(window=200), clock)
    monitor.observe(population(200, seed=7, language="de"))
    first = monitor.take_alert()
    assert first is not None and monitor.take_alert() is None  # taken once
    for chunk in range(3):  # still drifted: no second alert
        clock.advance(10)
        monitor.observe(population(20, seed=20 + chunk, language="de"))
    assert monitor.state == "drifted" and monitor.take_alert() is None
    for chunk in range(12):  # the window fills with normal traffic again
        clock.advance(10)
        monitor.observe(population(20, seed=40 + chunk))
    assert monitor.state == "ok"
    clock.advance(10)
    monitor.observe(population(200, seed=8, language="de"))
    second = monitor.take_alert()
    assert second is not None and second.window_start > first.window_start
    assert monitor.alerts_raised == 2
    assert drift_message(first).message_id != drift_message(second).message_id


def test_a_score_just_below_the_threshold_does_not_clear_the_flag(reference) -> None:
    # Only below clear_ratio x threshold does the state go back to ok (no flapping).
    monitor = DriftMonitor(reference, settings(clear_ratio=0.01), FakeClock())
    monitor.observe(population(200, seed=9, language="de"))
    monitor.observe(population(200, seed=10))
    assert monitor.state == "drifted"


def test_history_has_one_point_per_evaluation_with_the_clock_time(reference) -> None:
    clock = FakeClock(1000.0)
    monitor = DriftMonitor(reference, settings(), clock)
    for chunk in range(15):
        clock.advance(5)
        monitor.observe(population(20, seed=200 + chunk))
    points = monitor.history()["history"]
    assert [p["t"] for p in points] == [1050.0 + 5 * i for i in range(6)]  # from 200 tickets
    assert all(p["state"] == "ok" and set(p["scores"]) == set(FEATURES) for p in points)


def test_a_restored_alert_is_offered_again(reference) -> None:
    monitor = DriftMonitor(reference, settings(), FakeClock())
    monitor.observe(population(200, seed=12, language="de"))
    alert = monitor.take_alert()
    assert alert is not None
    monitor.restore_alert(alert)
    assert monitor.take_alert() == alert


def test_the_drift_message_names_the_features_and_has_a_stable_key(reference) -> None:
    monitor = DriftMonitor(reference, settings(), FakeClock(500.0))
    monitor.observe(population(200, seed=13, language="de"))
    alert = monitor.take_alert()
    assert alert is not None
    message = drift_message(alert)
    assert message.kind == "drift"
    assert message.message_id == f"drift:{'+'.join(alert.features)}:500"
    assert message.payload["idempotency_key"] == message.message_id
    assert "language" in message.payload["text"]
    json.dumps(message.payload)  # storable


@pytest.mark.parametrize(
    "changes",
    [
        {"window": 100, "min_tickets": 101},
        {"clear_ratio": 0.0},
        {"evaluate_every": 0},
        {"epsilon": 0},
    ],
)
def test_drift_settings_refuse_inconsistent_values(changes) -> None:
    with pytest.raises(ValidationError):
        DriftSettings(**changes)


def test_the_service_finds_its_reference_or_reports_disabled(
    reference, tmp_path, monkeypatch
) -> None:
    from smart_support.serving.drift_watch import build_drift_monitor

    save_reference(reference, tmp_path / "models" / "ref.json")
    monkeypatch.chdir(tmp_path)  # a Bento serves from its src/ directory
    assert build_drift_monitor(settings(reference="models/ref.json"), FakeClock()).enabled
    absolute = str(tmp_path / "models" / "ref.json")
    assert build_drift_monitor(settings(reference=absolute), FakeClock()).enabled
    off = build_drift_monitor(settings(reference=absolute, enabled=False), FakeClock())
    assert off.status()["status"] == "disabled"
    missing = build_drift_monitor(settings(reference="models/none.json"), FakeClock())
    assert missing.status()["status"] == "disabled" and missing.status()["reference"] is None


class FlakyOutbox:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.stored: list = []

    def add(self, messages) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store down")
        self.stored.extend(messages)


def routed(observations: list[DriftObservation]) -> tuple[list, list[str]]:
    from smart_support.serving.records import NewTicket

    tickets = [
        NewTicket(f"t{i}", "s", o.category, o.confidence, False, 0.1, "m1", o.language, o.embedding)
        for i, o in enumerate(observations)
    ]
    return tickets, ["x" * o.length for o in observations]


def test_an_alert_the_store_could_not_take_is_stored_with_the_next_tickets(reference) -> None:
    from smart_support.serving.drift_watch import DriftWatch

    outbox = FlakyOutbox(failures=1)
    watch = DriftWatch(DriftMonitor(reference, settings(), FakeClock()), outbox)  # type: ignore[arg-type]
    watch(*routed(population(200, seed=14, language="de")))
    assert outbox.stored == []  # the store was down
    watch(*routed(population(5, seed=15, language="de")))
    assert [m.kind for m in outbox.stored] == ["drift"]
    watch(*routed(population(40, seed=16, language="de")))
    assert len(outbox.stored) == 1


def test_a_failing_monitor_never_fails_routing(reference, monkeypatch) -> None:
    from smart_support.serving.drift_watch import DriftWatch

    monitor = DriftMonitor(reference, settings(), FakeClock())
    monkeypatch.setattr(monitor, "observe", lambda _: 1 / 0)
    DriftWatch(monitor, FlakyOutbox(0))(*routed(population(3, seed=17)))  # type: ignore[arg-type]

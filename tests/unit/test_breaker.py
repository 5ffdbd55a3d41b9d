"""Circuit breaker: slow calls trip it, the cool-down is waited out on a fake clock."""

from __future__ import annotations

import threading
import time

import pytest

from smart_support.routing.breaker import BreakerState, CircuitBreaker
from tests.fakes import FakeClock

FAST, SLOW = 0.1, 0.9


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(
        latency_threshold_s=0.5, slow_calls_to_open=3, cooldown_s=30.0, clock=clock
    )


def trip(breaker: CircuitBreaker) -> None:
    for _ in range(3):
        breaker.record(SLOW)


def test_a_new_breaker_is_closed_and_allows_the_primary(breaker: CircuitBreaker) -> None:
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow_primary()


def test_three_slow_calls_in_a_row_open_the_breaker(breaker: CircuitBreaker) -> None:
    trip(breaker)
    assert breaker.state is BreakerState.OPEN
    assert breaker.trips == 1
    assert not breaker.allow_primary()


def test_a_fast_call_resets_the_slow_streak(breaker: CircuitBreaker) -> None:
    breaker.record(SLOW)
    breaker.record(SLOW)
    breaker.record(FAST)
    breaker.record(SLOW)
    breaker.record(SLOW)
    assert breaker.state is BreakerState.CLOSED


def test_failed_calls_count_like_slow_ones(breaker: CircuitBreaker) -> None:
    for _ in range(3):
        breaker.record(FAST, failed=True)
    assert breaker.state is BreakerState.OPEN


def test_latency_exactly_at_the_threshold_is_not_slow(breaker: CircuitBreaker) -> None:
    for _ in range(3):
        breaker.record(0.5)
    assert breaker.state is BreakerState.CLOSED


def test_open_breaker_refuses_the_primary_until_the_cooldown_passed(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    trip(breaker)
    clock.advance(29.9)
    assert not breaker.allow_primary()
    clock.advance(0.1)
    assert breaker.allow_primary()
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_allows_a_single_probe_at_a_time(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    trip(breaker)
    clock.advance(30)
    assert breaker.allow_primary()
    assert not breaker.allow_primary()
    assert not breaker.allow_primary()


def test_a_fast_probe_closes_the_breaker(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(30)
    breaker.allow_primary()
    breaker.record(FAST)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow_primary()


def test_a_slow_probe_reopens_for_another_cooldown(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    trip(breaker)
    clock.advance(30)
    breaker.allow_primary()
    breaker.record(SLOW)
    assert breaker.state is BreakerState.OPEN
    assert breaker.trips == 2
    clock.advance(29)
    assert not breaker.allow_primary()


def test_a_probe_that_never_reports_frees_the_probe_slot_after_a_cooldown(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    trip(breaker)
    clock.advance(30)
    assert breaker.allow_primary()  # this probe's caller crashes and never records
    clock.advance(30)
    assert breaker.allow_primary()


def test_calls_reported_while_open_are_ignored(breaker: CircuitBreaker) -> None:
    trip(breaker)
    breaker.record(FAST)  # a call that started before the trip
    assert breaker.state is BreakerState.OPEN
    assert breaker.trips == 1


def test_each_trip_calls_on_trip_once(clock: FakeClock) -> None:
    calls: list[int] = []
    breaker = CircuitBreaker(slow_calls_to_open=2, clock=clock, on_trip=lambda: calls.append(1))
    for _ in range(5):
        breaker.record(SLOW)
    assert calls == [1]


def test_a_failing_on_trip_callback_does_not_reach_the_caller(clock: FakeClock) -> None:
    def broken() -> None:
        raise RuntimeError("store down")

    breaker = CircuitBreaker(slow_calls_to_open=1, clock=clock, on_trip=broken)
    breaker.record(SLOW)
    assert breaker.state is BreakerState.OPEN


def test_snapshot_reports_state_trips_and_time_to_retry(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    trip(breaker)
    clock.advance(10)
    snap = breaker.snapshot()
    assert snap["state"] == "open"
    assert snap["trips"] == 1
    assert snap["retry_primary_in_s"] == pytest.approx(20.0)
    assert snap["latency_threshold_ms"] == pytest.approx(500.0)


class SlowClock(FakeClock):
    """Reading it takes a few milliseconds (another thread runs meanwhile)."""

    def now(self) -> float:
        time.sleep(0.005)
        return super().now()


def test_concurrent_slow_calls_trip_exactly_once() -> None:
    """Eight threads report their third slow call together; the first to open the breaker
    reads the (slow) clock while the others wait on the lock and then find it open."""
    breaker = CircuitBreaker(slow_calls_to_open=3, clock=SlowClock())
    go = threading.Barrier(8)

    def report() -> None:
        go.wait()
        for _ in range(3):
            breaker.record(SLOW)

    threads = [threading.Thread(target=report) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (breaker.state, breaker.trips) == (BreakerState.OPEN, 1)


def test_zero_slow_calls_to_open_is_rejected() -> None:
    with pytest.raises(ValueError, match="slow_calls_to_open"):
        CircuitBreaker(slow_calls_to_open=0)

"""Circuit breaker around the primary (champion) model: slow or failing calls trip it.

Each primary call has a deadline, `deadline_s(n)` for n tickets: the one-ticket threshold plus
`batch_ticket_s` per further ticket. A call past it counts as slow (its caller stops waiting
and answers with the fallback: model_router.py).

closed     every call goes to the primary; `slow_calls_to_open` slow/failed calls in a row
           open the breaker.
open       the fallback serves; once `cooldown_s` has passed, the next caller becomes the
           single probe and the breaker is half_open.
half_open  only the probe goes to the primary; a fast, successful probe closes the
           breaker, a slow or failed one opens it again (a new cool-down). A probe that
           never reports back frees the probe slot after another cool-down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from smart_support.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        latency_threshold_s: float = 0.5,
        slow_calls_to_open: int = 3,
        cooldown_s: float = 30.0,
        clock: Clock | None = None,
        on_trip: Callable[[], None] | None = None,
        batch_ticket_s: float = 0.0,
    ) -> None:
        if slow_calls_to_open < 1:
            raise ValueError("slow_calls_to_open must be at least 1")
        self.latency_threshold_s = latency_threshold_s
        self.batch_ticket_s = batch_ticket_s
        self.slow_calls_to_open = slow_calls_to_open
        self.cooldown_s = cooldown_s
        self._clock = clock or SystemClock()
        self._on_trip = on_trip
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._slow_in_a_row = 0
        self._trips = 0
        self._opened_at: float | None = None
        self._probe_started_at: float | None = None

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state

    @property
    def trips(self) -> int:
        with self._lock:
            return self._trips

    def allow_primary(self) -> bool:
        """May this call use the primary model? In half_open, True only for the probe."""
        with self._lock:
            now = self._clock.now()
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN:
                if self._opened_at is not None and now - self._opened_at < self.cooldown_s:
                    return False
                self._state = BreakerState.HALF_OPEN
                self._probe_started_at = now
                return True
            if (
                self._probe_started_at is not None
                and now - self._probe_started_at < self.cooldown_s
            ):
                return False  # a probe is in flight
            self._probe_started_at = now  # the last probe never reported: send another
            return True

    def deadline_s(self, batch_size: int = 1) -> float:
        """How long a primary call for `batch_size` tickets may take."""
        return self.latency_threshold_s + self.batch_ticket_s * max(0, batch_size - 1)

    def record(self, latency_s: float, failed: bool = False, batch_size: int = 1) -> None:
        """Report how a primary call of `batch_size` tickets went (its whole latency). Calls
        reported while open are ignored."""
        slow = failed or latency_s > self.deadline_s(batch_size)
        tripped = False
        with self._lock:
            if self._state is BreakerState.HALF_OPEN:
                self._probe_started_at = None
                if slow:
                    tripped = self._open()
                else:
                    self._state = BreakerState.CLOSED
                    self._slow_in_a_row = 0
            elif self._state is BreakerState.CLOSED:
                self._slow_in_a_row = self._slow_in_a_row + 1 if slow else 0
                if self._slow_in_a_row >= self.slow_calls_to_open:
                    tripped = self._open()
        if tripped and self._on_trip is not None:
            try:  # outside the lock: the callback may be slow (a store write)
                self._on_trip()
            except Exception:
                log.exception("circuit breaker on_trip callback failed")

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready view for /health."""
        with self._lock:
            now = self._clock.now()
            retry_in = None
            if self._state is BreakerState.OPEN and self._opened_at is not None:
                retry_in = max(0.0, self.cooldown_s - (now - self._opened_at))
            return {
                "state": str(self._state),
                "trips": self._trips,
                "slow_calls_in_a_row": self._slow_in_a_row,
                "latency_threshold_ms": self.latency_threshold_s * 1000.0,
                "batch_ticket_ms": self.batch_ticket_s * 1000.0,
                "slow_calls_to_open": self.slow_calls_to_open,
                "cooldown_s": self.cooldown_s,
                "retry_primary_in_s": retry_in,
            }

    def _open(self) -> bool:
        self._opened_at = self._clock.now()
        self._state = BreakerState.OPEN
        self._slow_in_a_row = 0
        self._trips += 1
        return True

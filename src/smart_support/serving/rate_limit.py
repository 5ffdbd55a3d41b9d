"""Per-caller token buckets: `rate_per_s` requests a second on average, bursts up to `burst`."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from smart_support.clock import Clock, SystemClock


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


class RateLimiter:
    """`take(key)` → 0.0 when allowed, else the seconds until a token is back (Retry-After)."""

    def __init__(
        self, rate_per_s: float, burst: int, clock: Clock | None = None, max_keys: int = 10_000
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be positive and burst at least 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock or SystemClock()
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        with self._lock:
            now = self._clock.now()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(
                float(self.burst), bucket.tokens + (now - bucket.updated_at) * self.rate_per_s
            )
            bucket.updated_at = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate_per_s

    def _forget_full(self, now: float) -> None:
        """Buckets refilled to the brim carry no state: drop them (bounded memory)."""
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated_at) * self.rate_per_s >= self.burst
        ]
        for key in full:
            del self._buckets[key]


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds; never 0 (a client would retry at once)."""
    return str(max(1, math.ceil(seconds)))

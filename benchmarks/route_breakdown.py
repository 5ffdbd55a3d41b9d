"""Where a routing write's time goes as the dedup window fills.

    python -m benchmarks.route_breakdown [--sizes 0 30000] [--real] [--routes 300]

Runs route_window's in-process measurement (the same store, roster, stepping clock and window)
with timers around the parts of a write that read the window: the window's refresh from the
store, the dedup observation and its decision, and inside that the scans
(`CodeIndex.similarities`: the window's and the usual rate's) and the usual rate's reference
scan alone (`UsualRate.close_count`). "rest" is the write minus the refresh and the
observation: the store's statements, the roster and the commit. Per size: the p50 and mean of
each part per route, wall time (perf_counter) on the service's threads; the first 20 routes
(which load the window) are left out, as in route_window. The timers add a few microseconds
per call. Writes benchmarks/results/route_breakdown[_real].json.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import numpy as np

from benchmarks.common import machine, write_json


class PartTimes:
    """Seconds spent in each timed part, summed per route."""

    def __init__(self) -> None:
        self._current: defaultdict[str, float] = defaultdict(float)
        self.routes: list[dict[str, float]] = []

    def timed(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._current[label] += time.perf_counter() - start

        return wrapper

    def route(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function` is one routing write: its time closes a row of parts."""

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self._current.clear()
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                row = {**self._current, "route": time.perf_counter() - start}
                row["rest"] = row["route"] - row.get("refresh", 0.0) - row.get("observe", 0.0)
                self.routes.append(row)

        return wrapper

    def summary(self, skip: int = 0) -> dict[str, dict[str, float]]:
        """p50 and mean milliseconds per route of each part (0 in a route that skipped it)."""
        rows = self.routes[skip:]
        labels = sorted({label for row in rows for label in row})
        out = {}
        for label in labels:
            ms = 1000 * np.array([row.get(label, 0.0) for row in rows])
            out[label] = {"p50_ms": round(float(np.median(ms)), 3), "mean_ms": round(ms.mean(), 3)}
        return out


def parts() -> dict[str, tuple[Any, str]]:
    from smart_support.routing.dedup import Deduplicator, DedupWindow, UsualRate
    from smart_support.routing.window_scores import CodeIndex
    from smart_support.serving.window_cache import WindowCache

    return {
        "refresh": (WindowCache, "refresh"),
        "observe": (Deduplicator, "observe"),
        "decide": (DedupWindow, "decide"),
        "scans": (CodeIndex, "similarities"),
        "reference scan": (UsualRate, "close_count"),
    }


@contextmanager
def timing(times: PartTimes) -> Iterator[None]:
    """Every part and the routing write timed into `times` while inside."""
    from smart_support.serving.ledger import TicketLedger

    with ExitStack() as stack:
        for label, (owner, name) in parts().items():
            stack.enter_context(
                mock.patch.object(owner, name, times.timed(label, getattr(owner, name)))
            )
        write = TicketLedger.record_routing
        stack.enter_context(mock.patch.object(TicketLedger, "record_routing", times.route(write)))
        yield


def run(sizes: list[int], routes: int, real: bool) -> dict[str, dict[str, dict[str, float]]]:
    from benchmarks.route_window import WARM_UP, measure

    results = {}
    for size in sizes:
        times = PartTimes()
        with timing(times):
            measure(size, routes, real=real)
        results[f"window of {size}"] = times.summary(skip=WARM_UP)
        print(f"  window of {size}: {results[f'window of {size}']}", file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 30_000])
    parser.add_argument("--routes", type=int, default=300)
    parser.add_argument("--real", action="store_true", help="real tickets (needs data/prepared)")
    args = parser.parse_args(argv)
    report = {
        "machine": machine(),
        "routes": args.routes,
        "window": "real tickets" if args.real else "synthetic unit vectors",
        "parts": run(args.sizes, args.routes, args.real),
    }
    print(json.dumps(report, indent=2))
    write_json("route_breakdown" + ("_real" if args.real else "") + ".json", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

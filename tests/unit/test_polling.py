"""The background loop of jobs, outbox and retention: errors never end it, idle passes sleep."""

from __future__ import annotations

import threading

import anyio

from smart_support.serving.database import StoreUnavailable
from smart_support.serving.polling import poll_forever


def test_the_loop_survives_failures_and_stops_when_told() -> None:
    stop, results = threading.Event(), [StoreUnavailable("down"), RuntimeError("busy"), 1, 0]
    calls: list[object] = []

    def run_once() -> object:
        calls.append(results[len(calls)])
        if len(calls) == len(results):
            stop.set()
        if isinstance(calls[-1], Exception):
            raise calls[-1]
        return calls[-1]

    anyio.run(poll_forever, run_once, stop, 0.01, "test loop")
    assert len(calls) == 4  # two failures, a busy pass, an idle pass; then stopped

"""The route breakdown sums each part's time per route and leaves the rest to the store."""

from __future__ import annotations

import benchmarks.route_breakdown as breakdown


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def perf_counter(self) -> float:
        return self.t


def test_parts_are_summed_per_route_and_the_rest_is_what_they_leave(monkeypatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(breakdown.time, "perf_counter", clock.perf_counter)
    times = breakdown.PartTimes()

    def step(seconds: float) -> None:
        clock.t += seconds

    refresh = times.timed("refresh", step)
    observe = times.timed("observe", step)

    def write(scans: int) -> None:
        step(1.0)  # the store's own work (exact binary fractions: sums compare equal)
        refresh(2.0)
        for _ in range(scans):
            observe(4.0)

    route = times.route(write)
    route(2)
    route(0)

    first, second = times.routes
    assert first == {"refresh": 2.0, "observe": 8.0, "route": 11.0, "rest": 1.0}
    assert second["route"] == 3.0 and "observe" not in second  # no leftovers from route 1
    summary = times.summary()
    assert summary["observe"] == {"p50_ms": 4000.0, "mean_ms": 4000.0}  # 8 s and 0 s
    assert times.summary(skip=1)["route"] == {"p50_ms": 3000.0, "mean_ms": 3000.0}


def test_every_timed_part_names_a_real_method() -> None:
    for owner, name in breakdown.parts().values():
        assert callable(getattr(owner, name))

"""The route benchmark: it alternates before and after and reports the median round; its
window holds real tickets' vectors or random ones."""

from __future__ import annotations

import benchmarks.route_window as route_window


def test_rounds_alternate_checkouts_and_report_the_median_round(monkeypatch) -> None:
    calls = []

    def fake_run_of(root, sizes, routes, jitter_s, real):
        calls.append(root)
        p50 = {route_window.ROOT: 1.0, "base": 3.0}[root] + len(calls)  # drifts every call
        return {f"window of {size}": {"cpu": {"p50_ms": p50 + size}} for size in sizes}

    monkeypatch.setattr(route_window, "run_of", fake_run_of)
    report = route_window.alternate("base", [0, 10], routes=5, jitter_s=0.0, rounds=3)

    assert calls == ["base", route_window.ROOT] * 3
    # before: 3 + call number 1, 3, 5; after: 1 + 2, 4, 6 -> medians 6 and 5
    assert report["before"]["window of 0"] == {"cpu_p50_ms_median_of_rounds": 6.0}
    assert report["after"]["window of 0"] == {"cpu_p50_ms_median_of_rounds": 5.0}
    assert report["after"]["window of 10"] == {"cpu_p50_ms_median_of_rounds": 15.0}
    assert len(report["rounds"]["before"]) == 3


def test_a_real_window_holds_the_pools_vectors_and_a_synthetic_one_random_ones() -> None:
    import numpy as np

    pool = np.eye(route_window.DIM, dtype=np.float32)[:5]
    rng = np.random.default_rng(0)
    real = route_window.window_rows(40, 1_000.0, rng, pool=pool)
    synthetic = route_window.window_rows(40, 1_000.0, rng)

    def vectors(rows):
        return np.stack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows])

    assert (vectors(real) @ pool.T).max(axis=1).min() == 1.0  # every row is a pool row
    assert (vectors(synthetic) @ pool.T).max() < 0.5
    assert [r["created_at"] for r in real] == sorted(r["created_at"] for r in real)


def test_a_real_window_repeats_no_ticket_while_the_pool_suffices() -> None:
    import numpy as np

    pool = np.eye(route_window.DIM, dtype=np.float32)[:50]
    rng = np.random.default_rng(1)

    def drawn(size: int) -> np.ndarray:
        rows = route_window.window_rows(size, 1_000.0, rng, pool=pool)
        vectors = np.stack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows])
        return np.argmax(vectors @ pool.T, axis=1)

    assert sorted(drawn(50).tolist()) == list(range(50))  # each pool ticket once
    assert len(drawn(120)) == 120  # beyond the pool, drawn with replacement

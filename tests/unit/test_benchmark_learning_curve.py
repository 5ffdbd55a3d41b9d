"""The learning-curve benchmark's gain per doubling of the training data."""

from __future__ import annotations

import pytest

from benchmarks.learning_curve import per_doubling


def test_the_gain_per_doubling_is_the_slope_in_log2_of_the_tickets() -> None:
    rows = [
        (n, [0.5 + 0.02 * k - 0.01, 0.5 + 0.02 * k + 0.01])
        for k, n in enumerate((500, 1000, 2000, 4000))
    ]
    assert per_doubling(rows) == pytest.approx(0.02)


def test_a_flat_curve_gains_nothing() -> None:
    assert per_doubling([(100, [0.7]), (400, [0.7]), (1600, [0.7])]) == pytest.approx(0.0)

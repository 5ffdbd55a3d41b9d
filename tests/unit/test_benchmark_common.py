"""Benchmarks' shared helpers: a baseline runs on its own checkout's `src/`."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.common import json_of_checkout


def test_a_baseline_call_imports_the_checkouts_own_code(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "probe_checkout.py").write_text("def answer(n):\n    return [n, 'old']\n")
    assert json_of_checkout(tmp_path, "probe_checkout:answer(7)") == [7, "old"]


def test_a_failing_baseline_call_names_the_call_and_the_checkout(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="probe_missing:answer\\(\\) on .* failed"):
        json_of_checkout(tmp_path, "probe_missing:answer()")

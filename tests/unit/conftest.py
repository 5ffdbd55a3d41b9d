"""Fixtures of the state store tests (each backend: the `store_url` fixture)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from smart_support.serving.store import StateStore
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[..., StateStore]]:
    """Opens stores on the test's database (several share it, like replicas); closes them."""
    opened: list[StateStore] = []

    def open_(clock: FakeClock, **options: Any) -> StateStore:
        opened.append(StateStore.open(store_url, clock, **options))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()

"""The dedup window's int8 code search: every decision equals the one from the float32 product."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from smart_support.routing import window_scores
from smart_support.routing.dedup import Deduplicator, DedupOutcome, GroupingRule, no_incidents
from smart_support.routing.window_scores import CodeIndex
from tests.floods.samples import DE_LOGIN_503, EN_LOGIN_503, EN_LOGIN_OUTAGE, UNRELATED, texts

CONF = Path(__file__).resolve().parents[2] / "conf" / "serve" / "default.yaml"
DIM = 384
WINDOW = 3_000  # above TWO_STAGE_FROM: decisions go through the code index
FEW, MANY = window_scores.CANDIDATES  # rows asked of the code index first, then


def units(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def near(rng: np.random.Generator, base: np.ndarray, cosines: np.ndarray) -> np.ndarray:
    """Unit vectors at the given cosines to `base` (a flood around the threshold)."""
    noise = units(rng, len(cosines))
    noise -= np.outer(noise @ base, base)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    sines = np.sqrt(1 - cosines**2)
    return (cosines[:, None] * base + sines[:, None] * noise).astype(np.float32)


def replay(
    vectors: np.ndarray, rule: str, threshold: float, window_s: float, jitter_s: float = 0.0
) -> list:
    """Every ticket in turn, 0.1 s apart (old ones leave a window shorter than the stream);
    `jitter_s` moves each time a little, so some tickets leave out of arrival order."""
    dedup = Deduplicator(threshold, window_s=window_s, incident_after=9, rule=rule)
    outcomes: list[DedupOutcome] = []
    incidents: set[str] = set()
    times = 0.1 * np.arange(len(vectors)) + np.random.default_rng(5).uniform(
        0, jitter_s, len(vectors)
    )
    for i, vector in enumerate(vectors):
        outcome = dedup.observe(f"t{i}", vector, float(times[i]), incidents.intersection)
        if outcome.action.value == "create":
            incidents.add(outcome.decision.group_id)
        outcomes.append(outcome)
    return outcomes


def assert_same_decisions(two_stage: list, exact: list) -> None:
    assert len(two_stage) == len(exact)
    for fast, slow in zip(two_stage, exact, strict=True):
        assert fast == slow  # the decision, similarity included, group size and action


def both_ways(
    monkeypatch,
    vectors: np.ndarray,
    rule: str,
    threshold: float,
    window_s: float,
    jitter_s: float = 0.0,
):
    two_stage = replay(vectors, rule, threshold, window_s, jitter_s)
    with monkeypatch.context() as patch:
        patch.setattr(window_scores, "TWO_STAGE_FROM", 10**9)  # the float32 product only
        exact = replay(vectors, rule, threshold, window_s, jitter_s)
    return two_stage, exact


def stream_with_floods(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unrelated tickets with floods mixed in: near-copies at cosines just around 0.85, and
    exact repeats of one ticket (ties)."""
    vectors = units(rng, n)
    for start in range(200, n - 60, 700):
        base = vectors[start]
        cosines = rng.uniform(0.83, 0.87, 40)
        vectors[start + 1 : start + 41] = near(rng, base, cosines)
        vectors[start + 41 : start + 45] = base
    return vectors


@pytest.mark.parametrize("rule", [r.value for r in GroupingRule])
def test_decisions_equal_the_float32_ones_on_random_vectors_with_floods(monkeypatch, rule) -> None:
    vectors = stream_with_floods(np.random.default_rng(1), 4_500)
    # a 300 s window over a 450 s stream: pruning, compaction and index rebuilds all happen
    two_stage, exact = both_ways(monkeypatch, vectors, rule, 0.85, 300.0)
    assert sum(o.decision.is_duplicate for o in exact) > 20  # the floods were found
    assert_same_decisions(two_stage, exact)


def test_tickets_leaving_out_of_arrival_order_keep_decisions_exact(monkeypatch) -> None:
    vectors = stream_with_floods(np.random.default_rng(6), 4_500)
    two_stage, exact = both_ways(monkeypatch, vectors, "link", 0.85, 300.0, jitter_s=0.5)
    assert sum(o.decision.is_duplicate for o in exact) > 20
    assert_same_decisions(two_stage, exact)


class CountedSearches:
    """How many rows each code-index search asked for (patched over CodeIndex.search)."""

    def __init__(self, monkeypatch) -> None:
        self.asked: list[int] = []
        search = CodeIndex.search

        def counted(index, query, k):
            self.asked.append(k)
            return search(index, query, k)

        monkeypatch.setattr(CodeIndex, "search", counted)


@pytest.mark.parametrize("flood", [3 * FEW, 2 * MANY])
def test_a_flood_larger_than_the_candidates_widens_the_search_and_stays_exact(
    monkeypatch, flood: int
) -> None:
    rng = np.random.default_rng(2)
    base = units(rng, 1)[0]
    copies = near(rng, base, rng.uniform(0.9, 0.95, flood))
    vectors = np.concatenate([units(rng, WINDOW), copies])
    searches = CountedSearches(monkeypatch)
    two_stage, exact = both_ways(monkeypatch, vectors, "link", 0.85, 1e9)
    assert exact[-1].group_size > FEW
    assert MANY in searches.asked  # the flood's later tickets asked for more rows
    assert_same_decisions(two_stage, exact)


def test_code_scores_stay_within_the_bound() -> None:
    rng = np.random.default_rng(3)
    flat = np.full((4, DIM), 1 / np.sqrt(DIM), dtype=np.float32)  # every term the same sign
    spiky = np.zeros((4, DIM), dtype=np.float32)
    spiky[:, 0] = 1.0  # clipped to CODE_RANGE: these rows carry a large rounding error
    tiny = units(rng, 4) * np.float32(1e-3)  # components far below one code step
    tiny[:, 0] = np.sqrt(1 - (tiny[:, 1:] ** 2).sum(axis=1))
    vectors = np.concatenate([units(rng, 5_000), flat, spiky, tiny])
    index = CodeIndex(DIM)
    index.append(vectors)
    for query in (vectors[0], flat[0], spiky[0], tiny[0], units(rng, 1)[0], 3 * flat[0]):
        rows, scores, _, error = index.search(query, len(vectors))
        exact = vectors[rows] @ query
        assert np.abs(scores - exact).max() <= error
        assert sorted(rows) == list(range(len(vectors)))


@pytest.mark.parametrize("shorter", [1.0, 0.5])
def test_rows_beyond_the_candidates_score_below_the_bound(shorter: float) -> None:
    vectors = units(np.random.default_rng(8), 4_000)
    vectors[::7] *= shorter  # codes of several lengths: the nearest by distance is not the best
    index = CodeIndex(DIM)
    index.append(vectors)
    for query in units(np.random.default_rng(9), 20):
        rows, scores, beyond, error = index.search(query, 64)
        others = np.setdiff1d(np.arange(len(vectors)), rows)
        assert (vectors[others] @ query).max() <= beyond + error
        if shorter == 1.0:  # unit vectors, as the encoder gives: a bound tight enough to use
            assert beyond < scores.max()


def test_dropping_dead_rows_keeps_the_rest_as_a_fresh_index_would() -> None:
    vectors = units(np.random.default_rng(10), 3_000)
    vectors[5] *= 4  # a clipped row with a large error, among those dropped
    dropped = CodeIndex(DIM)
    dropped.append(vectors)
    dropped.drop_front(700)
    fresh = CodeIndex(DIM)
    fresh.append(vectors[700:])
    assert (dropped.first, dropped.index.ntotal) == (700, fresh.index.ntotal)
    assert (dropped.max_error, dropped.max_squared) == (fresh.max_error, fresh.max_squared)
    for query in units(np.random.default_rng(11), 5):
        for got, want in zip(dropped.search(query, 50), fresh.search(query, 50), strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def real_vectors() -> np.ndarray:
    """The served encoder on flood samples and unrelated tickets."""
    from smart_support.features.embeddings import shared_embedder
    from smart_support.serving.settings import DedupSettings

    settings = DedupSettings(**OmegaConf.to_container(OmegaConf.load(CONF).dedup))
    embed = shared_embedder(max_seq_length=settings.max_seq_length, backend=settings.backend)
    return embed.encode(texts(EN_LOGIN_503 + DE_LOGIN_503 + EN_LOGIN_OUTAGE + UNRELATED))


@pytest.mark.parametrize("threshold", [0.6, 0.85])
def test_decisions_equal_the_float32_ones_on_real_vectors(
    monkeypatch, real_vectors, threshold
) -> None:
    rng = np.random.default_rng(4)
    # real tickets, each several times with a little noise, among random background
    copies = np.repeat(real_vectors, 5, axis=0)
    copies += rng.normal(0, 0.01, copies.shape).astype(np.float32)
    copies /= np.linalg.norm(copies, axis=1, keepdims=True)
    stream = np.concatenate([units(rng, WINDOW), rng.permutation(copies)])
    two_stage, exact = both_ways(monkeypatch, stream, "link", threshold, 1e9)
    assert sum(o.decision.is_duplicate for o in exact[WINDOW:]) > len(real_vectors)
    assert_same_decisions(two_stage, exact)


def test_the_code_index_drops_rows_that_left_the_window() -> None:
    vectors = units(np.random.default_rng(7), 3_000)
    dedup = Deduplicator(0.85, window_s=10.0)  # ~100 tickets at a time
    for i, vector in enumerate(vectors):
        dedup.observe(f"t{i}", vector, 0.1 * i, no_incidents)
    window = dedup.window
    assert 95 < len(window) < 105
    assert window._codes.index.ntotal <= 1.25 * len(window) + 1

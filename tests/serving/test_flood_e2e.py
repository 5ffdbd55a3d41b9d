"""A held-out flood in real traffic, through the dedup window as the service builds it.

One hand-written flood of `tests/floods/heldout.yaml` per language (never used to choose the
rule) is interleaved with real test-split tickets at 300 per 5-minute window, embedded by the
encoder and grouped by the Deduplicator exactly as conf/serve configures them
(`WindowCache`, the store's per-process window). Issue 15's target: the flood opens exactly one
incident, mostly flood, holding at least 80 % of its tickets, and the real tickets open none.

The test split is prepared from the shared sample as the pipeline prepares it (CI fails
without the sample; elsewhere the test skips, saying so).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smart_support.features.embeddings import dedup_encoder_model, shared_embedder
from smart_support.routing.dedup import IncidentAction
from smart_support.serving.settings import DedupSettings
from smart_support.serving.window_cache import WindowCache
from tests.fakes import FakeClock
from tests.floods import load_floods

ROOT = Path(__file__).resolve().parents[2]
PER_WINDOW = 300  # real tickets per 5-minute window
TARGET = 0.8

HELDOUT = load_floods("heldout")
FIRST = {
    lang: next(f for f in HELDOUT.values() if f.language == lang).name for lang in ("en", "de")
}


@pytest.fixture(scope="module")
def settings(burst_settings) -> DedupSettings:
    """The served setting, its usual rates from the real train split (tests/conftest.py)."""
    return burst_settings


@pytest.fixture(scope="module")
def embed(settings: DedupSettings):
    """The served encoder (the fine-tuned one when configured and built)."""
    model = dedup_encoder_model(settings.finetuned, ROOT)
    return shared_embedder(model, settings.max_seq_length, settings.backend, 1).encode


@pytest.fixture(scope="module")
def real_tickets(embed, real_sample) -> np.ndarray:
    """The test split of the shared sample, prepared as the pipeline prepares it."""
    from smart_support.data.sources import load_tickets
    from tests.helpers import splits_from

    return embed(splits_from(load_tickets(str(real_sample)))["test"].texts)


def replay_with_flood(
    settings: DedupSettings, real: np.ndarray, flood: np.ndarray, seed: int
) -> tuple[list[list[int]], np.ndarray]:
    """Two windows of real tickets, the flood spread over the second; incidents' members."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(real), 2 * PER_WINDOW, replace=False)
    window_s = settings.window_s
    times = np.concatenate(
        [rng.uniform(0.0, 2 * window_s, len(rows)), rng.uniform(window_s, 2 * window_s, len(flood))]
    )
    vectors = np.concatenate([real[rows], flood])
    is_flood = np.arange(len(vectors)) >= len(rows)
    order = np.argsort(times, kind="stable")
    dedup = WindowCache(settings, vectors.shape[1]).dedup
    clock, incidents = FakeClock(0.0), set()
    for i in order:
        clock.advance(float(times[i]) - clock.now())
        outcome = dedup.observe(str(i), vectors[i], clock.now(), incidents.intersection)
        if outcome.action is IncidentAction.CREATE:
            incidents.add(outcome.decision.group_id)
    window = dedup.window  # the flood's tickets are all still in it: labels are final
    groups = dict(zip(window.ticket_ids, window.group_ids, strict=True))
    members = [[int(t) for t, g in groups.items() if g == incident] for incident in incidents]
    return members, is_flood


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.xfail(
    strict=True,
    reason="issue 15 target not met: the served rule meets it in 60-67 % of held-out English "
    "flood streams (not in this one: en_file_sync opens no incident) and in none of the German "
    "ones; the README's 'Significant bursts' has the numbers",
)
def test_a_held_out_flood_in_real_traffic_opens_one_incident(
    settings, embed, real_tickets, language
) -> None:
    flood = HELDOUT[FIRST[language]]
    assert len(flood.tickets) >= 12
    members, is_flood = replay_with_flood(settings, real_tickets, embed(flood.texts), seed=0)
    with_flood = [m for m in members if is_flood[m].any()]
    assert len(with_flood) == 1, f"{flood.name}: {len(with_flood)} incidents hold flood tickets"
    [incident] = with_flood
    caught = int(is_flood[incident].sum())
    assert 2 * caught > len(incident)  # mostly the flood, not real tickets
    assert caught >= TARGET * len(flood.tickets)


@pytest.mark.parametrize("language", ["en", "de"])
def test_real_traffic_around_a_held_out_flood_opens_no_false_incident(
    settings, embed, real_tickets, language
) -> None:
    flood = HELDOUT[FIRST[language]]
    members, is_flood = replay_with_flood(settings, real_tickets, embed(flood.texts), seed=0)
    assert [m for m in members if 2 * int(is_flood[m].sum()) <= len(m)] == []

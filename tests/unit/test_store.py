"""Shared state store: routing, waiting queue, incidents, jobs and stats, on each backend
(an SQLite file and a PostgreSQL database: the `store_url` fixture)."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import threading
import zlib
from collections.abc import Callable

import numpy as np
import pytest

from smart_support.routing.skills import Agent
from smart_support.serving.records import NewTicket
from smart_support.serving.settings import DedupSettings
from smart_support.serving.store import StateStore
from tests.fakes import FakeClock

DIM = 384
AGENTS = (
    Agent("tess", "Tess", 2, {"Technical": 1.0}, {"en": 1.0}),
    Agent("bill", "Bill", 2, {"Billing": 1.0}, {"en": 1.0, "de": 1.0}),
    Agent("tria", "Tria", 1, {"Triage": 1.0}, {"en": 1.0, "de": 1.0}),
)
ONE_AGENT = (Agent("solo", "Solo", 1, {"Technical": 1.0}, {"en": 1.0}),)
# the store's mechanics under one fixed rule (the served rule is tested on real vectors)
DEDUP = DedupSettings(threshold=0.6, window_s=300.0, incident_after=10, rule="link")


def vector(seed: int) -> np.ndarray:
    """A random unit vector: two different seeds are unrelated (cosine near 0)."""
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def ticket(
    ticket_id: str,
    category: str = "Technical",
    urgency: float = 0.5,
    needs_review: bool = False,
    language: str = "en",
    seed: int | None = None,
) -> NewTicket:
    seed = seed if seed is not None else zlib.crc32(ticket_id.encode())
    return NewTicket(
        ticket_id, f"subject {ticket_id}", category, 0.9, needs_review, urgency, "m2", language,
        vector(seed),
    )  # fmt: skip


@pytest.fixture
def store(open_store, clock: FakeClock) -> StateStore:
    return open_store(clock, agents=AGENTS, dedup=DEDUP, lease_s=60)


@pytest.fixture
def solo(open_store, clock: FakeClock) -> StateStore:
    """A roster of one agent with a single slot: everything after the first ticket waits."""
    return open_store(clock, agents=ONE_AGENT, dedup=DEDUP)


# --- routing -----------------------------------------------------------------------------


def test_ticket_goes_to_the_agent_with_the_matching_skill(store: StateStore) -> None:
    [outcome] = store.ledger.record_routing([ticket("t1", category="Billing", language="de")])
    assert outcome.agent_id == "bill"
    assert outcome.queue_position is None


def test_needs_review_ticket_goes_to_a_triage_agent(store: StateStore) -> None:
    [outcome] = store.ledger.record_routing([ticket("t1", category="Billing", needs_review=True)])
    assert outcome.agent_id == "tria"


def test_routing_the_same_ticket_id_again_returns_the_stored_result(store: StateStore) -> None:
    first = store.ledger.record_routing([ticket("t1")])
    again = store.ledger.record_routing([ticket("t1", category="Billing")])
    assert again == first
    assert {a.id: a.load for a in store.workload.agent_loads()} == {"tess": 1, "bill": 0, "tria": 0}


def test_a_ticket_id_repeated_within_a_batch_is_stored_once(store: StateStore) -> None:
    outcomes = store.ledger.record_routing([ticket("t1"), ticket("t1")])
    assert outcomes[0] == outcomes[1]
    assert store.statistics.stats()["total_tickets"] == 1


def test_a_batch_never_fills_an_agent_beyond_capacity(store: StateStore) -> None:
    outcomes = store.ledger.record_routing([ticket(f"t{i}") for i in range(5)])
    assert [o.agent_id for o in outcomes].count("tess") == 2
    assert all(load.load <= load.capacity for load in store.workload.agent_loads())


def test_waiting_queue_is_ordered_by_urgency(solo: StateStore) -> None:
    solo.ledger.record_routing([ticket("busy")])
    outcomes = solo.ledger.record_routing(
        [ticket("low", urgency=0.2), ticket("high", urgency=0.9), ticket("mid", urgency=0.5)]
    )
    assert [o.agent_id for o in outcomes] == [None, None, None]
    assert [o.queue_position for o in outcomes] == [3, 1, 2]


def test_equally_urgent_waiting_tickets_keep_their_arrival_order(solo: StateStore) -> None:
    solo.ledger.record_routing([ticket("busy")])
    first, second = solo.ledger.record_routing([ticket("a", urgency=0.5), ticket("b", urgency=0.5)])
    assert (first.queue_position, second.queue_position) == (1, 2)


def test_resolve_drains_the_waiting_queue_most_urgent_first(solo: StateStore) -> None:
    solo.ledger.record_routing([ticket("busy")])
    solo.ledger.record_routing([ticket("low", urgency=0.2), ticket("high", urgency=0.9)])
    first = solo.ledger.resolve_ticket("busy")
    assert (first.freed_agent, first.next_assigned) == ("solo", "high")
    assert solo.ledger.resolve_ticket("high").next_assigned == "low"
    assert solo.ledger.resolve_ticket("low").next_assigned is None
    assert solo.workload.waiting_count() == 0


def test_a_rerouted_waiting_ticket_reports_its_current_place(solo: StateStore) -> None:
    solo.ledger.record_routing([ticket("busy")])
    solo.ledger.record_routing([ticket("low", urgency=0.2), ticket("high", urgency=0.9)])
    solo.ledger.resolve_ticket("busy")
    [outcome] = solo.ledger.record_routing([ticket("low", urgency=0.2)])
    assert (outcome.agent_id, outcome.queue_position) == (None, 1)


def test_resolving_a_waiting_ticket_frees_no_agent(solo: StateStore) -> None:
    solo.ledger.record_routing([ticket("busy"), ticket("queued")])
    outcome = solo.ledger.resolve_ticket("queued")
    assert (outcome.freed_agent, outcome.next_assigned) == (None, None)
    assert solo.workload.waiting_count() == 0


def test_resolving_twice_frees_the_slot_once(solo: StateStore) -> None:
    solo.ledger.record_routing([ticket("busy"), ticket("queued")])
    solo.ledger.resolve_ticket("busy")
    again = solo.ledger.resolve_ticket("busy")
    assert (again.status, again.freed_agent, again.next_assigned) == ("resolved", None, None)


def test_resolving_an_unknown_ticket_raises_key_error(store: StateStore) -> None:
    with pytest.raises(KeyError):
        store.ledger.resolve_ticket("nope")


def test_text_with_nul_and_lone_surrogates_is_stored_on_every_backend(store: StateStore) -> None:
    odd = NewTicket(
        "odd", "VPN\x00 down \udba1", "Technical", 0.9, True, 0.5, "m2", "en", vector(5)
    )
    store.ledger.record_routing([odd])
    [triage] = store.workload.triage_queue()
    assert triage.subject == "VPN down ?"
    job_id = store.jobs.enqueue_job({"subject": "\x00\udba1"})
    assert store.jobs.get_job(job_id).payload == {"subject": "\x00\udba1"}
    store.jobs.claim_job("w")
    store.jobs.fail_job(job_id, "bad input '\x00\udba1'")
    assert store.jobs.get_job(job_id).error == "bad input '?'"
    assert store.jobs.get_job(job_id).payload is None  # a finished job keeps no ticket text


# --- dedup and incidents -----------------------------------------------------------------


def test_a_copy_within_the_window_is_a_duplicate(store: StateStore, clock: FakeClock) -> None:
    store.ledger.record_routing([ticket("a", seed=1)])
    clock.advance(299)
    [outcome] = store.ledger.record_routing([ticket("b", seed=1)])
    assert outcome.dedup.is_duplicate
    assert outcome.dedup.similarity == pytest.approx(1.0)


def test_a_copy_after_the_window_is_new(store: StateStore, clock: FakeClock) -> None:
    store.ledger.record_routing([ticket("a", seed=1)])
    clock.advance(301)
    [outcome] = store.ledger.record_routing([ticket("b", seed=1)])
    assert not outcome.dedup.is_duplicate


def test_the_eleventh_copy_opens_one_incident_holding_every_copy(store: StateStore) -> None:
    outcomes = [store.ledger.record_routing([ticket(f"t{i}", seed=1)])[0] for i in range(13)]
    assert [o.incident_created for o in outcomes].count(True) == 1
    assert outcomes[10].incident_created
    incident_id = outcomes[10].dedup.master_incident_id
    assert {o.dedup.master_incident_id for o in outcomes[10:]} == {incident_id}
    detail = store.incidents.get_incident(incident_id)
    assert detail.incident.size == 13
    assert detail.incident.title == "subject t0"
    assert [t.ticket_id for t in detail.tickets] == [f"t{i}" for i in range(13)]


def test_a_flood_inside_one_batch_opens_one_incident(store: StateStore) -> None:
    outcomes = store.ledger.record_routing([ticket(f"t{i}", seed=1) for i in range(12)])
    assert sum(o.incident_created for o in outcomes) == 1
    assert len({o.dedup.master_incident_id for o in outcomes}) == 1
    assert len(store.incidents.list_incidents().incidents) == 1


def near_copies(seed: int, n: int, rng_seed: int) -> np.ndarray:
    """Unit vectors at cosine ~0.9 to vector(seed): one topic told n times."""
    rng = np.random.default_rng(rng_seed)
    noisy = vector(seed) + 0.5 * rng.standard_normal((n, DIM)).astype(np.float32) / np.sqrt(DIM)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


@pytest.fixture
def burst(open_store, clock: FakeClock, tmp_path) -> StateStore:
    """The significant-burst rule with a usual-traffic reference in which topic 7 is common
    (30 of 130 tickets) and topic 1 never appears."""
    reference = np.concatenate(
        [near_copies(7, 30, 1), np.stack([vector(100 + i) for i in range(100)])]
    )
    np.save(tmp_path / "reference.npy", reference)
    settings = DedupSettings(
        threshold=0.6, window_s=300.0, incident_after=10, rule="burst", min_matches=3,
        reference=str(tmp_path / "reference.npy"), significance=6.0,
    )  # fmt: skip
    return open_store(clock, agents=AGENTS, dedup=settings)


def reported(store: StateStore, topic: int, n: int) -> list:
    vectors = near_copies(topic, n, 2)
    return [
        store.ledger.record_routing([dataclasses.replace(ticket(f"{topic}-{i}"), embedding=v)])[0]
        for i, v in enumerate(vectors)
    ]


def test_a_burst_of_a_new_topic_opens_an_incident_under_the_burst_rule(burst: StateStore) -> None:
    outcomes = reported(burst, 1, 13)
    assert [o.incident_created for o in outcomes].count(True) == 1
    assert outcomes[10].incident_created  # the eleventh, as for the other rules


def test_a_usual_topic_at_its_usual_rate_opens_no_incident(burst: StateStore) -> None:
    # 13 close tickets where usual traffic brings about 13 * 31 / 131 = 3: far above it, but a
    # chance of ~1e-4 in usual traffic, not the 1e-6 asked for
    assert not any(o.incident_created for o in reported(burst, 7, 13))


def test_the_burst_rule_without_its_reference_fails_before_routing(
    open_store, clock, tmp_path
) -> None:
    settings = DedupSettings(rule="burst", reference=str(tmp_path / "none.npy"), significance=6.0)
    store = open_store(clock, agents=AGENTS, dedup=settings)
    store.jobs.enqueue_job({"subject": "s", "body": "b"})  # a store that never routes works
    with pytest.raises(FileNotFoundError, match="dvc repro dedup_reference"):
        store.ledger.load_window()  # what the service does at start-up
    with pytest.raises(FileNotFoundError, match="dvc repro dedup_reference"):
        store.ledger.record_routing([ticket("t0")])


def test_unknown_incident_raises_key_error(store: StateStore) -> None:
    with pytest.raises(KeyError):
        store.incidents.get_incident("nope")


def test_another_store_on_the_same_database_sees_the_window(open_store, clock: FakeClock) -> None:
    a = open_store(clock, agents=AGENTS, dedup=DEDUP)
    b = open_store(clock, agents=AGENTS, dedup=DEDUP)
    a.ledger.record_routing([ticket("x", seed=1)])
    b.ledger.record_routing([ticket("y", seed=2)])
    [outcome] = a.ledger.record_routing([ticket("z", seed=2)])
    assert outcome.dedup.is_duplicate


def test_group_merges_reach_the_other_stores_windows(open_store, clock: FakeClock) -> None:
    a = open_store(clock, dedup=DEDUP)  # link: the rule that merges groups
    b = open_store(clock, dedup=DEDUP)
    x, y = vector(1), vector(2)
    bridge = (x + y) / np.linalg.norm(x + y)  # cosine ~0.71 to both
    a.ledger.record_routing([ticket("x", seed=1), ticket("y", seed=2)])
    b.ledger.record_routing(
        [NewTicket("bridge", "s", "Technical", 0.9, False, 0.5, "m2", "en", bridge)]
    )
    for i in range(7):
        a.ledger.record_routing([ticket(f"x{i}", seed=1)])
    # Only a window that learnt of b's merge sees x, y, bridge, 7 copies of x and this one
    # as one group of 11.
    [outcome] = a.ledger.record_routing([ticket("y-last", seed=2)])
    assert outcome.incident_created


def test_state_survives_a_restart(open_store, clock: FakeClock) -> None:
    before = open_store(clock, agents=AGENTS, dedup=DEDUP)
    before.ledger.record_routing([ticket("t1", seed=1)])
    before.close()
    after = open_store(clock, agents=AGENTS, dedup=DEDUP)
    [outcome] = after.ledger.record_routing([ticket("t2", seed=1)])
    assert outcome.dedup.is_duplicate
    assert after.statistics.stats()["total_tickets"] == 2


def test_a_failed_batch_stores_nothing(store: StateStore) -> None:
    broken = NewTicket("bad", "s", "Technical", 0.9, False, 0.5, "m2", "en", np.ones(3))
    with pytest.raises(ValueError):
        store.ledger.record_routing([ticket("good", seed=1), broken])
    assert store.statistics.stats()["total_tickets"] == 0
    [outcome] = store.ledger.record_routing([ticket("again", seed=1)])
    assert not outcome.dedup.is_duplicate  # the rolled-back ticket left no trace in the window


# --- jobs --------------------------------------------------------------------------------


def test_a_queued_job_is_claimed_once(store: StateStore) -> None:
    job_id = store.jobs.enqueue_job({"subject": "s"})
    assert store.jobs.get_job(job_id).status == "queued"
    job = store.jobs.claim_job("w1")
    assert (job.job_id, job.status, job.attempts, job.payload) == (
        job_id,
        "running",
        1,
        {"subject": "s"},
    )
    assert store.jobs.claim_job("w2") is None


def test_jobs_are_claimed_in_arrival_order(store: StateStore) -> None:
    ids = [store.jobs.enqueue_job({"n": i}) for i in range(3)]
    assert [store.jobs.claim_job("w").job_id for _ in ids] == ids


def test_completed_job_keeps_its_result_and_ignores_a_late_second_completion(
    store: StateStore,
) -> None:
    job_id = store.jobs.enqueue_job({})
    store.jobs.claim_job("w")
    assert store.jobs.complete_job(job_id, {"agent": "tess"})
    assert not store.jobs.complete_job(job_id, {"agent": "other"})
    job = store.jobs.get_job(job_id)
    assert (job.status, job.result) == ("done", {"agent": "tess"})


def test_failed_job_keeps_its_error(store: StateStore) -> None:
    job_id = store.jobs.enqueue_job({})
    store.jobs.claim_job("w")
    store.jobs.fail_job(job_id, "model exploded")
    assert (store.jobs.get_job(job_id).status, store.jobs.get_job(job_id).error) == (
        "failed",
        "model exploded",
    )


def test_unknown_job_raises_key_error(store: StateStore) -> None:
    with pytest.raises(KeyError):
        store.jobs.get_job("nope")
    with pytest.raises(KeyError):
        store.jobs.complete_job("nope", {})


def test_job_of_a_dead_worker_is_reclaimed_after_its_lease(
    store: StateStore, clock: FakeClock
) -> None:
    job_id = store.jobs.enqueue_job({})
    store.jobs.claim_job("dies")
    clock.advance(59)
    assert store.jobs.claim_job("w2") is None
    clock.advance(2)
    job = store.jobs.claim_job("w2")
    assert (job.job_id, job.worker_id, job.attempts) == (job_id, "w2", 2)


def test_job_whose_lease_expired_too_often_fails(store: StateStore, clock: FakeClock) -> None:
    job_id = store.jobs.enqueue_job({})
    for _ in range(3):  # max_attempts = 3
        assert store.jobs.claim_job("dies") is not None
        clock.advance(61)
    assert store.jobs.claim_job("w") is None
    job = store.jobs.get_job(job_id)
    assert job.status == "failed"
    assert "lease expired 3 times" in job.error


# --- counters, stats, triage -------------------------------------------------------------


def test_counters_add_up(store: StateStore) -> None:
    store.statistics.increment("webhook_fires")
    store.statistics.increment("webhook_fires", by=2)
    store.statistics.increment("webhook_failures")
    stats = store.statistics.stats()
    assert stats["webhook"] == {"fires": 3, "failures": 1}
    assert stats["breaker"] == {"trips": 0}


def test_stats_count_tickets_by_category_model_and_urgency(store: StateStore) -> None:
    store.ledger.record_routing(
        [
            ticket("a", category="Billing", urgency=0.05),
            ticket("b", category="Technical", urgency=0.95, needs_review=True),
            ticket("c", category="Technical", urgency=1.0),
        ]
    )
    stats = store.statistics.stats()
    assert stats["total_tickets"] == 3
    assert stats["by_category"] == {"Billing": 1, "Technical": 2}
    assert stats["by_model"] == {"m2": 3}
    assert stats["needs_review"] == 1
    assert stats["urgency_histogram"]["counts"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert stats["urgency_histogram"]["bins"][-1] == 1.0


def test_triage_queue_lists_open_review_tickets_newest_first(
    store: StateStore, clock: FakeClock
) -> None:
    for name in ("old", "done", "new"):
        store.ledger.record_routing([ticket(name, needs_review=True)])
        clock.advance(1)
    store.ledger.record_routing([ticket("sure")])
    store.ledger.resolve_ticket("done")
    assert [t.ticket_id for t in store.workload.triage_queue()] == ["new", "old"]
    assert [t.ticket_id for t in store.workload.triage_queue(limit=1)] == ["new"]


def test_agent_loads_report_utilisation(store: StateStore) -> None:
    store.ledger.record_routing([ticket("t1")])
    tess = next(a for a in store.workload.agent_loads() if a.id == "tess")
    assert (tess.load, tess.capacity, tess.utilisation) == (1, 2, 0.5)


def test_threads_of_one_process_route_concurrently_without_overfilling(store: StateStore) -> None:
    def route(name: str) -> None:
        for i in range(10):
            store.ledger.record_routing([ticket(f"{name}-{i}")])

    threads = [threading.Thread(target=route, args=(f"th{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    loads = store.workload.agent_loads()
    assert all(a.load <= a.capacity for a in loads)
    assert store.statistics.stats()["total_tickets"] == 40
    assert store.workload.waiting_count() == 40 - sum(a.capacity for a in AGENTS)


# --- several processes on one database -------------------------------------------------------


def _process_worker(url: str, name: str, barrier, results) -> None:  # runs in a child
    store = StateStore.open(url, FakeClock(), agents=AGENTS, dedup=DEDUP)
    barrier.wait()
    claimed = []
    for i in range(15):
        store.ledger.record_routing([ticket(f"{name}-{i}-{k}") for k in range(3)])
        for _ in range(5):
            job = store.jobs.claim_job(name)
            if job is not None:
                claimed.append(job.job_id)
                store.jobs.complete_job(job.job_id, {"by": name})
    while (job := store.jobs.claim_job(name)) is not None:
        claimed.append(job.job_id)
        store.jobs.complete_job(job.job_id, {"by": name})
    results.put((name, claimed))


def test_two_processes_share_capacity_and_claim_each_job_once(open_store, store_url: str) -> None:
    parent = open_store(FakeClock(), agents=AGENTS, dedup=DEDUP)
    job_ids = {parent.jobs.enqueue_job({"n": i}) for i in range(120)}
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_process_worker, args=(store_url, name, barrier, results))
        for name in ("p1", "p2")
    ]
    for w in workers:
        w.start()
    claimed = dict(results.get(timeout=120) for _ in workers)
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    assert sorted(claimed["p1"] + claimed["p2"]) == sorted(job_ids)  # each job exactly once
    assert all(parent.jobs.get_job(j).status == "done" for j in job_ids)
    loads = parent.workload.agent_loads()
    assert all(a.load <= a.capacity for a in loads)
    assert sum(a.load for a in loads) == sum(a.capacity for a in AGENTS)  # 90 tickets > 5 slots
    assert parent.statistics.stats()["total_tickets"] == 90


# --- several stores at once (each its own connections and window cache, like replicas) --------


def _at_once(stores: list[StateStore], work: Callable[[int, StateStore], None]) -> None:
    barrier, errors = threading.Barrier(len(stores)), []

    def run(index: int, store: StateStore) -> None:
        barrier.wait()
        try:
            work(index, store)
        except Exception as exc:  # noqa: BLE001 - collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_replicas_routing_at_once_never_overfill_and_open_one_incident(open_store) -> None:
    clock = FakeClock()
    replicas = [open_store(clock, agents=AGENTS, dedup=DEDUP) for _ in range(6)]

    def route(index: int, store: StateStore) -> None:
        for i in range(4):  # copies of one outage and unrelated tickets, interleaved
            store.ledger.record_routing([ticket(f"flood-{index}-{i}", seed=1)])
            store.ledger.record_routing([ticket(f"other-{index}-{i}")])

    _at_once(replicas, route)
    [incident] = replicas[0].incidents.list_incidents().incidents
    assert incident.size == 24  # every copy, whichever replica stored it
    loads = replicas[0].workload.agent_loads()
    assert all(a.load <= a.capacity for a in loads)
    assert sum(a.load for a in loads) == sum(a.capacity for a in AGENTS)  # 48 tickets > 5 slots
    assert replicas[0].statistics.stats()["total_tickets"] == 48


def test_replicas_claiming_at_once_get_each_job_once(open_store) -> None:
    clock = FakeClock()
    replicas = [open_store(clock, dedup=DEDUP) for _ in range(6)]
    job_ids = [replicas[0].jobs.enqueue_job({"n": i}) for i in range(120)]
    claimed: list[str] = []

    def claim(index: int, store: StateStore) -> None:
        while (job := store.jobs.claim_job(f"w{index}")) is not None:
            claimed.append(job.job_id)
            assert store.jobs.complete_job(job.job_id, {"by": index})

    _at_once(replicas, claim)
    assert sorted(claimed) == sorted(job_ids)

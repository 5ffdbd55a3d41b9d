"""The store's exactly-once and data-protection parts on each backend (SQLite, PostgreSQL):
the webhook outbox, idempotency keys, job payload deletion, retention purge, ticket erasure."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from smart_support.serving.idempotency import IdempotencyConflict, fingerprint
from smart_support.serving.outbox import ClaimedMessage, OutboxMessage, OutboxSender
from smart_support.serving.records import NewTicket, RoutingOutcome
from smart_support.serving.retention import DAY_S
from smart_support.serving.settings import RetentionSettings, WebhookSettings
from smart_support.serving.store import StateStore
from tests.fakes import FakeClock
from tests.unit.test_store import AGENTS, DEDUP, ONE_AGENT, ticket

HOOK = WebhookSettings(retries=2, backoff_s=1.0, max_backoff_s=60.0, lease_s=30.0)
RETENTION = RetentionSettings(
    tickets_days=30, jobs_days=7, outbox_days=7, idempotency_hours=24, interval_s=3600
)


def one_alert(ticket: NewTicket, outcome: RoutingOutcome) -> Sequence[OutboxMessage]:
    key = f"urgent_ticket:{ticket.ticket_id}"
    return [OutboxMessage(key, "urgent_ticket", {"text": ticket.subject}, ticket.ticket_id)]


@pytest.fixture
def store(open_store, clock: FakeClock) -> StateStore:
    return open_store(clock, agents=AGENTS, dedup=DEDUP, webhook=HOOK, retention=RETENTION)


@pytest.fixture
def solo(open_store, clock: FakeClock) -> StateStore:
    return open_store(clock, agents=ONE_AGENT, dedup=DEDUP, webhook=HOOK, retention=RETENTION)


# --- outbox ------------------------------------------------------------------------------


def test_a_message_commits_with_its_routing_decision(store: StateStore) -> None:
    store.ledger.record_routing([ticket("t1")], one_alert)
    assert [m["message_id"] for m in store.outbox.messages()] == ["urgent_ticket:t1"]

    def broken(ticket: NewTicket, outcome: RoutingOutcome) -> Sequence[OutboxMessage]:
        raise RuntimeError("crash inside the routing transaction")

    with pytest.raises(RuntimeError):
        store.ledger.record_routing([ticket("t2")], broken)
    assert store.statistics.stats()["total_tickets"] == 1  # neither the ticket nor a message
    assert len(store.outbox.messages()) == 1


def test_routing_a_known_ticket_again_adds_no_second_message(store: StateStore) -> None:
    store.ledger.record_routing([ticket("t1")], one_alert)
    store.ledger.record_routing([ticket("t1")], one_alert)  # a job re-run after a lost lease
    assert len(store.outbox.messages()) == 1


def test_a_leased_message_goes_to_no_other_sender_until_the_lease_expires(
    store: StateStore, clock: FakeClock
) -> None:
    store.ledger.record_routing([ticket("t1")], one_alert)
    [mine] = store.outbox.claim("a")
    assert store.outbox.claim("b") == []
    clock.advance(HOOK.lease_s + 1)  # sender a died mid-delivery
    [theirs] = store.outbox.claim("b")
    assert theirs.message_id == mine.message_id
    assert not store.outbox.mark_sent(mine, "a")  # a's lease is gone: b owns the message
    assert store.outbox.mark_sent(theirs, "b")
    assert store.outbox.counts() == {"pending": 0, "sent": 1, "failed": 0}
    assert store.statistics.counters()["webhook_fires"] == 1


def test_a_sent_message_is_never_claimed_again(store: StateStore, clock: FakeClock) -> None:
    store.ledger.record_routing([ticket("t1")], one_alert)
    [message] = store.outbox.claim("a")
    store.outbox.mark_sent(message, "a")
    clock.advance(10 * DAY_S)
    assert store.outbox.claim("a") == []


def test_failed_attempts_back_off_exponentially_then_give_up(
    store: StateStore, clock: FakeClock
) -> None:
    store.ledger.record_routing([ticket("t1")], one_alert)
    waits = []
    for _ in range(HOOK.retries + 1):
        [message] = store.outbox.claim("a")
        status = store.outbox.mark_attempt_failed(message, "a", "answered 500")
        due = store.outbox.messages()[0]["next_attempt_at"]
        waits.append(due - clock.now())
        assert store.outbox.claim("a") == []  # not due before its backoff
        clock.advance(due - clock.now())
    assert waits[:2] == [1.0, 2.0]
    assert status == "failed"
    assert store.outbox.claim("a") == []
    assert store.outbox.counts()["failed"] == 1
    assert store.statistics.counters()["webhook_failures"] == 1


def test_the_sender_retries_until_the_receiver_accepts(store: StateStore, clock: FakeClock) -> None:
    store.ledger.record_routing([ticket("t1"), ticket("t2")], one_alert)
    answers = iter([RuntimeError("refused"), None, None])
    attempts: list[str] = []

    def deliver(message: ClaimedMessage) -> None:
        attempts.append(message.message_id)
        if (answer := next(answers)) is not None:
            raise answer

    sender = OutboxSender(store.outbox, deliver)
    assert sender.drain() == 2  # t1 failed (backoff pending), t2 delivered
    clock.advance(HOOK.backoff_s)
    assert sender.drain() == 1
    assert attempts == ["urgent_ticket:t1", "urgent_ticket:t2", "urgent_ticket:t1"]
    assert store.outbox.counts() == {"pending": 0, "sent": 2, "failed": 0}


def test_concurrent_senders_deliver_every_message_once(open_store, clock: FakeClock) -> None:
    replicas = [open_store(clock, agents=AGENTS, dedup=DEDUP, webhook=HOOK) for _ in range(4)]
    replicas[0].ledger.record_routing([ticket(f"t{i}") for i in range(40)], one_alert)
    delivered: list[str] = []

    def send(store: StateStore, owner: str) -> None:
        while claimed := store.outbox.claim(owner, limit=3):
            for message in claimed:
                delivered.append(message.message_id)
                assert store.outbox.mark_sent(message, owner)

    threads = [
        threading.Thread(target=send, args=(store, f"s{i}")) for i, store in enumerate(replicas)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(delivered) == sorted(f"urgent_ticket:t{i}" for i in range(40))
    assert replicas[0].statistics.counters()["webhook_fires"] == 40


# --- idempotency keys --------------------------------------------------------------------


def test_an_idempotency_key_keeps_the_first_answer(store: StateStore) -> None:
    keys, request = store.idempotency, fingerprint({"subject": "a", "body": "b"})
    assert keys.recall("route:anonymous", "k1", request) is None
    assert keys.remember("route:anonymous", "k1", request, {"answer": 1}) == {"answer": 1}
    assert keys.remember("route:anonymous", "k1", request, {"answer": 2}) == {"answer": 1}
    assert keys.recall("route:anonymous", "k1", request) == {"answer": 1}
    assert keys.recall("route:someone-else", "k1", request) is None  # scoped by caller


def test_an_idempotency_key_reused_for_another_request_is_refused(store: StateStore) -> None:
    keys = store.idempotency
    keys.remember("route:anonymous", "k1", fingerprint({"subject": "a"}), {"answer": 1})
    with pytest.raises(IdempotencyConflict):
        keys.recall("route:anonymous", "k1", fingerprint({"subject": "other"}))


# --- jobs --------------------------------------------------------------------------------


def test_a_finished_job_loses_its_payload(store: StateStore) -> None:
    done = store.jobs.enqueue_job({"subject": "private text"})
    failed = store.jobs.enqueue_job({"subject": "private text"})
    for _ in (done, failed):
        assert store.jobs.claim_job("w").payload == {"subject": "private text"}
    store.jobs.complete_job(done, {"ok": True})
    store.jobs.fail_job(failed, "bad ticket")
    assert store.jobs.get_job(done).payload is None
    assert store.jobs.get_job(failed).payload is None
    assert store.jobs.get_job(done).result == {"ok": True}


def test_enqueueing_a_known_job_id_adds_nothing(store: StateStore) -> None:
    store.jobs.enqueue_job({"subject": "first"}, "job-1")
    store.jobs.enqueue_job({"subject": "retry"}, "job-1")
    job = store.jobs.claim_job("w")
    assert (job.job_id, job.payload) == ("job-1", {"subject": "first"})
    assert store.jobs.claim_job("w") is None


# --- retention ---------------------------------------------------------------------------


def test_purge_deletes_only_what_is_past_its_retention(store: StateStore, clock: FakeClock) -> None:
    store.ledger.record_routing([ticket("old-resolved"), ticket("old-open")], one_alert)
    store.ledger.resolve_ticket("old-resolved")
    old_job = store.jobs.enqueue_job({"subject": "x"})
    store.jobs.complete_job(store.jobs.claim_job("w").job_id, {})
    queued_job = store.jobs.enqueue_job({"subject": "still queued"})
    sent = store.outbox.claim("s", limit=1)[0]
    store.outbox.mark_sent(sent, "s")
    store.idempotency.remember("route:anonymous", "k-old", "h", {})

    clock.advance(RETENTION.tickets_days * DAY_S + 1)
    store.ledger.record_routing([ticket("recent")], one_alert)
    store.ledger.resolve_ticket("recent")
    store.idempotency.remember("route:anonymous", "k-new", "h", {})
    deleted = store.retention.purge()

    assert deleted["tickets"] == 1 and deleted["jobs"] == 1 and deleted["outbox"] == 1
    assert deleted["idempotency_keys"] == 1
    with pytest.raises(KeyError):
        store.ledger.resolve_ticket("old-resolved")
    assert [m["ticket_id"] for m in store.outbox.messages()] == ["old-open", "recent"]
    with pytest.raises(KeyError):
        store.jobs.get_job(old_job)
    assert store.jobs.get_job(queued_job).payload == {"subject": "still queued"}
    assert store.idempotency.recall("route:anonymous", "k-new", "h") == {}
    assert store.idempotency.recall("route:anonymous", "k-old", "h") is None
    assert store.statistics.stats()["total_tickets"] == 2


def test_purge_runs_at_start_then_once_per_interval(store: StateStore, clock: FakeClock) -> None:
    assert store.retention.run_if_due() is not None
    clock.advance(RETENTION.interval_s - 1)
    assert store.retention.run_if_due() is None
    clock.advance(1)
    assert store.retention.run_if_due() is not None


# --- erasure -----------------------------------------------------------------------------


def test_erasing_a_ticket_deletes_its_data_and_frees_its_slot(solo: StateStore) -> None:
    solo.ledger.record_routing([ticket("busy")], one_alert)
    solo.ledger.record_routing([ticket("next")], one_alert)
    solo.idempotency.remember("route:anonymous", "k", "h", {"ticket_id": "busy"}, "busy")
    solo.ledger.erase_ticket("busy")
    assert [m["ticket_id"] for m in solo.outbox.messages()] == ["next"]
    assert solo.idempotency.recall("route:anonymous", "k", "h") is None
    assert solo.statistics.stats()["total_tickets"] == 1
    assert solo.workload.agent_loads()[0].load == 1  # "next" took the freed slot
    assert solo.workload.waiting_count() == 0
    with pytest.raises(KeyError):
        solo.ledger.erase_ticket("busy")


def test_erasing_a_job_not_yet_routed_deletes_it(store: StateStore) -> None:
    job_id = store.jobs.enqueue_job({"subject": "private"})
    store.ledger.erase_ticket(job_id)
    with pytest.raises(KeyError):
        store.jobs.get_job(job_id)


def test_erasing_an_incidents_first_ticket_retitles_it_or_drops_it(
    store: StateStore, clock: FakeClock
) -> None:
    flood = [ticket(f"f{i}", seed=7) for i in range(DEDUP.incident_after + 1)]
    for item in flood:
        store.ledger.record_routing([item])
        clock.advance(1)
    [incident] = store.incidents.list_incidents().incidents
    assert incident.title == "subject f0"
    assert incident.owner_ticket_id == "f0"
    owner_agent = store.incidents.get_incident(incident.id).incident.owner_agent
    store.ledger.erase_ticket("f0")
    after = store.incidents.get_incident(incident.id).incident
    assert after.title == "subject f1"
    # the erased owner's slot passes to the next member; the incident never points at it
    assert (after.owner_ticket_id, after.owner_agent) == ("f1", owner_agent)
    for item in flood[1:]:
        store.ledger.erase_ticket(item.ticket_id)
    assert store.incidents.list_incidents().incidents == ()


# --- migration ---------------------------------------------------------------------------


def test_a_0001_database_keeps_its_jobs_when_upgraded(store_url: str) -> None:
    """0003 rebuilds `jobs` on SQLite (payload becomes nullable): rows, the status check and
    never-reused sequence numbers survive."""
    from alembic import command
    from alembic.config import Config

    from smart_support.serving.database import Database
    from smart_support.serving.migrations import HERE

    db = Database(store_url)
    with db.migration_lock() as conn:
        config = Config()
        config.set_main_option("script_location", str(HERE))
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO jobs (job_id, payload, status, attempts, created_at, updated_at) "
                "VALUES ('old', '{\"subject\": \"s\"}', 'queued', 0, 1, 1)"
            )
        )
    db.close()
    store = StateStore.open(store_url, FakeClock())
    try:
        job = store.jobs.claim_job("w")
        assert (job.job_id, job.payload) == ("old", {"subject": "s"})
        store.jobs.complete_job("old", {})
        assert store.jobs.get_job("old").payload is None
        with pytest.raises(sa.exc.IntegrityError), store.database.transaction() as conn:
            conn.execute(sa.text("UPDATE jobs SET status = 'bogus'"))
        with store.database.transaction() as conn:
            conn.execute(sa.text("DELETE FROM jobs"))
        assert store.jobs.enqueue_job({}) and store.jobs.claim_job("w").job_id != "old"
        with store.database.snapshot() as conn:
            assert conn.execute(sa.text("SELECT MAX(seq) FROM jobs")).scalar_one() == 2
    finally:
        store.close()


# --- a job re-run after a lost lease -----------------------------------------------------


def test_a_job_rerun_after_a_lost_lease_sends_no_second_alert(
    store: StateStore, clock: FakeClock
) -> None:
    from smart_support.serving.api_models import TicketIn
    from smart_support.serving.job_worker import JobWorker
    from smart_support.serving.model_router import Classified
    from smart_support.serving.settings import ServeSettings
    from smart_support.serving.ticket_service import TicketService

    def classify(texts: list[str]) -> list[Classified]:  # every ticket urgent: one alert each
        return [Classified("Technical", 0.9, 0.95, "m2", ticket("x").embedding, "en")] * len(texts)

    settings = ServeSettings(agents=AGENTS, dedup=DEDUP)
    service = TicketService(settings, store.ledger, classify)
    job_id = store.jobs.enqueue_job({"subject": "Server down", "body": "Error 500 everywhere."})
    claimed = store.jobs.claim_job("first")  # routes, then dies before completing the job
    service.route([TicketIn.model_validate(claimed.payload)], ticket_ids=[job_id])
    clock.advance(60 + 1)  # the store fixture's job lease
    assert JobWorker(store.jobs, service).run_once()  # the second worker re-runs the job
    assert store.jobs.get_job(job_id).status == "done"
    assert [m["message_id"] for m in store.outbox.messages()] == [f"urgent_ticket:{job_id}"]

"""Shared serving state: tickets, incidents, agent loads, jobs and counters.

`StateStore` opens one `Database` (an SQLite file by default, PostgreSQL by URL) and builds the
few classes that each own one concern over it; a consumer receives only the one it needs:

- `ledger` (`TicketLedger`): dedup window, incidents' opening, agent assignment, waiting queue
- `jobs` (`JobQueue`): async jobs with leased, atomic claims
- `incidents` (`Incidents`): master incidents for the dashboards
- `workload` (`Workload`): agent loads, waiting count, triage queue
- `statistics` (`Statistics`): exact counters and GET /stats
- `outbox` (`Outbox`): webhook messages stored with their routing decision, leased to senders
- `idempotency` (`IdempotencyKeys`): first answers to requests sent with an Idempotency-Key
- `retention` (`Retention`): the purge of data past its retention
- `corrections` (`Corrections`): agents' corrections of predictions, re-routing, live quality

Nothing shared lives in per-process dicts: the only per-process state is the ledger's cache of
the dedup window, brought up to date from the database inside each routing transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smart_support.clock import Clock, SystemClock
from smart_support.routing.skills import Agent
from smart_support.serving.database import Database
from smart_support.serving.feedback import Corrections
from smart_support.serving.idempotency import IdempotencyKeys
from smart_support.serving.incidents import Incidents
from smart_support.serving.jobs import JobQueue
from smart_support.serving.ledger import TicketLedger
from smart_support.serving.outbox import Outbox
from smart_support.serving.retention import Retention
from smart_support.serving.settings import (
    DedupSettings,
    RetentionSettings,
    ServeSettings,
    WebhookSettings,
)
from smart_support.serving.statistics import Statistics
from smart_support.serving.window_cache import WindowCache
from smart_support.serving.workload import Workload


@dataclass(frozen=True)
class StateStore:
    database: Database
    ledger: TicketLedger
    jobs: JobQueue
    incidents: Incidents
    workload: Workload
    statistics: Statistics
    outbox: Outbox
    idempotency: IdempotencyKeys
    retention: Retention
    corrections: Corrections

    @classmethod
    def open(
        cls,
        database: Database | str,
        clock: Clock | None = None,
        agents: Sequence[Agent] = (),
        dedup: DedupSettings | None = None,
        lease_s: float = 60.0,
        max_attempts: int = 3,
        min_affinity: float = 0.0,
        embedding_dim: int = 384,
        migrate: bool = True,
        webhook: WebhookSettings | None = None,
        retention: RetentionSettings | None = None,
    ) -> StateStore:
        """`database`: a Database or its URL. `migrate`: apply the schema now (fail at
        start-up, not on a request); a service that must start while the database is down
        passes False and polls `Database.ensure_schema`."""
        clock = clock or SystemClock()
        db = Database(database) if isinstance(database, str) else database
        if migrate:
            db.ensure_schema()
        window = WindowCache(dedup or DedupSettings.model_validate({}), embedding_dim)
        hook = webhook or WebhookSettings.model_validate({})
        ledger = TicketLedger(db, clock, window, agents, min_affinity)
        return cls(
            database=db,
            ledger=ledger,
            jobs=JobQueue(db, clock, lease_s, max_attempts),
            incidents=Incidents(db),
            workload=Workload(db, agents),
            statistics=Statistics(db),
            outbox=Outbox(
                db, clock, hook.lease_s, hook.retries, hook.backoff_s, hook.max_backoff_s
            ),
            idempotency=IdempotencyKeys(db, clock),
            retention=Retention(db, clock, retention or RetentionSettings.model_validate({})),
            corrections=Corrections(db, clock, ledger),
        )

    @classmethod
    def from_settings(
        cls, settings: ServeSettings, clock: Clock | None = None, migrate: bool = True
    ) -> StateStore:
        """The service's store. Its dedup window is built now, so that a missing burst-rule
        reference fails the start, not the first route."""
        store = cls.open(
            Database.from_settings(settings.store),
            clock=clock,
            agents=settings.agents,
            dedup=settings.dedup,
            lease_s=settings.jobs.lease_s,
            max_attempts=settings.jobs.max_attempts,
            min_affinity=settings.routing.min_affinity,
            migrate=migrate,
            webhook=settings.webhook,
            retention=settings.retention,
        )
        store.ledger.load_window()
        return store

    def close(self) -> None:
        self.database.close()

"""Per-process copy of the dedup window, brought up to date from the database incrementally.

Ticket rows never change their embedding or time, so only rows with a higher sequence number
than the last one seen are read; group merges are replayed from `group_merges` the same way.
Use it only while holding `lock` and inside a serialized write transaction
(`Database.transaction(serialized=True)`): no routing write of another process or replica can
commit meanwhile, and sequence numbers are then assigned in commit order, so `seq > last seen`
misses no row (on PostgreSQL a sequence alone is not commit-ordered across transactions).
"""

from __future__ import annotations

import functools
import threading

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from smart_support.routing.dedup import Deduplicator, GroupingRule, UsualRate
from smart_support.serving.settings import DedupSettings, project_file


class WindowCache:
    _dedup: Deduplicator | None  # built on first use (`dedup`)
    ticket_seq: int
    merge_seq: int | None

    def __init__(self, settings: DedupSettings, dimension: int = 384) -> None:
        self.settings = settings
        self.dimension = dimension
        self.lock = threading.Lock()
        self.reset()

    @functools.cached_property
    def usual_rate(self) -> UsualRate | None:
        """Read on first use: a store that never routes needs no reference."""
        return load_usual_rate(self.settings)

    @property
    def dedup(self) -> Deduplicator:
        if self._dedup is None:
            self._dedup = Deduplicator(
                threshold=self.settings.threshold,
                window_s=self.settings.window_s,
                incident_after=self.settings.incident_after,
                dimension=self.dimension,
                rule=self.settings.rule,
                min_matches=self.settings.min_matches,
                usual_rate=self.usual_rate,
                near_copy=self.settings.near_copy,
                cohesion=self.settings.cohesion,
            )
        return self._dedup

    def reset(self) -> None:
        """Forget everything (after a rolled-back transaction); the next refresh reloads."""
        self._dedup = None
        self.ticket_seq = 0
        self.merge_seq = None

    def refresh(self, conn: Connection, now: float) -> None:
        cutoff = now - self.settings.window_s
        window = self.dedup.window
        window.prune(cutoff)
        if self.merge_seq is None:  # a fresh load reads current group labels: no replay
            self.merge_seq = _max_seq(conn, "group_merges")
        for seq, source, target in conn.execute(_MERGES_SINCE, {"seq": self.merge_seq}):
            window.merge(target, [source])
            self.merge_seq = seq
        for seq, ticket_id, group_id, created_at, blob in conn.execute(
            _TICKETS_SINCE, {"seq": self.ticket_seq, "cutoff": cutoff}
        ):
            window.add(ticket_id, group_id, np.frombuffer(blob, dtype=np.float32), created_at)
            self.ticket_seq = seq  # rows older than the window are skipped, never needed later


def load_usual_rate(settings: DedupSettings) -> UsualRate | None:
    """The burst rule's usual rates: the `dedup_reference` stage's vectors of the train split
    (unit rows, float32); None for the other rules or without a reference."""
    if GroupingRule(settings.rule) is not GroupingRule.BURST or not settings.reference:
        return None
    path = project_file(settings.reference)
    if not path.exists():
        raise FileNotFoundError(
            f"dedup.reference {path} is missing: the burst rule's usual rates come from the "
            "dedup_reference stage (`dvc repro dedup_reference`)"
        )
    return UsualRate(np.load(path), settings.significance)


_MERGES_SINCE = sa.text(
    "SELECT seq, from_group, into_group FROM group_merges WHERE seq > :seq ORDER BY seq"
)
_TICKETS_SINCE = sa.text(
    "SELECT seq, ticket_id, group_id, created_at, embedding FROM tickets "
    "WHERE seq > :seq AND created_at >= :cutoff ORDER BY seq"
)


def _max_seq(conn: Connection, table: str) -> int:
    return int(conn.execute(sa.text(f"SELECT COALESCE(MAX(seq), 0) FROM {table}")).scalar_one())

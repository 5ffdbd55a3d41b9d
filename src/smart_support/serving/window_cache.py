"""Per-process copy of the dedup window, brought up to date from the database incrementally.

Ticket rows never change their embedding or time, so only rows with a higher sequence number
than the last one seen are read; group merges are replayed from `group_merges` the same way.
Use it only while holding `lock` and inside a write transaction (BEGIN IMMEDIATE), so the
rows it reads cannot change underneath and no other thread of this process touches it.
"""

from __future__ import annotations

import sqlite3
import threading

import numpy as np

from smart_support.routing.dedup import Deduplicator
from smart_support.serving.settings import DedupSettings


class WindowCache:
    def __init__(self, settings: DedupSettings, dimension: int = 384) -> None:
        self.settings = settings
        self.dimension = dimension
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything (after a rolled-back transaction); the next refresh reloads."""
        self.dedup = Deduplicator(
            threshold=self.settings.threshold,
            window_s=self.settings.window_s,
            incident_after=self.settings.incident_after,
            dimension=self.dimension,
            rule=self.settings.rule,
            min_matches=self.settings.min_matches,
        )
        self.ticket_seq = 0
        self.merge_seq: int | None = None

    def refresh(self, conn: sqlite3.Connection, now: float) -> None:
        cutoff = now - self.settings.window_s
        window = self.dedup.window
        window.prune(cutoff)
        if self.merge_seq is None:  # a fresh load reads current group labels: no replay
            self.merge_seq = _max_seq(conn, "group_merges")
        for seq, source, target in conn.execute(
            "SELECT seq, from_group, into_group FROM group_merges WHERE seq > ? ORDER BY seq",
            (self.merge_seq,),
        ):
            window.merge(target, [source])
            self.merge_seq = seq
        for ticket_id, group_id, created_at, blob in conn.execute(
            "SELECT ticket_id, group_id, created_at, embedding FROM tickets "
            "WHERE seq > ? AND created_at >= ? ORDER BY seq",
            (self.ticket_seq, cutoff),
        ):
            window.add(ticket_id, group_id, np.frombuffer(blob, dtype=np.float32), created_at)
        self.ticket_seq = _max_seq(conn, "tickets")


def _max_seq(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {table}").fetchone()[0])

"""Agents' corrections of the router's predictions, and the live quality they measure.

A correction is added, never applied over the prediction: the ticket keeps the category,
urgency score, model and model version it was routed with, and each correction row copies
them beside the agent's answer, who gave it and when. A ticket corrected twice keeps both
rows; the latest is the one that counts (agreement, training data). A correction to another
category re-routes an open ticket to that category's agents (`TicketLedger.reroute`).

`quality` is GET /stats' `quality` section: agreement between the router and the agents per
category and per model version (latest correction of each ticket), the review rate, and the
share of tickets routed to each category per time bucket.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from smart_support.clock import Clock
from smart_support.serving.database import Database
from smart_support.serving.ledger import TicketLedger
from smart_support.serving.records import Correction, CorrectionOutcome

QUALITY_WINDOW_S = 24 * 3600.0  # the category shares cover the last day ...
QUALITY_BUCKET_S = 3600.0  # ... an hour at a time

_COLUMNS = (
    "ticket_id, category, urgency_level, predicted_category, predicted_urgency, model_used, "
    "model_version, needs_review, corrected_by, corrected_at"
)
_INSERT = sa.text(
    f"INSERT INTO corrections ({_COLUMNS}) VALUES (:ticket_id, :category, :urgency_level, "
    ":predicted_category, :predicted_urgency, :model_used, :model_version, :needs_review, "
    ":corrected_by, :corrected_at)"
)
# The latest correction of each ticket (the one that counts)
LATEST = (
    f"SELECT {_COLUMNS} FROM corrections c WHERE c.seq = "
    "(SELECT MAX(seq) FROM corrections l WHERE l.ticket_id = c.ticket_id)"
)


class Corrections:
    def __init__(self, db: Database, clock: Clock, ledger: TicketLedger) -> None:
        self._db = db
        self._clock = clock
        self._ledger = ledger

    def correct(
        self, ticket_id: str, category: str, urgency_level: str | None, corrected_by: str
    ) -> CorrectionOutcome:
        """Record an agent's correction and re-route the ticket when its category changed,
        in one serialized transaction. KeyError for an unknown ticket."""
        with self._db.transaction(serialized=True) as conn:
            row = conn.execute(
                sa.text(
                    "SELECT category, urgency, model_used, model_version, needs_review "
                    "FROM tickets WHERE ticket_id = :id"
                ),
                {"id": ticket_id},
            ).first()
            if row is None:
                raise KeyError(ticket_id)
            correction = Correction(
                ticket_id=ticket_id,
                category=category,
                urgency_level=urgency_level,
                predicted_category=row.category,
                predicted_urgency=float(row.urgency),
                model_used=row.model_used,
                model_version=row.model_version,
                needs_review=bool(row.needs_review),
                corrected_by=corrected_by,
                corrected_at=self._clock.now(),
            )
            conn.execute(_INSERT, vars(correction))
            reroute = self._ledger.reroute(conn, ticket_id, category)
            count = _count(conn, ticket_id)
        return CorrectionOutcome(correction, count, reroute)

    def history(self, ticket_id: str) -> list[Correction]:
        """A ticket's corrections, oldest first (the last one counts). KeyError for an
        unknown ticket."""
        with self._db.snapshot() as conn:
            known = conn.execute(
                sa.text("SELECT 1 FROM tickets WHERE ticket_id = :id"), {"id": ticket_id}
            ).first()
            if known is None:
                raise KeyError(ticket_id)
            rows = conn.execute(
                sa.text(f"SELECT {_COLUMNS} FROM corrections WHERE ticket_id = :id ORDER BY seq"),
                {"id": ticket_id},
            )
            return [_correction(r) for r in rows]

    def quality(self, levels: Sequence[tuple[str, float]]) -> dict[str, Any]:
        """GET /stats' `quality`; `levels`: (urgency level, cut-off), highest first (conf/serve
        `urgency.levels`), to compare a corrected level with the predicted score's. Counted in
        the database: the dashboard asks every 2 s, whatever the number of corrections."""
        now = self._clock.now()
        with self._db.snapshot() as conn:
            rows = conn.execute(_grouped_latest(levels), _level_params(levels))
            groups = [_group(row) for row in rows]
            total = _scalar(conn, "SELECT COUNT(*) FROM tickets")
            review = _scalar(conn, "SELECT COUNT(*) FROM tickets WHERE needs_review")
            corrections = _scalar(conn, "SELECT COUNT(*) FROM corrections")
            # from the start of the hour a day ago: every replica reports the same buckets
            since = (now - QUALITY_WINDOW_S) // QUALITY_BUCKET_S * QUALITY_BUCKET_S
            shares = _category_shares(conn, since, self._db.is_postgres)
        corrected = sum(g.n for g in groups)
        urgency = [g for g in groups if g.urgency_level is not None]
        return {
            "corrected_tickets": corrected,
            "corrections": corrections,
            "agreement": _share(groups),
            "by_predicted_category": _agreement(groups, lambda g: g.predicted_category),
            "by_corrected_category": _agreement(groups, lambda g: g.category),
            "by_model_version": _agreement(groups, model_key),
            "urgency_agreement": _share(urgency, lambda g: g.urgency_level == g.predicted_level),
            "review_rate": round(review / total, 4) if total else None,
            "corrected_share": round(corrected / total, 4) if total else None,
            "category_share": shares,
        }


@dataclass(frozen=True)
class _Group:
    """Latest corrections that share every field below; `n` of them."""

    predicted_category: str
    category: str
    model_used: str
    model_version: str | None
    urgency_level: str | None
    predicted_level: str
    n: int


def _group(row: Any) -> _Group:
    predicted, category, model, version, level, predicted_level, n = row
    return _Group(predicted, category, model, version, level, predicted_level, int(n))


def _grouped_latest(levels: Sequence[tuple[str, float]]) -> sa.TextClause:
    """The latest correction of each ticket, counted per (prediction, correction, model,
    urgency levels); the predicted score's level as conf/serve cuts it (S >= cut-off)."""
    cases = " ".join(
        f"WHEN predicted_urgency >= :cut{i} THEN :level{i}" for i in range(len(levels))
    )
    level = f"CASE {cases} ELSE :lowest END" if levels else "''"
    return sa.text(
        "SELECT predicted_category, category, model_used, model_version, urgency_level, "
        f"CAST({level} AS TEXT) AS predicted_level, COUNT(*) FROM ({LATEST}) latest "
        "GROUP BY 1, 2, 3, 4, 5, 6"
    )


def _level_params(levels: Sequence[tuple[str, float]]) -> dict[str, Any]:
    params: dict[str, Any] = {"lowest": levels[-1][0] if levels else ""}
    for i, (name, cut_off) in enumerate(levels):
        params[f"cut{i}"], params[f"level{i}"] = float(cut_off), name
    return params


def model_key(group: Any) -> str:
    """'M2@3': the model and its registry version ('M2@unknown' before versions were kept)."""
    return f"{group.model_used}@{group.model_version or 'unknown'}"


def _agrees(group: _Group) -> bool:
    return group.category == group.predicted_category


def _share(groups: list[_Group], agrees: Callable[[_Group], bool] = _agrees) -> float | None:
    n = sum(g.n for g in groups)
    return round(sum(g.n for g in groups if agrees(g)) / n, 4) if n else None


def _agreement(groups: Iterable[_Group], key: Callable[[_Group], str]) -> dict[str, Any]:
    by_key: dict[str, list[_Group]] = defaultdict(list)
    for group in groups:
        by_key[key(group)].append(group)
    return {
        name: {
            "corrected": sum(g.n for g in members),
            "agreed": sum(g.n for g in members if _agrees(g)),
            "agreement": _share(members),
        }
        for name, members in sorted(by_key.items())
    }


def _category_shares(conn: Connection, since: float, postgres: bool) -> dict[str, Any]:
    """Per bucket of QUALITY_BUCKET_S since `since`: tickets and each category's share of
    them (the model's category, as routed; 'Triage' is the review rate's)."""
    scaled = "FLOOR(created_at / :bucket)" if postgres else "created_at / :bucket"
    rows = conn.execute(
        sa.text(
            f"SELECT CAST({scaled} AS BIGINT) AS b, category, COUNT(*) FROM tickets "
            "WHERE created_at >= :since GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"bucket": QUALITY_BUCKET_S, "since": since},
    )
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for bucket, category, n in rows:
        counts[int(bucket)][str(category)] += int(n)
    buckets = []
    for bucket, per_category in sorted(counts.items()):
        total = sum(per_category.values())
        buckets.append(
            {
                "start": bucket * QUALITY_BUCKET_S,
                "tickets": total,
                "share": {c: round(n / total, 4) for c, n in sorted(per_category.items())},
            }
        )
    return {"bucket_s": QUALITY_BUCKET_S, "since": since, "buckets": buckets}


def _correction(row: Any) -> Correction:
    return Correction(
        ticket_id=row.ticket_id,
        category=row.category,
        urgency_level=row.urgency_level,
        predicted_category=row.predicted_category,
        predicted_urgency=float(row.predicted_urgency),
        model_used=row.model_used,
        model_version=row.model_version,
        needs_review=bool(row.needs_review),
        corrected_by=row.corrected_by,
        corrected_at=float(row.corrected_at),
    )


def _count(conn: Connection, ticket_id: str) -> int:
    query = sa.text("SELECT COUNT(*) FROM corrections WHERE ticket_id = :id")
    return int(conn.execute(query, {"id": ticket_id}).scalar_one())


def _scalar(conn: Connection, sql: str) -> int:
    return int(conn.execute(sa.text(sql)).scalar_one())

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
from collections.abc import Callable, Iterable
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

    def quality(self, urgency_level: Callable[[float], str]) -> dict[str, Any]:
        """GET /stats' `quality`; `urgency_level` maps a score to its level (conf/serve)."""
        now = self._clock.now()
        with self._db.snapshot() as conn:
            latest = [_correction(r) for r in conn.execute(sa.text(LATEST))]
            total = _scalar(conn, "SELECT COUNT(*) FROM tickets")
            review = _scalar(conn, "SELECT COUNT(*) FROM tickets WHERE needs_review")
            corrections = _scalar(conn, "SELECT COUNT(*) FROM corrections")
            shares = _category_shares(conn, now - QUALITY_WINDOW_S, self._db.is_postgres)
        urgency = [c for c in latest if c.urgency_level is not None]
        return {
            "corrected_tickets": len(latest),
            "corrections": corrections,
            "agreement": _share(sum(c.category == c.predicted_category for c in latest), latest),
            "by_predicted_category": _agreement(latest, lambda c: c.predicted_category),
            "by_corrected_category": _agreement(latest, lambda c: c.category),
            "by_model_version": _agreement(latest, model_key),
            "urgency_agreement": _share(
                sum(c.urgency_level == urgency_level(c.predicted_urgency) for c in urgency),
                urgency,
            ),
            "review_rate": round(review / total, 4) if total else None,
            "corrected_share": round(len(latest) / total, 4) if total else None,
            "category_share": shares,
        }


def model_key(correction: Correction) -> str:
    """'M2@3': the model and its registry version ('M2@unknown' before versions were kept)."""
    return f"{correction.model_used}@{correction.model_version or 'unknown'}"


def _agreement(latest: Iterable[Correction], key: Callable[[Correction], str]) -> dict[str, Any]:
    groups: dict[str, list[Correction]] = defaultdict(list)
    for correction in latest:
        groups[key(correction)].append(correction)
    return {
        name: {
            "corrected": len(group),
            "agreed": sum(c.category == c.predicted_category for c in group),
            "agreement": _share(sum(c.category == c.predicted_category for c in group), group),
        }
        for name, group in sorted(groups.items())
    }


def _share(agreed: int, group: list[Correction]) -> float | None:
    return round(agreed / len(group), 4) if group else None


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

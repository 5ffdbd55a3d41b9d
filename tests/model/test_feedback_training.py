"""The loop closed end to end: a ticket routed and corrected in the serving store is exported,
merged into train by prepare, and a retrained model predicts the corrected class on a near
copy of it, where the same model trained without the correction did not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smart_support.config import compose_config, to_dict
from smart_support.data.feedback import export_corrections
from smart_support.data.prepare import prepare_tickets
from smart_support.models.training import SplitData
from smart_support.serving.records import NewTicket
from smart_support.serving.store import StateStore
from smart_support.serving.ticket_service import shown_title, stored_body
from smart_support.text import ticket_text
from tests.fakes import FakeClock
from tests.helpers import fit, make_tickets, served_dedup

SUBJECT = "Parking permit sticker"
BODY = (
    "The parking permit sticker for garage level {n} peeled off in the rain, please send a new one."
)


def splits(feedback=None) -> dict[str, SplitData]:
    cfg = compose_config()
    frames, _ = prepare_tickets(
        make_tickets(240), to_dict(cfg.data), to_dict(cfg.labels), 42, feedback=feedback
    )
    return {name: SplitData(frame) for name, frame in frames.items()}


def corrected_store(tmp_path: Path, category: str) -> StateStore:
    """A store holding one routed ticket that an agent corrected to `category`."""
    store = StateStore.open(f"sqlite:///{tmp_path / 'state.db'}", FakeClock(), dedup=served_dedup())
    body = BODY.format(n=3)
    store.ledger.record_routing(
        [
            NewTicket(
                "t1", shown_title(SUBJECT, body), "Billing", 0.4, True, 0.2, "m1", "en",
                np.ones(384, dtype=np.float32) / np.sqrt(384), body=stored_body(body),
                model_version="7",
            )
        ]
    )  # fmt: skip
    store.corrections.correct("t1", category, None, "agent")
    return store


def test_a_corrected_class_changes_what_the_retrained_model_predicts(tmp_path: Path) -> None:
    near_copy = ticket_text(SUBJECT, BODY.format(n=5))
    before = fit("m1", splits(), slot="m1")
    predicted = before.predict([near_copy]).categories[0]
    target = next(c for c in before.labels if c != predicted)  # a class it did not predict

    store = corrected_store(tmp_path, target)
    feedback, _ = export_corrections(store.database)
    store.close()
    assert feedback["category"].tolist() == [target]
    merged = splits(feedback)
    assert merged["train"].frame["source"].value_counts()["feedback"] == 1
    after = fit("m1", merged, slot="m1")
    assert after.predict([near_copy]).categories[0] == target


def test_left_out_the_correction_changes_nothing(tmp_path: Path) -> None:
    """`data.feedback.include: false` (feedback=None) trains on the dataset alone."""
    store = corrected_store(tmp_path, "Technical")
    feedback, _ = export_corrections(store.database)
    store.close()
    assert len(splits(feedback)["train"].frame) == len(splits()["train"].frame) + 1
    assert (splits()["train"].frame["source"] == "data").all()

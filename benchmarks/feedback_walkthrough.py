"""The feedback loop on the real sample: route → an agent corrects → export → prepare → retrain.

    SMART_SUPPORT_DATA=../shared/data/tickets.csv python -m benchmarks.feedback_walkthrough

M1 with default hyper-parameters (no search, seconds) stands in for the pipeline's milestones:
the ticket below is routed by M1 trained on the dataset, stored in a temporary SQLite state
store, corrected by an "agent", exported by the `export_feedback` stage's function, merged
into train only by `prepare`'s, and M1 is trained again. Both models then route a near copy
(other names, numbers and wording of the sign-off). Writes benchmarks/results/feedback_walkthrough.json.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.common import write_json
from smart_support.config import compose_config, to_dict
from smart_support.data.feedback import export_corrections
from smart_support.data.prepare import prepare_tickets
from smart_support.data.sources import load_tickets
from smart_support.features.embeddings import shared_embedder
from smart_support.models.training import SplitData
from smart_support.serving.records import NewTicket
from smart_support.serving.store import StateStore
from smart_support.serving.ticket_service import shown_title, stored_body
from smart_support.text import ticket_text
from tests.fakes import FakeClock
from tests.helpers import fit

SUBJECT = "Withdrawal from the maintenance agreement"
BODY = (
    "Dear team, under clause 14 of our maintenance agreement we withdraw from the contract "
    "with effect from {date}. Please confirm the withdrawal in writing and tell us which "
    "obligations remain until then. Kind regards, {name}"
)
CORRECTED = "Legal"


def splits(raw, feedback=None) -> dict[str, SplitData]:
    cfg = compose_config()
    frames, _ = prepare_tickets(raw, to_dict(cfg.data), to_dict(cfg.labels), 42, feedback=feedback)
    return {name: SplitData(frame) for name, frame in frames.items()}


def main() -> None:
    raw = load_tickets(os.environ.get("SMART_SUPPORT_DATA", "../shared/data/tickets.csv"))
    body = BODY.format(date="31 March", name="Jana Weber")
    near_copy = ticket_text(SUBJECT, BODY.format(date="30 June", name="Tom Becker"))
    before = fit("m1", splits(raw), slot="m1")
    routed = before.predict([ticket_text(SUBJECT, body)])
    vector = shared_embedder("packaged:all-MiniLM-L6-v2", 32, "onnx-int8").encode([body])[0]
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore.open(f"sqlite:///{Path(tmp) / 'state.db'}", FakeClock())
        ticket = NewTicket(
            "walkthrough", shown_title(SUBJECT, body), routed.categories[0],
            float(routed.confidences[0]), False, float(routed.urgency[0]), "m1", "en", vector,
            body=stored_body(body), model_version="default",
        )  # fmt: skip
        store.ledger.record_routing([ticket])
        store.corrections.correct("walkthrough", CORRECTED, None, "agent")
        feedback, note = export_corrections(store.database)
        store.close()
    after = fit("m1", splits(raw, feedback), slot="m1")
    old, new = before.predict([near_copy]), after.predict([near_copy])
    result = {
        "routed": {"category": routed.categories[0], "confidence": float(routed.confidences[0])},
        "corrected_to": CORRECTED,
        "exported_rows": len(feedback),
        "near_copy_before": {
            "category": old.categories[0],
            "confidence": float(old.confidences[0]),
        },
        "near_copy_after": {"category": new.categories[0], "confidence": float(new.confidences[0])},
    }
    print(result)
    write_json("feedback_walkthrough.json", result)


if __name__ == "__main__":
    main()

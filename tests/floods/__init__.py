"""Hand-written outage floods for the dedup tests and benchmarks/dedup_threshold.py.

`dev.yaml` holds the floods a rule, threshold or encoder may be tuned on; `heldout.yaml` the
floods kept back for the final numbers and the end-to-end tests (looked at since, when rules
were compared: no longer unseen); `final.yaml` floods written later by a writer who saw no other
flood and no encoder training text, used once for the final numbers of the paraphrase-trained
encoder. Three sets of 4 EN + 4 DE floods of 14 tickets came next, each by a writer who saw no
other flood: `final2.yaml` (used once, for the significant-burst rule as chosen on `dev`; far
more loosely worded than `dev`), then `dev2.yaml` (worded like `final2`, tuned on beside `dev`)
and `final3.yaml` (used once, for the final numbers of the rule chosen on `dev` + `dev2`).
`final4.yaml` (5 EN + 5 DE floods of 14, by a fifth writer who saw no other flood) was used
once, for the final numbers of the served rule, the significant burst and its near-copy
variant side by side. Each
flood is one problem reported by a dozen customers in their own words (English or German); none
of the text comes from the ticket dataset. `samples.py` keeps the floods of the first dedup work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from smart_support.text import ticket_text

HERE = Path(__file__).resolve().parent
PARTS = ("dev", "dev2", "heldout", "final", "final2", "final3", "final4")


@dataclass(frozen=True)
class Flood:
    name: str
    language: str
    tickets: tuple[tuple[str, str], ...]  # (subject, body)

    @property
    def texts(self) -> list[str]:
        """Model inputs, cleaned exactly as at serving time."""
        return [ticket_text(subject, body) for subject, body in self.tickets]


def load_floods(part: str) -> dict[str, Flood]:
    """The floods of one part (`dev`, `heldout` or `final`), by name."""
    if part not in PARTS:
        raise ValueError(f"unknown flood part {part!r}; known: {list(PARTS)}")
    raw = yaml.safe_load((HERE / f"{part}.yaml").read_text(encoding="utf-8"))["floods"]
    return {
        name: Flood(
            name, str(spec["language"]), tuple((t["subject"], t["body"]) for t in spec["tickets"])
        )
        for name, spec in raw.items()
    }

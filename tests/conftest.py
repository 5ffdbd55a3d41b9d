"""Shared fixtures: a small synthetic ticket set (the real sample is never copied)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED_SAMPLE = ROOT.parent / "shared" / "data" / "tickets.csv"

TEMPLATES = {
    "Billing and Payments": [
        ("Invoice {n} charged twice", "My credit card was charged twice for invoice {n}. Please refund the duplicate payment."),
        ("Rechnung {n} doppelt bezahlt", "Die Rechnung {n} wurde zweimal abgebucht. Bitte erstatten Sie den Betrag."),
        ("Wrong amount on my bill", "The bill for order {n} shows the wrong amount, please correct the invoice."),
    ],
    "Technical Support": [
        ("Server {n} not responding", "Our server {n} crashed after the update and the application shows error 500."),
        ("VPN Verbindung bricht ab", "Die VPN Verbindung zu Server {n} bricht ständig ab, bitte um Hilfe beim Netzwerk."),
        ("Login error in the app", "The mobile app throws an error when I try to log in since version {n}."),
    ],
    "Legal & Compliance Requests": [
        ("GDPR data request {n}", "Under GDPR article 15 I request a copy of all personal data you store about me."),
        ("Datenschutz Anfrage {n}", "Bitte löschen Sie gemäß DSGVO alle meine personenbezogenen Daten, Vertrag {n}."),
        ("Contract termination notice", "Our lawyer asks for the contract terms and the termination clause of contract {n}."),
    ],
    "Customer Onboarding": [
        ("Welcome call for account {n}", "We would like to schedule the onboarding session for our new team."),
    ],
}
URGENT = ["URGENT: ", "Dringend: ", "", "", ""]
PRIORITY = {"URGENT: ": "critical", "Dringend: ": "high", "": "medium"}


def make_tickets(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Synthetic tickets with the Hub dataset's columns; distinct texts, four queues."""
    rng = random.Random(seed)
    rows = []
    queues = list(TEMPLATES)
    for i in range(n):
        queue = queues[i % len(queues)]
        subject, body = rng.choice(TEMPLATES[queue])
        prefix = rng.choice(URGENT)
        lang = "de" if any(w in subject for w in ("Rechnung", "Verbindung", "Datenschutz")) else "en"
        priority = PRIORITY[prefix] if prefix else rng.choice(["medium", "low", "very_low"])
        rows.append(
            {
                "subject": prefix + subject.format(n=1000 + i),
                "body": body.format(n=1000 + i) + ("!" if prefix else ""),
                "answer": "",
                "type": "Incident",
                "queue": queue,
                "priority": priority,
                "language": lang,
                "version": "",
                "source_file": "synthetic",
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def tickets() -> pd.DataFrame:
    return make_tickets()


@pytest.fixture
def tickets_csv(tmp_path: Path, tickets: pd.DataFrame) -> Path:
    path = tmp_path / "tickets.csv"
    tickets.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def real_sample() -> Path:
    """The shared real sample; CI (SMART_SUPPORT_REQUIRE_DATA=1) fails instead of skipping."""
    if not SHARED_SAMPLE.exists():
        if os.environ.get("SMART_SUPPORT_REQUIRE_DATA") == "1":
            pytest.fail(f"{SHARED_SAMPLE} is missing")
        pytest.skip(f"{SHARED_SAMPLE} not on this machine")
    return SHARED_SAMPLE

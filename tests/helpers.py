"""Test helpers: synthetic tickets and small real models (the real sample is never copied)."""

from __future__ import annotations

import atexit
import functools
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smart_support.config import compose_config, to_dict
from smart_support.data.prepare import prepare_tickets
from smart_support.models.training import SplitData, train_milestone

TEMPLATES = {
    "Billing and Payments": [
        (
            "Invoice {n} charged twice",
            "My credit card was charged twice for invoice {n}. Please refund the duplicate payment.",
        ),
        (
            "Rechnung {n} doppelt bezahlt",
            "Die Rechnung {n} wurde zweimal abgebucht. Bitte erstatten Sie den Betrag.",
        ),
        (
            "Wrong amount on my bill",
            "The bill for order {n} shows the wrong amount, please correct the invoice.",
        ),
    ],
    "Technical Support": [
        (
            "Server {n} not responding",
            "Our server {n} crashed after the update and the application shows error 500.",
        ),
        (
            "VPN Verbindung bricht ab",
            "Die VPN Verbindung zu Server {n} bricht ständig ab, bitte um Hilfe beim Netzwerk.",
        ),
        (
            "Login error in the app",
            "The mobile app throws an error when I try to log in since version {n}.",
        ),
    ],
    "Legal & Compliance Requests": [
        (
            "GDPR data request {n}",
            "Under GDPR article 15 I request a copy of all personal data you store about me.",
        ),
        (
            "Datenschutz Anfrage {n}",
            "Bitte löschen Sie gemäß DSGVO alle meine personenbezogenen Daten, Vertrag {n}.",
        ),
        (
            "Contract termination notice",
            "Our lawyer asks for the contract terms and the termination clause of contract {n}.",
        ),
    ],
    "Customer Onboarding": [
        (
            "Welcome call for account {n}",
            "We would like to schedule the onboarding session for our new team.",
        ),
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
        lang = (
            "de" if any(w in subject for w in ("Rechnung", "Verbindung", "Datenschutz")) else "en"
        )
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


def splits_from(raw: Any, labels: str = "three_way") -> dict[str, SplitData]:
    cfg = compose_config([f"labels={labels}"])
    frames, _ = prepare_tickets(raw, to_dict(cfg.data), to_dict(cfg.labels), 42)
    return {name: SplitData(frame) for name, frame in frames.items()}


def with_embeddings(split: SplitData) -> SplitData:
    from smart_support.features.embeddings import shared_embedder

    return SplitData(
        split.frame, shared_embedder("packaged:all-MiniLM-L6-v2", 128).encode(split.texts)
    )


def fit(option: str, splits: dict[str, SplitData], slot: str = "m1", **overrides: Any):
    cfg = compose_config([f"model@models.{slot}={option}", "tune.n_trials=0"])
    params = to_dict(cfg)
    model_cfg = {**params["models"][slot], **overrides}
    return train_milestone(
        model_cfg,
        params["tune"],
        "three_way",
        splits["train"],
        splits["val"],
        42,
        params["urgency_alert"],
    ).model


def assert_valid_prediction(model, texts: list[str], embeddings: np.ndarray | None = None) -> None:
    prediction = model.predict(texts, embeddings)
    assert len(prediction.categories) == len(texts)
    assert set(prediction.categories) <= set(model.labels)
    assert np.all((prediction.confidences > 0) & (prediction.confidences <= 1))
    assert np.all((prediction.urgency >= 0) & (prediction.urgency <= 1))
    assert np.allclose(prediction.probabilities.sum(axis=1), 1.0)


@functools.cache
def dedup_reference() -> Path:
    """The served dedup rule's usual traffic for test services: the tiny train split embedded
    by the served encoder, as the dedup_reference stage embeds the real one. Built once per
    session, removed at exit."""
    from smart_support.serving.bento_models import dedup_encoder
    from smart_support.serving.settings import ServeSettings

    encoder = dedup_encoder(ServeSettings.from_config(compose_config().serve))
    folder = Path(tempfile.mkdtemp(prefix="smart-support-dedup-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "dedup_reference.npy"
    np.save(path, encoder.encode(splits_from(make_tickets(240))["train"].texts))
    return path


def served_dedup() -> Any:
    """The served dedup setting with the test services' reference: what a store that routes
    tickets needs when its test is not about dedup (a fresh clone has no pipeline outputs)."""
    from smart_support.serving.settings import DedupSettings

    return DedupSettings(reference=str(dedup_reference()))

"""Behavioural tests on M2 trained on the real sample: invariance, direction, minimum function."""

import pytest


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "Hello, I am Anna Schmidt. My invoice for the Lenovo laptop was charged twice.",
            "Hello, I am Peter Miller. My invoice for the Dell laptop was charged twice.",
        ),
        (
            "Guten Tag, hier ist Max Müller. Der Server der Firma Acme ist seit heute ausgefallen.",
            "Guten Tag, hier ist Eva Klein. Der Server der Firma Globex ist seit heute ausgefallen.",
        ),
    ],
)
def test_names_do_not_change_the_category(real_m2, a: str, b: str) -> None:
    assert real_m2.predict([a]).categories == real_m2.predict([b]).categories


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Our payment portal shows an error when we try to pay the invoice.", "Urgent: "),
        ("Die Datenbank reagiert langsam seit dem letzten Update.", "Dringend: "),
        ("Cannot access the VPN from the office network.", "URGENT, ASAP: "),
    ],
)
def test_urgency_words_raise_the_score(real_m2, text: str, word: str) -> None:
    calm, urgent = real_m2.predict([text, word + text]).urgency
    assert urgent > calm


@pytest.mark.parametrize(
    ("text", "category"),
    [
        (
            "Invoice charged twice. I was billed twice for my subscription this month, please refund the duplicate payment.",
            "Billing",
        ),
        (
            "Rechnung fehlerhaft. Auf meiner letzten Rechnung wurde ein falscher Betrag abgebucht, bitte um Erstattung.",
            "Billing",
        ),
        (
            "Server outage. Our cloud server is down and the application returns errors after the update.",
            "Technical",
        ),
    ],
)
def test_plain_tickets_reach_the_obvious_department(real_m2, text: str, category: str) -> None:
    assert real_m2.predict([text]).categories == [category]
